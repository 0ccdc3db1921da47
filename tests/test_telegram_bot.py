"""The bot's python-telegram-bot `Bot` against the local Bot API server, over real HTTP.

Why: `TolerantBot` changes what PTB does with two kinds of responses, getUpdates batches
(`tests/test_e2e_defects.py`: an unreadable update is skipped) and edits (here): the messenger
relies on edits still reaching Telegram and on refusals still raising.
"""

from __future__ import annotations

from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from bot.telegram.app import TolerantBot
from tests.telegram_server import BotApiServer, SimulatedUser

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("trifft zu", callback_data="a:1:0:0")]])


async def test_an_edit_reaches_telegram_and_what_it_returns_is_not_parsed(
    server: BotApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = SimulatedUser(server, 5)
    bot = TolerantBot("123:ABC", base_url=server.base_url, base_file_url=server.base_file_url)
    async with bot:
        sent = await bot.send_message(5, "<b>Frage 1</b>", parse_mode="HTML", reply_markup=KEYBOARD)
        parsed: list[Any] = []
        original = Message.de_json.__func__  # type: ignore[attr-defined]

        def counting(cls: type[Message], data: Any, bot: Any = None) -> Any:
            parsed.append(data)
            return original(cls, data, bot)

        monkeypatch.setattr(Message, "de_json", classmethod(counting))
        edited = await bot.edit_message_text(
            "<b>Frage 2</b>", 5, sent.message_id, parse_mode="HTML", reply_markup=KEYBOARD
        )
        assert edited is True
        assert user.last_text == "Frage 2"
        assert user.messages[-1].reply_markup == KEYBOARD.to_dict()
        assert await bot.edit_message_reply_markup(5, sent.message_id) is True
        assert not user.messages[-1].reply_markup
        assert parsed == []
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", 5, 999)
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("<b>Frage 2</b>", 5, sent.message_id, parse_mode="HTML")
        again = await bot.send_message(5, "Frage 3")
        assert isinstance(again, Message) and again.text == "Frage 3"
