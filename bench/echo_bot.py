"""A bare python-telegram-bot echo bot: the baseline the real bot is compared with.

Same library version, same `Application` set-up as `bot.telegram.app` (HTML defaults,
AIORateLimiter, 64 concurrent updates, long polling with the same parameters), but no storage
and no logic: a button press is answered and its message edited with a new keyboard; a message
is replied to with a keyboard. `ECHO_RATE_LIMIT=off` lifts AIORateLimiter's overall 30
requests/s, like `TELEGRAM_RATE_LIMIT=0` does for the real bot.

Run: BOT_TOKEN=… TELEGRAM_BASE_URL=http://127.0.0.1:PORT python -m bench.echo_bot
"""

from __future__ import annotations

import logging
import os

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)


def question_like(n: int) -> str:
    """A text of the size and markup of one of the bot's question messages (about 500
    characters with bold and italic parts), so that both bots move the same bytes and entities
    and the comparison measures the self-check's own work, not the length of its texts."""
    return (
        f"✓ Gespeichert – Frage {n}: trifft eher zu\n\n<b>3. Fairer Zugang und Teilhabe</b> · "
        f"Bildung\nFrage {n} von 32 in diesem Feld · gesamt ▰▰▱▱▱▱▱▱▱▱ 21 %\n\n"
        "<b>Familien mit Einwanderungsgeschichte werden gezielt über Kita-Angebote und das "
        "Anmeldeverfahren informiert, und die Informationen gibt es in mehreren Sprachen.</b>"
        "\n\n<i>ℹ️ Gemeint sind zum Beispiel mehrsprachige Flyer, Elternabende mit "
        "Sprachmittlung oder Elternlots*innen, die Familien bei der Anmeldung begleiten.</i>"
    )


def keyboard(n: int) -> InlineKeyboardMarkup:
    """Shaped like a question of the real bot: four options, skip, back and menu."""
    labels = ["trifft voll zu", "trifft eher zu", "trifft eher nicht zu", "trifft nicht zu"]
    options = [
        InlineKeyboardButton(label, callback_data=f"a:{n}:{i}") for i, label in enumerate(labels)
    ]
    return InlineKeyboardMarkup(
        [
            options[:2],
            options[2:],
            [InlineKeyboardButton("überspringen", callback_data=f"s:{n}")],
            [
                InlineKeyboardButton("zurück", callback_data=f"b:{n}"),
                InlineKeyboardButton("Menü", callback_data="m"),
            ],
        ]
    )


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    parts = (query.data or "").split(":")
    n = int(parts[1]) + 1 if len(parts) > 1 and parts[1].isdigit() else 1
    await query.answer()
    await context.bot.edit_message_text(
        question_like(n),
        chat_id=query.message.chat.id,
        message_id=query.message.message_id,
        reply_markup=keyboard(n),
    )


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id, question_like(0), reply_markup=keyboard(0)
    )


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))
    throttled = os.environ.get("ECHO_RATE_LIMIT", "shipped") != "off"
    limiter = AIORateLimiter(max_retries=5) if throttled else AIORateLimiter(0, max_retries=5)
    base_url = os.environ["TELEGRAM_BASE_URL"].rstrip("/")
    app = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(base_url + "/bot")
        .base_file_url(base_url + "/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(limiter)
        .concurrent_updates(64)
        .build()
    )
    app.add_handler(CallbackQueryHandler(on_press))
    app.add_handler(MessageHandler(filters.ALL, on_message))
    app.run_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0.0, timeout=10)


if __name__ == "__main__":
    main()
