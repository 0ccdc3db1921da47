"""Webhook mode: Telegram pushes updates to the bot, which checks the secret token header."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.cli.config import ConfigError, load_settings
from bot.telegram.app import serve
from tests.harness import bot_env, free_port, wait_for
from tests.telegram_server import BotApiServer, SimulatedUser

SECRET = "geheim_Token-123-long-enough-for-the-bot-0123"


def webhook_env(server: BotApiServer, database: Path, port: int, **extra: str) -> dict[str, str]:
    """The bot in webhook mode on `port`; `extra` adds settings or replaces these."""
    webhook = {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": SECRET,
    }
    return bot_env(server, database, **(webhook | extra))


async def test_webhook_delivers_updates_and_rejects_a_wrong_secret(
    server: BotApiServer, database: Path
) -> None:
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(load_settings(webhook_env(server, database, port)), stop))
    try:
        await wait_for(lambda: bool(server.webhook.get("url")) or task.done(), what="setWebhook")
        assert not task.done(), task
        url = f"http://127.0.0.1:{port}/telegram"
        assert server.webhook == {"url": url, "secret_token": SECRET}
        assert server.calls("getUpdates") == []

        person = SimulatedUser(server, 801)
        await person.send_command("/start")
        welcome = await person.wait_for_message()
        assert "Willkommen" in welcome.visible_text
        assert server.webhook_deliveries[-1].status == 200

        forged = {
            "update_id": 999_001,
            "message": {
                "message_id": 999,
                "date": 1_700_000_000,
                "chat": dict(server.chat(801).chat),
                "from": dict(person.user),
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        async with httpx.AsyncClient(trust_env=False) as client:
            wrong = await client.post(
                url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "falsch"}
            )
            missing = await client.post(url, json=forged)
        assert wrong.status_code == 403
        assert missing.status_code == 403
        await person.wait_until_idle()
        await asyncio.sleep(0.3)
        assert len(server.calls("sendMessage", 801)) == 1  # only the genuine welcome
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("", "required"),
        ("mit leerzeichen" * 3, "A-Z"),
        ("ä" * 33, "A-Z"),
        ("x" * 257, "32-256"),
        # Issue 10, Webhook: a short secret could be guessed by trying.
        ("geheim_Token-123", "32-256"),
        ("x" * 31, "32-256"),
    ],
)
def test_webhook_needs_a_valid_secret(secret: str, problem: str) -> None:
    env = {"WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_SECRET": secret}
    with pytest.raises(ConfigError, match=problem) as error:
        load_settings(env)
    assert "\n" not in str(error.value)


def test_webhook_settings_defaults() -> None:
    """Issue 10, Webhook: it listens on 127.0.0.1 by default, behind a reverse proxy."""
    settings = load_settings(
        {"WEBHOOK_URL": "https://bot.example.org/tg", "WEBHOOK_SECRET": SECRET}
    )
    assert load_settings({"WEBHOOK_SECRET": "x" * 32, "WEBHOOK_URL": "https://a.b/c"})
    assert (settings.webhook_listen, settings.webhook_port, settings.webhook_path) == (
        "127.0.0.1",
        8443,
        "telegram",
    )
    assert load_settings({}).webhook_url is None
