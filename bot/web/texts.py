"""The web transport's words and German number formats.

Two sources, one copy of every sentence:
- `bot/web/texts.de.yaml`: the words only the pages and PDFs use (headings, legend, errors);
- the chat report's sentences in `bot/locale/<language>.yaml` (keys `report_…`): why a figure
  is withheld, the perspective notes, the "not yet" and "waiting for the next release" lines.
  The page and the PDF explain a withheld figure with exactly the words the chat uses, so the
  bot's two renderings of one `PublishedReport` cannot drift apart. The file is read as data
  (no import of the chat's modules); both fill placeholders, plural forms included, through
  `bot.ui.texts.format_plain`.

Values are plain strings: the Jinja2 templates escape everything they insert. A chat sentence
that carried Telegram HTML would be shown with its tags escaped, so such a sentence is refused.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.ui.texts import format_plain

TEXTS_DIR = Path(__file__).resolve().parent
CHAT_LOCALE_DIR = TEXTS_DIR.parent / "locale"
CHAT_PREFIX = "report_"


class WebTexts:
    def __init__(self, entries: dict[str, Any], chat: dict[str, Any]) -> None:
        self._entries = entries
        self._chat = {k: v for k, v in chat.items() if k.startswith(CHAT_PREFIX)}
        self._number = entries["number"]

    def __call__(self, key: str, /, **values: object) -> str:
        return format_plain(str(self._entries[key]), **values)

    def chat(self, key: str, /, **values: object) -> str:
        """A sentence of the chat report (`report_…` in the bot's locale), as plain text."""
        template = str(self._chat[key])
        if "<" in template:
            raise ValueError(f"{key} holds Telegram HTML; the web pages need plain text")
        return format_plain(template, **values)

    def number(self, value: float) -> str:
        """One decimal, German separator: the disclosure layer already rounded the value."""
        return f"{value:.1f}".replace(".", self._number["decimal_separator"])

    def signed(self, value: float) -> str:
        """A change with its sign; a real minus sign reads better on a projector than '-'."""
        text = self.number(abs(value))
        if value > 0:
            return str(self._number["plus"]) + text
        if value < 0:
            return str(self._number["minus"]) + text
        return text

    def date(self, day: date) -> str:
        return self("date_format", day=f"{day.day:02d}", month=f"{day.month:02d}", year=day.year)


@cache
def load_web_texts(language: str = "de") -> WebTexts:
    with (TEXTS_DIR / f"texts.{language}.yaml").open(encoding="utf-8") as handle:
        entries = yaml.safe_load(handle)
    with (CHAT_LOCALE_DIR / f"{language}.yaml").open(encoding="utf-8") as handle:
        chat = yaml.safe_load(handle)
    return WebTexts(entries, chat)
