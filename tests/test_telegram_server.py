"""The fake Bot API server works with the real python-telegram-bot library, offline.

Why: end-to-end tests of the bot rely on this server failing where Telegram fails (length
limits, bad HTML, callback data, "not modified", 429) and on the simulated user seeing
exactly what a real user would.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup
from telegram import Update as TgUpdate
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from tests.harness import free_port
from tests.telegram_server import BotApiServer, SimulatedUser

TOKEN = "123:ABC"
KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Los geht's", callback_data="begin")],
        [InlineKeyboardButton("Hilfe", callback_data="help")],
    ]
)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; the tests must only ever talk to 127.0.0.1."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    async with BotApiServer() as running:
        yield running


async def on_start(update: TgUpdate, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message
    suffix = f" ({context.args[0]})" if context.args else ""
    await update.effective_message.reply_text(
        f"<b>Willkommen</b> beim Selbstcheck &amp; mehr!{suffix}",
        parse_mode=ParseMode.HTML,
        reply_markup=KEYBOARD,
    )


async def on_button(update: TgUpdate, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query
    await query.answer("OK")
    await query.edit_message_text(f"Du hast {query.data} gewählt.")


def build_app(server: BotApiServer, **builder_options: Any) -> Application:
    builder = (
        Application.builder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
    )
    for option, value in builder_options.items():
        builder = getattr(builder, option)(value)
    app = builder.build()
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CallbackQueryHandler(on_button))
    return app


@pytest.fixture
async def polling_app(server: BotApiServer) -> AsyncIterator[Application]:
    app = build_app(server)
    await app.initialize()
    await app.start()
    assert app.updater
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def api(server: BotApiServer, method: str, **params: Any) -> httpx.Response:
    """Call the fake API directly, as JSON (PTB itself posts forms)."""
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(f"{server.base_url}{TOKEN}/{method}", json=params)


async def test_user_starts_and_presses_button_through_real_ptb(
    server: BotApiServer, polling_app: Application
) -> None:
    user = SimulatedUser(server, 5, "Anna")
    await user.send_command("/start", "qr-kommune")

    welcome = await user.wait_for_message()
    assert welcome.text == "Willkommen beim Selbstcheck & mehr! (qr-kommune)"
    assert welcome.entities == [{"type": "bold", "offset": 0, "length": 10}]
    assert user.buttons() == ["Los geht's", "Hilfe"]

    record = await user.press("Hilfe")
    edited = await user.wait_for_message()
    await user.wait_until_idle()

    assert edited.message_id == welcome.message_id and edited.edit_date
    assert user.last_text == "Du hast help gewählt."
    assert user.buttons() == []  # editing without reply_markup removes the keyboard
    assert user.messages[0].edits[0]["text"] == welcome.text
    assert record.answered and user.answered_callbacks[0]["text"] == "OK"
    methods = [call.method for call in server.calls(chat_id=5)]
    assert methods == ["sendMessage", "answerCallbackQuery", "editMessageText"]


async def test_press_finds_buttons_by_substring_regex_and_predicate(
    server: BotApiServer, polling_app: Application
) -> None:
    user = SimulatedUser(server, 6)
    has_keyboard = lambda message: bool(message.inline_buttons)  # noqa: E731
    for spec in ("Los", re.compile(r"^Hil"), lambda button: button["callback_data"] == "help"):
        await user.send_command("start")
        await user.wait_for_message(has_keyboard)
        await user.press(spec)
        await user.wait_until_idle()
    assert [answer["text"] for answer in user.answered_callbacks] == ["OK"] * 3
    assert [m.text for m in user.messages] == [
        "Du hast begin gewählt.",
        "Du hast help gewählt.",
        "Du hast help gewählt.",
    ]
    await user.send_command("start")
    await user.wait_for_message(has_keyboard)
    with pytest.raises(AssertionError, match="no button"):
        await user.press("Gibt es nicht")


@pytest.mark.parametrize(
    ("text", "parse_mode", "ok"),
    [
        ("x" * 4096, None, True),
        ("x" * 4097, None, False),
        ("<b>" + "x" * 4096 + "</b>", "HTML", True),  # tags do not count
        ("&amp;" * 4096, "HTML", True),  # an entity counts as one character
        ("  " + "x" * 4096 + "\n", None, True),  # surrounding whitespace is trimmed
        ("   ", None, False),
    ],
)
async def test_text_length_counts_after_entity_parsing(
    server: BotApiServer, text: str, parse_mode: str | None, ok: bool
) -> None:
    SimulatedUser(server, 5)
    response = await api(server, "sendMessage", chat_id=5, text=text, parse_mode=parse_mode)
    assert response.json()["ok"] is ok
    if not ok:
        assert response.status_code == 400


@pytest.mark.parametrize(
    "html",
    [
        "Zeile<br>Zeile",
        "a < b",
        "AT&T",
        "&nbsp;",
        "<b>fett",
        "<b><i>x</b></i>",
        "x</b>",
        '<span class="x">s</span>',
        "<p>absatz</p>",
    ],
)
async def test_malformed_html_is_rejected(server: BotApiServer, html: str) -> None:
    SimulatedUser(server, 5)
    response = await api(server, "sendMessage", chat_id=5, text=html, parse_mode="HTML")
    assert response.status_code == 400
    assert response.json()["description"].startswith("Bad Request: can't parse entities: ")


async def test_supported_html_is_accepted(server: BotApiServer) -> None:
    user = SimulatedUser(server, 5)
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><del>d</del>"
        '<a href="https://example.org/?a=1&amp;b=2">l</a><code>c</code>'
        '<pre><code class="language-python">p</code></pre><tg-spoiler>x</tg-spoiler>'
        '<span class="tg-spoiler">y</span><blockquote expandable>q</blockquote>'
        " &lt;&gt;&quot;&#228;"
    )
    response = await api(server, "sendMessage", chat_id=5, text=html, parse_mode="HTML")
    assert response.json()["ok"], response.text
    assert user.last_text == 'bsieunsdlcpxyq <>"ä'
    link = next(e for e in user.messages[0].entities if e["type"] == "text_link")
    assert link["url"] == "https://example.org/?a=1&b=2"


async def test_callback_data_longer_than_64_bytes_is_rejected(server: BotApiServer) -> None:
    SimulatedUser(server, 5)

    def markup(data: str) -> dict[str, Any]:
        return {"inline_keyboard": [[{"text": "Knopf", "callback_data": data}]]}

    ok = await api(server, "sendMessage", chat_id=5, text="t", reply_markup=markup("x" * 64))
    assert ok.json()["ok"]
    for data in ("x" * 65, "ä" * 33, ""):  # the limit is in bytes, not characters
        bad = await api(server, "sendMessage", chat_id=5, text="t", reply_markup=markup(data))
        assert bad.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
    empty_text = {"inline_keyboard": [[{"text": "", "callback_data": "x"}]]}
    bad = await api(server, "sendMessage", chat_id=5, text="t", reply_markup=empty_text)
    assert bad.status_code == 400


async def test_edit_errors_match_telegram(server: BotApiServer) -> None:
    """PTB posts forms with JSON-encoded markup; the server compares the parsed values."""
    SimulatedUser(server, 5)
    async with build_app(server) as app:
        sent = await app.bot.send_message(5, "Frage 1", reply_markup=KEYBOARD)
        with pytest.raises(BadRequest, match="Message is not modified: specified new message"):
            await app.bot.edit_message_text("Frage 1", 5, sent.message_id, reply_markup=KEYBOARD)
        await app.bot.edit_message_text("Frage 1", 5, sent.message_id)  # removes keyboard
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await app.bot.edit_message_text("x", 5, 999)
        with pytest.raises(BadRequest, match="Chat not found"):
            await app.bot.send_message(77, "x")
        server.block_chat(5)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await app.bot.send_message(5, "x")


async def test_callback_query_can_only_be_answered_once(server: BotApiServer) -> None:
    user = SimulatedUser(server, 5)
    async with build_app(server) as app:
        sent = await app.bot.send_message(5, "Frage", reply_markup=KEYBOARD)
        record = await user.press_data(sent.message_id, "forged")
        assert await app.bot.answer_callback_query(record.id, "Danke", show_alert=True)
        for query_id in (record.id, "unknown"):
            with pytest.raises(BadRequest, match="Query is too old"):
                await app.bot.answer_callback_query(query_id)
    assert user.answered_callbacks[0]["show_alert"] is True


async def test_retry_after_is_honoured_by_aio_rate_limiter(server: BotApiServer) -> None:
    SimulatedUser(server, 5)
    server.faults.too_many_requests(1.0, retry_after=1, methods=["sendMessage"], times=1)
    async with build_app(server, rate_limiter=AIORateLimiter(max_retries=3)) as app:
        started = time.monotonic()
        await app.bot.send_message(5, "nach der Pause")
    assert time.monotonic() - started >= 1.0
    assert [call.status for call in server.calls("sendMessage")] == [429, 200]
    assert server.retry_after_violations == []
    assert server.messages(5)[0].text == "nach der Pause"


async def test_early_retry_is_recorded_as_violation(server: BotApiServer) -> None:
    SimulatedUser(server, 5)
    server.faults.too_many_requests(1.0, retry_after=5, methods=["sendMessage"], times=1)
    first = await api(server, "sendMessage", chat_id=5, text="a")
    assert first.status_code == 429 and first.json()["parameters"] == {"retry_after": 5}
    second = await api(server, "sendMessage", chat_id=5, text="b")
    assert second.status_code == 429
    [violation] = server.retry_after_violations
    assert violation.chat_id == 5 and violation.early_by > 4


async def test_faults_errors_drops_and_lost_responses(server: BotApiServer) -> None:
    SimulatedUser(server, 5)
    async with build_app(server) as app:
        server.faults.rate(1.0, status=502, times=1)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await app.bot.send_message(5, "a")
        server.faults.drop(1.0, times=1)
        with pytest.raises(NetworkError):
            await app.bot.send_message(5, "b")
        server.faults.drop(1.0, after_effect=True, times=1)
        with pytest.raises(NetworkError):
            await app.bot.send_message(5, "c")
        server.faults.slow(1.0, 0.2, times=1)
        await app.bot.send_message(5, "d")
    assert [m.text for m in server.messages(5)] == ["c", "d"]  # "c" arrived, its answer was lost
    assert [c.fault for c in server.calls("sendMessage")] == ["error", "drop", "drop", "slow"]


async def test_get_updates_long_polling_and_offset(server: BotApiServer) -> None:
    user = SimulatedUser(server, 5)
    await user.send_text("eins")
    await user.send_sticker()
    first = (await api(server, "getUpdates", timeout=0)).json()["result"]
    assert [("message" in u, u["message"].get("text")) for u in first] == [
        (True, "eins"),
        (True, None),
    ]
    assert first[1]["update_id"] == first[0]["update_id"] + 1
    confirm = first[-1]["update_id"] + 1
    started = time.monotonic()
    waiter = asyncio.create_task(api(server, "getUpdates", offset=confirm, timeout=2))
    await asyncio.sleep(0.1)
    await user.send_voice()
    [voice] = (await waiter).json()["result"]
    assert "voice" in voice["message"] and time.monotonic() - started < 1.5
    empty = await api(server, "getUpdates", offset=voice["update_id"] + 1, timeout=0.2)
    assert empty.json()["result"] == [] and server.pending_updates == []


async def test_files_commands_and_descriptions(server: BotApiServer) -> None:
    user = SimulatedUser(server, 5)
    async with build_app(server) as app:
        await app.bot.send_document(5, b"a;b\n1;2\n", filename="ergebnis.csv", caption="Export")
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await app.bot.send_photo(5, b"not an image")
        incoming = await user.send_document(b"%PDF-1.4", filename="bericht.pdf")
        tg_file = await app.bot.get_file(incoming.extra["document"]["file_id"])
        assert bytes(await tg_file.download_as_bytearray()) == b"%PDF-1.4"

        await app.bot.set_my_commands([BotCommand("start", "Selbstcheck starten")])
        scope = BotCommandScopeChat(5)
        await app.bot.set_my_commands([BotCommand("hilfe", "Hilfe")], scope=scope)
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await app.bot.set_my_commands([BotCommand("Start", "x")])
        assert [c.command for c in await app.bot.get_my_commands(scope=scope)] == ["hilfe"]
        assert await app.bot.set_my_description("Selbstcheck")
        chat = await app.bot.get_chat(5)
    [document] = user.documents
    assert (document.file_name, document.content) == ("ergebnis.csv", b"a;b\n1;2\n")
    assert user.last_text == "Export"
    assert server.commands() == [{"command": "start", "description": "Selbstcheck starten"}]
    assert server.commands({"type": "chat", "chat_id": 5}) == [
        {"command": "hilfe", "description": "Hilfe"}
    ]
    assert chat.id == 5 and chat.type == "private"


async def test_webhook_delivery_with_secret_token(server: BotApiServer) -> None:
    user = SimulatedUser(server, 5)
    app = build_app(server)
    port = free_port()
    await app.initialize()
    await app.start()
    assert app.updater
    try:
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="hook",
            webhook_url=f"http://127.0.0.1:{port}/hook",
            secret_token="geheim-123",
        )
        await user.send_command("/start")
        welcome = await user.wait_for_message()
        conflict = await api(server, "getUpdates")
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert welcome.text.startswith("Willkommen")
    delivery = server.webhook_deliveries[0]
    assert delivery.status == 200
    assert delivery.headers["X-Telegram-Bot-Api-Secret-Token"] == "geheim-123"
    assert conflict.status_code == 409


async def test_webhook_to_non_loopback_url_is_refused(server: BotApiServer) -> None:
    response = await api(server, "setWebhook", url="https://example.org/hook")
    assert response.status_code == 400 and server.webhook == {}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("Hallo *Welt* _kursiv_ `1.0`", True),
        ("Schritt 1\\. Start\\!", True),
        ("Schritt 1. Start", False),
        ("*offen", False),
        ("[Link](https://example.org)", True),
    ],
)
async def test_markdown_v2_requires_escaping(server: BotApiServer, text: str, ok: bool) -> None:
    SimulatedUser(server, 5)
    response = await api(server, "sendMessage", chat_id=5, text=text, parse_mode="MarkdownV2")
    assert response.json()["ok"] is ok, response.text


def test_faults_are_deterministic_and_spare_get_updates() -> None:
    def draws(seed: int) -> list[str | None]:
        server = BotApiServer(seed=seed)
        server.faults.rate(0.5)
        picks = [server.faults.pick("sendMessage", 5) for _ in range(20)]
        return [rule.kind if rule else None for rule in picks]

    assert draws(7) == draws(7) and None in draws(7) and "error" in draws(7)
    server = BotApiServer()
    server.faults.drop(1.0)
    assert server.faults.pick("getUpdates", None) is None
    with pytest.raises(ValueError, match="getUpdates"):
        server.faults.slow(1.0, 5, methods=["getUpdates"])


async def test_wait_until_idle_reports_an_unanswered_callback(server: BotApiServer) -> None:
    user = SimulatedUser(server, 5)
    await api(server, "sendMessage", chat_id=5, text="Frage", reply_markup=KEYBOARD.to_dict())
    await user.press("Hilfe")
    with pytest.raises(TimeoutError, match="not idle"):
        await user.wait_until_idle(timeout=0.2, quiet=0.05)
