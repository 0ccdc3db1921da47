"""User-facing words, loaded from `bot/locale/<language>.yaml`.

Placeholders are filled with HTML-escaped values, so dynamic text can never break Telegram's
HTML parse mode; values that are already HTML are wrapped in `Html`.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


class Html(str):
    """A string that is already valid Telegram HTML and must not be escaped again."""


def plain_text(text: str) -> str:
    """What a person reads of Telegram HTML: the text without tags, entities resolved."""
    return html.unescape(re.sub(r"</?[a-z][^>]*>", "", text))


class Texts:
    def __init__(self, entries: dict[str, Any]) -> None:
        self._entries = entries

    def __call__(self, key: str, /, **values: object) -> Html:
        template = self._entries[key]
        safe = {
            name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
            for name, value in values.items()
        }
        return Html(template.format(**safe))

    def plain(self, key: str, /, **values: object) -> str:
        """For places without HTML (buttons, toasts, the console)."""
        return str(self._entries[key]).format(**values)

    def section(self, key: str) -> dict[str, Any]:
        return dict(self._entries[key])

    def words(self, key: str) -> frozenset[str]:
        """A list of words people may type (lower-case), such as "aus" or "an"."""
        return frozenset(str(word).lower() for word in self._entries[key])


@cache
def load_texts(language: str = "de") -> Texts:
    with (LOCALE_DIR / f"{language}.yaml").open(encoding="utf-8") as handle:
        return Texts(yaml.safe_load(handle))
