"""Access to the workshop page: signed links and Mini App sign-in, refused the right way.

Unit tests of the signer and the initData check, then the same cases over real HTTP against a
running `WorkshopServer`: each refusal has its status and a German page, never a trace.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from bot.cli.config import ConfigError, load_settings
from bot.web.initdata import InitDataRefused, sign_init_data, verify_init_data
from bot.web.pages import DeskSource
from bot.web.server import WorkshopServer, workshop_server
from bot.web.tokens import LinkProblem, LinkRefused, LinkSigner, WorkshopLink, derive_secret
from tests.fast import FastBot, fast_bot
from tests.test_e2e_groups import (
    answer_questions,
    create_group,
    join,
    pattern,
    press_text,
    reply_text,
)
from tests.web_data import (
    BOT_TOKEN,
    COORDINATOR,
    MUSTERSTADT,
    OTHER_COORDINATOR,
    STRANGER,
    TINY,
    FakeSource,
    fake_source,
)

SECRET = derive_secret(BOT_TOKEN)
LINK_TOKEN = re.compile(r"/w/([A-Za-z0-9_\-.]+)")
DAY = 86_400


def init_data(user_id: int, *, auth_date: float | None = None, token: str = BOT_TOKEN) -> str:
    fields = {
        "auth_date": str(int(time.time() if auth_date is None else auth_date)),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Kim", "language_code": "de"}),
    }
    return sign_init_data(fields, token)


# -- the signer ----------------------------------------------------------------------------------


def test_link_round_trip_and_binding() -> None:
    signer = LinkSigner(SECRET)
    token = signer.make(WorkshopLink(7, 2, 5))
    assert signer.read(token, current_generation=5) == WorkshopLink(7, 2, 5)
    assert len(token) > 40 and "/" not in token
    assert signer.make(WorkshopLink(8, 2, 5)) != token


def test_link_expires_after_the_configured_days() -> None:
    now = [1_000_000.0]
    signer = LinkSigner(SECRET, days=3, clock=lambda: now[0])
    token = signer.make(WorkshopLink(1, 1, 0))
    now[0] += 3 * DAY - 5
    assert signer.read(token).group_id == 1
    now[0] += 10
    with pytest.raises(LinkRefused) as refused:
        signer.read(token)
    assert refused.value.problem is LinkProblem.EXPIRED


def test_link_revoked_tampered_or_foreign_key() -> None:
    signer = LinkSigner(SECRET)
    token = signer.make(WorkshopLink(1, 1, 0))
    with pytest.raises(LinkRefused) as refused:
        signer.read(token, current_generation=1)
    assert refused.value.problem is LinkProblem.REVOKED
    _, stamp, signature = token.split(".")
    forged = [
        # a changed signature character (not the last one, whose low bits are only padding)
        token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:],
        LinkSigner(SECRET).make(WorkshopLink(2, 1, 0)).split(".")[0] + f".{stamp}.{signature}",
        LinkSigner(derive_secret(BOT_TOKEN + "x")).make(WorkshopLink(1, 1, 0)),
        "kein-token",
        "",
    ]
    for bad in forged:
        with pytest.raises(LinkRefused) as refused:
            signer.read(bad)
        assert refused.value.problem is LinkProblem.INVALID, bad


# -- initData ------------------------------------------------------------------------------------


def test_init_data_as_telegram_documents_it() -> None:
    user = verify_init_data(init_data(42), BOT_TOKEN)
    assert user.user_id == 42


def test_init_data_forged_altered_or_old_is_refused() -> None:
    good = init_data(42)
    altered = good.replace("%22id%22%3A+42", "%22id%22%3A+43")
    assert altered != good
    cases = [
        init_data(42, token="654321:ANOTHERtokenANOTHERtoken"),  # signed with another bot
        altered,
        good.replace("hash=", "hash=0"),
        init_data(42, auth_date=time.time() - 2 * 3600),  # older than the hour allowed
        "user=%7B%22id%22%3A42%7D&auth_date=1",  # no hash at all
        "%%%",
    ]
    for bad in cases:
        with pytest.raises(InitDataRefused):
            verify_init_data(bad, BOT_TOKEN)


# -- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
async def served() -> AsyncIterator[tuple[WorkshopServer, FakeSource, aiohttp.ClientSession]]:
    source, _ = fake_source()
    server = WorkshopServer(source, LinkSigner(SECRET), bot_token=BOT_TOKEN, port=0)
    await server.start()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as client:
        yield server, source, client
    await server.stop()


@asynccontextmanager
async def desk_client(bot: FastBot) -> AsyncIterator[aiohttp.ClientSession]:
    """The web server over the fast bot's real store and use cases, and a client for it."""
    core = bot.core
    server = WorkshopServer(
        DeskSource(core.storage, core.groups, core.catalog),
        LinkSigner(SECRET),
        bot_token=BOT_TOKEN,
        port=0,
    )
    await server.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as client:
            yield client
    finally:
        await server.stop()


async def fetch(client: aiohttp.ClientSession, path: str, **kwargs: object) -> tuple[int, str]:
    async with client.get(path, allow_redirects=False, **kwargs) as response:
        return response.status, await response.text()


def assert_german_refusal(body: str, words: str) -> None:
    assert '<html lang="de">' in body
    assert "Diese Seite ist nicht verfügbar" in body
    assert words in body
    assert "Traceback" not in body and "Error" not in body


async def test_valid_link_opens_page_and_pdf(served) -> None:
    server, _, client = served
    path = server.link_path(MUSTERSTADT, 2, 0)
    status, body = await fetch(client, path)
    assert status == 200 and "Stadt Musterstadt" in body
    async with client.get(path + ".pdf") as response:
        assert response.status == 200
        assert response.content_type == "application/pdf"
        assert (await response.read()).startswith(b"%PDF")


async def test_expired_revoked_tampered_unknown_and_earlier_round_links(served) -> None:
    server, source, client = served
    expired = LinkSigner(SECRET, clock=lambda: time.time() - 15 * DAY).make(
        WorkshopLink(MUSTERSTADT, 2, 0)
    )
    status, body = await fetch(client, f"/w/{expired}")
    assert status == 410
    assert_german_refusal(body, "Dieser Link ist abgelaufen. Links zum Workshop-Bild gelten 14")

    path = server.link_path(MUSTERSTADT, 2, 0)
    source.groups[MUSTERSTADT].generation = 1  # "/workshop neu"
    for suffix in ("", ".pdf"):
        status, body = await fetch(client, path + suffix)
        assert status == 410
        assert_german_refusal(body, "durch einen neuen ersetzt")
    status, _ = await fetch(client, server.link_path(MUSTERSTADT, 2, 1))
    assert status == 200

    good = server.link_path(MUSTERSTADT, 2, 1)
    tampered = good[:-6] + ("xy" if good[-6:-4] != "xy" else "yx") + good[-4:]
    status, body = await fetch(client, tampered)
    assert status == 404
    assert_german_refusal(body, "Dieser Link ist ungültig")

    # A valid link to one group's token with another group's payload: the signature fails.
    other = server.link_path(TINY, 1, 0).split("/")[-1].split(".")
    mine = server.link_path(MUSTERSTADT, 2, 1).split("/")[-1].split(".")
    status, body = await fetch(client, "/w/" + ".".join([other[0], *mine[1:]]))
    assert status == 404
    assert_german_refusal(body, "Dieser Link ist ungültig")

    status, body = await fetch(client, server.link_path(99, 1, 0))  # no such group
    assert status == 404
    status, body = await fetch(client, server.link_path(MUSTERSTADT, 7, 1))  # no such round
    assert status == 404
    assert_german_refusal(body, "Dieser Link ist ungültig")

    # Musterstadt is in round 2: a round-1 link says so, and what to do.
    status, body = await fetch(client, server.link_path(MUSTERSTADT, 1, 1))
    assert status == 410
    assert_german_refusal(body, "Dieser Link gehört zu Runde 1. Inzwischen hat die Gruppe Runde 2")
    assert "erhält im Bot jederzeit einen neuen Link" in body

    status, body = await fetch(client, "/nichts/hier")
    assert status == 404
    assert_german_refusal(body, "Dieser Link ist ungültig")


async def test_mini_app_sign_in(served) -> None:
    _, _, client = served
    async with client.post(
        f"/app/{MUSTERSTADT}/2", data={"init_data": init_data(COORDINATOR)}, allow_redirects=False
    ) as response:
        assert response.status == 303
        location = response.headers["Location"]
    assert location.startswith("../../w/")
    target = URL(f"/app/{MUSTERSTADT}/2").join(URL(location))  # as a browser resolves it
    assert target.path.startswith("/w/")
    status, body = await fetch(client, str(target))
    assert status == 200 and "Stadt Musterstadt" in body

    refusals = [
        (init_data(COORDINATOR, token="654321:ANOTHERtokenANOTHERtoken"), 403, "Anmeldung"),
        (init_data(COORDINATOR, auth_date=time.time() - 3 * 3600), 403, "zu alt"),
        (init_data(STRANGER), 403, "nur die Koordinator*innen"),
        (init_data(OTHER_COORDINATOR), 403, "nur die Koordinator*innen"),  # another group's
        ("", 403, "Anmeldung"),
    ]
    for data, expected, words in refusals:
        async with client.post(
            f"/app/{MUSTERSTADT}/2", data={"init_data": data}, allow_redirects=False
        ) as response:
            assert response.status == expected
            assert_german_refusal(await response.text(), words)

    async with client.post(
        f"/app/{MUSTERSTADT}/1", data={"init_data": init_data(COORDINATOR)}, allow_redirects=False
    ) as response:
        assert response.status == 410
        assert_german_refusal(await response.text(), "gehört zu Runde 1")


def test_server_is_built_from_the_settings_only_with_a_base_url() -> None:
    assert workshop_server(load_settings({"BOT_TOKEN": BOT_TOKEN}), FakeSource()) is None
    settings = load_settings(
        {"BOT_TOKEN": BOT_TOKEN, "WEB_BASE_URL": "https://example.org/ws/", "WEB_LINK_DAYS": "3"}
    )
    server = workshop_server(settings, FakeSource())
    assert server is not None
    assert (server.host, server.port, server.signer.days) == ("127.0.0.1", 8080, 3)
    token = server.link_path(1, 1, 0).removeprefix("/w/")
    assert LinkSigner(SECRET).read(token) == WorkshopLink(1, 1, 0)


async def test_failure_and_wrong_method_are_german_pages_without_trace(served, caplog) -> None:
    server, source, client = served

    async def broken(group_id: int, round: int) -> None:
        raise RuntimeError("database is locked")

    path = server.link_path(MUSTERSTADT, 2, 0)
    async with client.post(path) as response:
        assert response.status == 405
        assert_german_refusal(await response.text(), "nicht unterstützt")
    source.page_data = broken  # type: ignore[method-assign]
    status, body = await fetch(client, path)
    assert status == 500
    assert "Fehler aufgetreten" in body and "database is locked" not in body
    assert "Traceback" not in body
    assert any("Workshop page failed" in r.message for r in caplog.records)
    assert all(path.removeprefix("/w/") not in r.getMessage() for r in caplog.records)


async def test_pages_carry_protective_headers(served) -> None:
    server, _, client = served
    async with client.get(server.link_path(MUSTERSTADT, 2, 0)) as response:
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert "script-src" not in response.headers["Content-Security-Policy"]
    async with client.get("/static/workshop.css") as response:
        assert response.status == 200 and "text/css" in response.headers["Content-Type"]


def test_web_settings_are_checked() -> None:
    defaults = load_settings({})
    assert (defaults.web_base_url, defaults.web_listen, defaults.web_port) == (
        None,
        "127.0.0.1",
        8080,
    )
    assert defaults.web_link_days == 14
    for bad in (
        {"WEB_BASE_URL": "example.org"},
        {"WEB_PORT": "0"},
        {"WEB_PORT": "http"},
        {"WEB_LINK_DAYS": "0"},
    ):
        with pytest.raises(ConfigError):
            load_settings(bad)


async def test_a_closed_group_keeps_its_page_and_a_new_round_ends_the_old_link(
    database: Path,
) -> None:
    """Closing a group only stops new participants (reversible, checks may still finish): the
    workshop picture is what the coordinator closes it for, so its link keeps working. A new
    round ends the old round's links with a German page that says why and what to do."""
    base = "https://selbstcheck.kommune.example/workshop"
    async with fast_bot(database, BOT_TOKEN=BOT_TOKEN, WEB_BASE_URL=base) as bot:
        coordinator = bot.user(100, "Kim")
        await create_group(coordinator)
        link = await reply_text(coordinator, "/workshop")
        path = "/w/" + LINK_TOKEN.findall(link)[0]
        async with desk_client(bot) as client:
            closed = await reply_text(coordinator, "/gruppeschliessen")
            assert "nimmt keine neuen Teilnehmenden mehr auf" in closed
            status, body = await fetch(client, path)
            assert status == 200 and "Stadt Musterstadt" in body
            async with client.get(path + ".pdf") as response:
                assert response.status == 200
                assert (await response.read()).startswith(b"%PDF")
            await reply_text(coordinator, "/neuerunde")
            await press_text(coordinator, "Ja, neue Runde starten")
            for suffix in ("", ".pdf"):
                status, body = await fetch(client, path + suffix)
                assert status == 410
                assert_german_refusal(body, "Dieser Link gehört zu Runde 1")
                assert "Inzwischen hat die Gruppe Runde 2 begonnen" in body
                assert "erhält im Bot jederzeit einen neuen Link" in body
            fresh = await reply_text(coordinator, "/workshop")
            status, body = await fetch(client, "/w/" + LINK_TOKEN.findall(fresh)[0])
            assert status == 200 and "Runde" in body


async def test_the_page_withholds_what_any_coordinator_who_took_part_could_work_out(
    database: Path,
) -> None:
    """Finding D of the privacy review: with two coordinators who took part, the page showed
    the release as the first one sees it. The second, in Verwaltung with two others, took the
    Verwaltung column (and, with Politik shown, the rest) minus their own score: the sum of
    two colleagues. Page and PDF now withhold whatever any coordinator who took part could not
    see, and the chat report is the same for both."""
    base = "https://selbstcheck.kommune.example/workshop"
    async with fast_bot(database, BOT_TOKEN=BOT_TOKEN, WEB_BASE_URL=base) as bot:
        first = bot.user(100, "Kim")
        join_token, coordinator_token, _ = await create_group(first)
        second = bot.user(101, "Ali")
        assert "koordinieren jetzt gemeinsam" in await reply_text(
            second, "/start", coordinator_token
        )
        people = [
            (first, "Politik"),
            (second, "Verwaltung"),
            *((bot.user(200 + i, f"V{i}"), "Verwaltung") for i in range(2)),
            *((bot.user(300 + i, f"P{i}"), "Politik") for i in range(3)),
        ]
        for person, perspective in people:
            await join(person, join_token, perspective)
        await asyncio.gather(*(answer_questions(p, pattern(s)) for s, (p, _) in enumerate(people)))
        chat = await reply_text(first, "/groupreport")
        assert "Stand: Bericht 1" in chat and "Ø" in chat
        assert "Nach Perspektive" not in chat
        assert await reply_text(second, "/groupreport") == chat
        link = await reply_text(first, "/workshop")
        async with desk_client(bot) as client:
            status, body = await fetch(client, "/w/" + LINK_TOKEN.findall(link)[0])
        assert status == 200 and 'data-figure="mean"' in body
        assert 'data-figure="perspective-mean"' not in body
