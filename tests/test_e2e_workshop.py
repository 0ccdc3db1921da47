"""The workshop picture end to end, as people use it: the real bot, its web server, a browser.

The bot runs with its web server on 127.0.0.1 against the local Bot API server, on a database in
which a coordinator created a group and five people completed the check (built once per worker
through the routing table, `tests/fast.py`, and copied for the test: the whole check over HTTP is
`test_e2e_conversation`'s), and the coordinator asks for `/workshop`. The link from the chat is
opened in a real headless Chromium: the page must show the figures the chat report shows (the same
release), withhold what the chat withholds, name nobody and load nothing from outside 127.0.0.1.
`/workshop neu` revokes the old link (410), `/workshop pdf` delivers the same picture as a PDF
document, and "📄 Ergebnis als PDF" sends a participant their own result, to their chat only.
Screenshots go to artifacts/.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from bot.web.texts import load_web_texts
from tests.fast import fast_bot
from tests.harness import TOKEN, running_bot
from tests.telegram_server import BotApiServer, SimulatedUser
from tests.test_e2e_groups import (
    BANDS,
    FIELDS,
    answer_questions,
    band_label,
    create_group,
    field_scores,
    half_up,
    join,
    pattern,
    reply_text,
    shown_figures,
)
from tests.test_e2e_webhook import free_port, webhook_env
from tests.test_web_browser import CHROMIUM, CHROMIUM_FLAGS, Visit, visit
from tests.test_web_links import init_data
from tests.test_web_pdf import assert_pages_not_blank, pdf_text

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
WEB = load_web_texts()
# Three Verwaltung, one Politik, one Zivilgesellschaft: the two singles are too small, and
# Verwaltung would reveal the other two (complementary suppression).
PEOPLE = {
    0: ("Annegret", "Verwaltung"),
    1: ("Bertold", "Verwaltung"),
    2: ("Cornelia", "Verwaltung"),
    3: ("Dietmar", "Politik"),
    4: ("Eleonore", "Zivilgesellschaft"),
}
FIRST_ID = 7_770_001


def url_buttons(user: SimulatedUser) -> dict[str, dict]:
    """Label -> button of the newest bot message that has buttons opening a web page."""
    message = next(
        m
        for m in reversed(user.messages)
        if any("url" in b or "web_app" in b for b in m.inline_buttons)
    )
    return {b["text"]: b for b in message.inline_buttons}


async def open_page(browser: Browser, url: str, width: int, height: int, shot: str) -> Visit:
    """The page in a fresh browser context (requests recorded, outside ones refused)."""
    seen = await visit(browser, url, width, height)
    ARTIFACTS.mkdir(exist_ok=True)
    await seen.page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    return seen


async def assert_page_equals_chat(page, report: str) -> None:
    """Every figure on the page is the chat's; what the chat withholds, the page withholds."""
    figures = shown_figures(report)
    assert len(figures) == len(FIELDS)
    assert await page.locator("[data-figure=completed]").inner_text() == "5"
    for index, field in enumerate(FIELDS):
        n, tenths, counts = figures[index]
        assert n == 5
        card = page.locator(f"[data-field={field['id']}]")
        mean = f"{tenths // 10},{tenths % 10}"
        assert await card.locator("[data-figure=mean]").inner_text() == mean, field["id"]
        band = band_label(half_up(Fraction(tenths, 10)))
        assert await card.locator("[data-figure=band]").inner_text() == band
        shown_counts = card.locator("[data-figure=band-counts]")
        if counts is None:
            assert await shown_counts.count() == 0, field["id"]
        else:
            text = await shown_counts.inner_text()
            for (_, _, label), count in zip(BANDS, counts, strict=True):
                assert f"{label} {count}" in text or f"{label}: {count}" in text, text
    # No perspective mean anywhere, as in the chat ("Nach Perspektive" is absent there too).
    assert "Nach Perspektive" not in report
    assert await page.locator("[data-figure=perspective-mean]").count() == 0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def completed_group(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Path]:
    """Kim's group with PEOPLE's five completed checks, in a closed database file to copy."""
    template = tmp_path_factory.mktemp("completed-group") / "selbstcheck.sqlite3"
    async with fast_bot(template) as bot:
        join_token, _, _ = await create_group(bot.user(100, "Kim"))
        people = {
            seed: bot.user(FIRST_ID + seed, name, username=name.lower())
            for seed, (name, _) in PEOPLE.items()
        }
        for seed, (_, perspective) in PEOPLE.items():
            await join(people[seed], join_token, perspective)
        await asyncio.gather(*(answer_questions(people[s], pattern(s)) for s in people))
    yield template


@pytest.mark.long(seconds=10)
async def test_workshop_link_page_pdf_and_own_result(
    server: BotApiServer, database: Path, tmp_path: Path, completed_group: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    shutil.copy(completed_group, database)
    async with running_bot(server, database, WEB_BASE_URL=base, WEB_PORT=str(port)) as bot:
        coordinator = bot.user(100, "Kim")
        people = {
            seed: bot.user(FIRST_ID + seed, name, username=name.lower())
            for seed, (name, _) in PEOPLE.items()
        }
        chat_report = await reply_text(coordinator, "/gruppenbericht")
        assert "5 abgeschlossene Selbstchecks" in chat_report

        # /workshop: the link, a browser button, no Mini App button on plain HTTP.
        text = await reply_text(coordinator, "/workshop")
        buttons = url_buttons(coordinator)
        link = buttons["🌐 Im Browser öffnen"]["url"]
        assert link.startswith(base + "/w/") and link in text
        assert not any("web_app" in b for b in buttons.values())
        assert "📄 Als PDF" in buttons

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_FLAGS
            )
            try:
                for width, height in ((1920, 1080), (390, 844)):
                    shot = f"e2e-workshop-{width}x{height}.png"
                    seen = await open_page(browser, link, width, height, shot)
                    page = seen.page
                    await assert_page_equals_chat(page, chat_report)
                    html = await page.content()
                    for seed, (name, _) in PEOPLE.items():
                        assert name not in html and name.lower() not in html
                        assert str(FIRST_ID + seed) not in html
                    assert "Kim" not in html
                    assert seen.errors == [] and seen.outside == []
                    assert all(urlsplit(u).hostname == "127.0.0.1" for u in seen.requests)
                    assert any(u.endswith("workshop.css") for u in seen.requests)
                    await page.context.close()
            finally:
                await browser.close()

        # /workshop neu: the old link is revoked, the new one opens the page.
        await reply_text(coordinator, "/workshop", "neu")
        renewed = url_buttons(coordinator)["🌐 Im Browser öffnen"]["url"]
        assert renewed != link
        async with aiohttp.ClientSession() as client:
            async with client.get(link) as response:
                assert response.status == 410
                assert WEB("error_revoked") in await response.text()
            async with client.get(renewed) as response:
                assert response.status == 200

        # /workshop pdf: a document with every field and the chat's figures.
        await reply_text(coordinator, "/workshop", "pdf")
        document = coordinator.documents[-1]
        assert document.file_name == "workshop-runde-1.pdf"
        pdf = tmp_path / "workshop.pdf"
        pdf.write_bytes(document.content)
        (ARTIFACTS / "e2e-workshop.pdf").write_bytes(document.content)
        text = pdf_text(pdf)
        for index, field in enumerate(FIELDS):
            assert field["title"] in text
            _, tenths, _ = shown_figures(chat_report)[index]
            assert f"{tenths // 10},{tenths % 10}" in text
        for name, _ in PEOPLE.values():
            assert name not in text
        assert_pages_not_blank(pdf, tmp_path)

        # "📄 Ergebnis als PDF" on a participant's results screen: their own result, to them.
        person = people[1]
        documents_before = len(server.calls("sendDocument"))
        await reply_text(person, "/ergebnis")
        await person.press("📄 Ergebnis als PDF")
        await person.wait_for_message(lambda m: m.document is not None)
        await person.wait_until_idle()
        (own,) = person.documents
        assert own.file_name == "selbstcheck-ergebnis.pdf"
        own_pdf = tmp_path / "own.pdf"
        own_pdf.write_bytes(own.content)
        own_text = pdf_text(own_pdf)
        for field, score in zip(FIELDS, field_scores(1), strict=True):
            assert field["title"] in own_text
            assert WEB("own_score", score=score) in own_text
        others = {s for seed in (0, 2, 3, 4) for s in field_scores(seed)} - set(field_scores(1))
        # Whole numbers only: "5 von 100 Punkten" is part of "85 von 100 Punkten".
        shown = {int(n) for n in re.findall(r"(?<!\d)(\d+) von 100 Punkten", own_text)}
        assert not shown & others
        # Exactly one document was sent since, and to the person who pressed.
        sent = server.calls("sendDocument")[documents_before:]
        assert [call.chat_id for call in sent] == [person.chat_id]
        for seed in (0, 2, 3, 4):
            assert people[seed].documents == []
    # The web server stopped with the bot.
    assert not await port_open(port)


async def port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def test_web_server_runs_in_webhook_mode_too(server: BotApiServer, database: Path) -> None:
    """Webhook and workshop pages: two servers in the one event loop, on two ports."""
    from bot.cli.config import load_settings
    from bot.telegram.app import serve
    from tests.harness import wait_for

    hook, web = free_port(), free_port()
    env = webhook_env(server, database, hook)
    env |= {"WEB_BASE_URL": f"http://127.0.0.1:{web}", "WEB_PORT": str(web)}
    settings = load_settings(env)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    try:
        await wait_for(lambda: bool(server.webhook.get("url")) or task.done(), what="setWebhook")
        assert not task.done(), task
        coordinator = SimulatedUser(server, 900, first_name="Kim")
        await create_group(coordinator)
        await reply_text(coordinator, "/workshop")
        link = url_buttons(coordinator)["🌐 Im Browser öffnen"]["url"]
        async with aiohttp.ClientSession() as client, client.get(link) as response:
            assert response.status == 200
            assert "Stadt Musterstadt" in await response.text()
        assert server.calls("getUpdates") == []  # updates came by webhook
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert not await port_open(web)


async def test_a_taken_web_port_ends_start_up_with_one_line(
    server: BotApiServer, database: Path
) -> None:
    from tests.harness import bot_env
    from tests.process import run_to_exit

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bot_env(server, database, WEB_BASE_URL="http://127.0.0.1", WEB_PORT=str(port))
        exited = await run_to_exit(env)
    assert exited.code != 0
    assert len(exited.lines) == 1, exited.stderr
    assert exited.lines[0].startswith("Start-up error: the workshop pages cannot listen on")
    assert str(port) in exited.lines[0]


async def test_web_port_equal_to_webhook_port_is_refused(database: Path) -> None:
    from tests.process import run_to_exit

    env = {
        "BOT_TOKEN": TOKEN,
        "DATABASE_PATH": str(database),
        "WEBHOOK_URL": "https://bot.example/telegram",
        "WEBHOOK_SECRET": "s" * 40,
        "WEBHOOK_PORT": "8443",
        "WEB_BASE_URL": "https://bot.example/selbstcheck",
        "WEB_PORT": "8443",
    }
    exited = await run_to_exit(env)
    assert exited.code == 2
    assert exited.lines == [
        "Configuration error: WEB_PORT and WEBHOOK_PORT are both 8443; the workshop pages and "
        "the webhook need two different ports"
    ]


async def test_mini_app_button_and_sign_in_through_the_running_bot(
    server: BotApiServer, database: Path
) -> None:
    """Behind HTTPS: Telegram accepts the WebAppInfo button; only a coordinator signs in."""
    port = free_port()
    public = "https://selbstcheck.kommune.example/workshop"
    async with running_bot(server, database, WEB_BASE_URL=public, WEB_PORT=str(port)) as bot:
        coordinator = bot.user(100, "Kim")
        _, _, group_id = await create_group(coordinator)
        await reply_text(coordinator, "/workshop")
        buttons = url_buttons(coordinator)
        assert buttons["📱 In Telegram öffnen"]["web_app"] == {"url": f"{public}/app/{group_id}/1"}
        assert buttons["🌐 Im Browser öffnen"]["url"].startswith(public + "/w/")
        local = f"http://127.0.0.1:{port}/app/{group_id}/1"
        async with aiohttp.ClientSession() as client:
            async with client.get(local) as entry:
                assert entry.status == 200  # the page that posts initData back
            for user_id, status in ((100, 303), (555, 403)):
                form = {"init_data": init_data(user_id, token=TOKEN)}
                async with client.post(local, data=form, allow_redirects=False) as response:
                    assert response.status == status
            async with client.post(
                local, data={"init_data": init_data(100, token=TOKEN)}
            ) as followed:
                assert followed.status == 200
                assert "Stadt Musterstadt" in await followed.text()
