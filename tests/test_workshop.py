"""/workshop and the result PDF through the routing table, in-process (tests/fast.py).

The Telegram side (buttons on the wire, the page in a browser, documents over HTTP) is in
`test_e2e_workshop.py`; here the behaviour: who gets what, with and without WEB_BASE_URL,
HTTPS or not, several groups, revocation, wrong input, and the console's document file.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from bot.app.routing import Command
from bot.console import CONSOLE_USER, ConsoleChat
from bot.web.pages import DeskSource
from bot.web.source import GroupLink
from bot.web.tokens import LinkSigner, derive_secret
from tests.fast import FastUser, fast_bot
from tests.harness import TOKEN
from tests.stored import query
from tests.test_e2e_groups import create_group, reply_text
from tests.test_web_pdf import pdf_text

BASE = "https://selbstcheck.kommune.example/workshop"


def buttons(user: FastUser) -> list[dict]:
    return [b for m in user.messages for b in m.inline_buttons]


def token_of(url: str) -> str:
    return url.rsplit("/w/", 1)[1]


async def test_link_browser_and_mini_app_buttons_behind_https(database: Path) -> None:
    async with fast_bot(database, BOT_TOKEN=TOKEN, WEB_BASE_URL=BASE) as bot:
        coordinator = bot.user(100, "Kim")
        _, _, group_id = await create_group(coordinator)
        text = await reply_text(coordinator, "/workshop")
        last = coordinator.messages[-1]
        by_label = {b["text"]: b for b in last.inline_buttons}
        url = by_label["🌐 Im Browser öffnen"]["url"]
        assert url.startswith(BASE + "/w/") and url in text
        assert by_label["📱 In Telegram öffnen"]["web_app"] == {"url": f"{BASE}/app/{group_id}/1"}
        assert by_label["📄 Als PDF"]["callback_data"] == f"w:p:{group_id}"
        assert "14 Tage" in text and "Runde 1" in text
        signer = LinkSigner(derive_secret(TOKEN))
        link = signer.read(token_of(url))
        assert (link.group_id, link.round, link.generation) == (group_id, 1, 0)

        # /workshop neu: generation 1 in the store, the new link carries it.
        renewed = await reply_text(coordinator, "/workshop", "neu")
        assert "gelten nicht mehr" in renewed
        assert query(database, "SELECT link_generation FROM groups") == [(1,)]
        new_url = {b["text"]: b for b in coordinator.messages[-1].inline_buttons}[
            "🌐 Im Browser öffnen"
        ]["url"]
        assert signer.read(token_of(new_url)).generation == 1

        # The English alias and a word it does not know.
        assert "Workshop-Seite" in await reply_text(coordinator, "/workshoplink")
        assert "/workshop pdf" in await reply_text(coordinator, "/workshop", "bitte")
        # Listed in the coordinator's help.
        assert "/workshop" in await reply_text(coordinator, "/hilfe")


async def test_plain_http_gets_no_mini_app_button(database: Path) -> None:
    async with fast_bot(database, BOT_TOKEN=TOKEN, WEB_BASE_URL="http://127.0.0.1:8080") as bot:
        coordinator = bot.user(100, "Kim")
        await create_group(coordinator)
        await reply_text(coordinator, "/workshop")
        labels = [b["text"] for b in coordinator.messages[-1].inline_buttons]
        assert labels == ["🌐 Im Browser öffnen", "📄 Als PDF"]
        assert not any("web_app" in b for b in buttons(coordinator))


async def test_without_web_base_url_the_pdf_is_offered(database: Path, tmp_path: Path) -> None:
    async with fast_bot(database) as bot:
        coordinator = bot.user(100, "Kim")
        await create_group(coordinator)
        text = await reply_text(coordinator, "/workshop")
        assert "WEB_BASE_URL" in text and "als PDF" in text
        assert not any("url" in b for b in buttons(coordinator))
        assert "WEB_BASE_URL" in await reply_text(coordinator, "/workshop", "neu")
        assert query(database, "SELECT link_generation FROM groups") == [(0,)]
        await coordinator.press("📄 Als PDF")
        (document,) = coordinator.documents
        assert document.file_name == "workshop-runde-1.pdf"
        assert document.content.startswith(b"%PDF")
        pdf = tmp_path / "w.pdf"
        pdf.write_bytes(document.content)
        text = pdf_text(pdf)
        # No check completed yet: the same answer as the chat report, no figure.
        assert "Stadt Musterstadt" in text and "es fehlen noch 3" in text


async def test_only_coordinators_and_a_choice_of_groups(database: Path) -> None:
    async with fast_bot(database, BOT_TOKEN=TOKEN, WEB_BASE_URL=BASE) as bot:
        stranger = bot.user(200, "Ute")
        assert "koordinieren noch keine Gruppe" in await reply_text(stranger, "/workshop")
        coordinator = bot.user(100, "Kim")
        _, _, first = await create_group(coordinator)
        _, _, second = await create_group(coordinator, "Gemeinde Beispielheim")
        assert "Für welche Gruppe?" in await reply_text(coordinator, "/workshop", "pdf")
        choice = {b["text"]: b["callback_data"] for b in coordinator.messages[-1].inline_buttons}
        assert choice == {
            "Stadt Musterstadt": f"w:p:{first}",
            "Gemeinde Beispielheim": f"w:p:{second}",
        }
        # Someone else's group, or forged data: refused, nothing sent.
        await stranger.press_data(stranger.messages[-1].message_id, f"w:l:{first}")
        assert "nur die Koordinator*innen" in stranger.messages[-1].visible_text
        await stranger.press_data(stranger.messages[-1].message_id, "w:x:1")
        assert "nur die Koordinator*innen" in stranger.messages[-1].visible_text
        assert stranger.documents == []


async def test_console_prints_links_and_saves_documents(database: Path, tmp_path: Path) -> None:
    async with fast_bot(database) as bot:
        out = io.StringIO()
        console = ConsoleChat(out, tmp_path)
        await bot.router.handle(CONSOLE_USER, Command("neuegruppe", "Stadt Musterstadt"), console)
        await bot.router.handle(CONSOLE_USER, Command("workshop", "pdf"), console)
        saved = tmp_path / "workshop-runde-1.pdf"
        assert f"[document: {saved}]" in out.getvalue()
        assert saved.read_bytes().startswith(b"%PDF")
        info = subprocess.run(["pdfinfo", str(saved)], capture_output=True, text=True, check=True)
        assert "Pages:" in info.stdout


async def test_page_source_reads_the_store_and_the_published_release(database: Path) -> None:
    """DeskSource: the stored generation, the current round only, the chat's release."""
    async with fast_bot(database, BOT_TOKEN=TOKEN, WEB_BASE_URL=BASE) as bot:
        coordinator = bot.user(100, "Kim")
        _, _, group_id = await create_group(coordinator)
        core = bot.core
        source = DeskSource(core.storage, core.groups, core.catalog)
        assert await source.group_link(group_id) == GroupLink(0, 1)
        await reply_text(coordinator, "/workshop", "neu")
        # Closing only stops new participants: the page stays for the workshop.
        await reply_text(coordinator, "/gruppeschliessen")
        assert await source.group_link(group_id) == GroupLink(1, 1)
        assert await source.group_link(group_id + 1) is None
        assert await source.page_data(group_id, 2) is None  # no such round (yet)
        data = await source.page_data(group_id, 1)
        assert data is not None
        group = await core.storage.group(group_id)
        assert group is not None
        seen = await core.groups.published_report(group, None)
        assert data.seen == seen
        assert data.group_name == "Stadt Musterstadt" and data.round == 1
        assert await source.is_coordinator(100, group_id)
        assert not await source.is_coordinator(200, group_id)
