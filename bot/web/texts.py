"""The web transport's words, from `bot/web/texts.de.yaml`, and German number formats.

Values are plain strings: the Jinja2 templates escape everything they insert.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEXTS_DIR = Path(__file__).resolve().parent


class WebTexts:
    def __init__(self, entries: dict[str, Any]) -> None:
        self._entries = entries
        self._number = entries["number"]

    def __call__(self, key: str, /, **values: object) -> str:
        return str(self._entries[key]).format(**values)

    def first(self, key: str, fallback: str, /, **values: object) -> str:
        """`key` if the texts have it, else `fallback` (for reason codes without own wording)."""
        return self(key if key in self._entries else fallback, **values)

    def number(self, value: float) -> str:
        """One decimal, German separator: 58.25 was already rounded by the aggregation."""
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
        return WebTexts(yaml.safe_load(handle))
