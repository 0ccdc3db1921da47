"""User-facing words, loaded from `bot/locale/<language>.yaml`.

Placeholders are filled with HTML-escaped values, so dynamic text can never break Telegram's
HTML parse mode; values that are already HTML are wrapped in `Html`.

A count chooses its words in the text itself, so no code ever glues a noun to a number:
`{n:# Person|# Personen}` says "1 Person" and "3 Personen" ("#" is the number; the first form
is for exactly one, the second for every other count, as German needs).
"""

from __future__ import annotations

import html
import re
import string
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


class Html(str):
    """A string that is already valid Telegram HTML and must not be escaped again."""


def plain_text(text: str) -> str:
    """What a person reads of Telegram HTML: the text without tags, entities resolved."""
    return html.unescape(re.sub(r"</?[a-z][^>]*>", "", text))


class _Formatter(string.Formatter):
    """`str.format` with plural forms (`{n:one|other}`) and, for HTML texts, escaping."""

    def __init__(self, escape: bool) -> None:
        self.escape = escape

    def format_field(self, value: Any, format_spec: str) -> str:
        if "|" in format_spec:
            one, other = format_spec.split("|", 1)
            # A range such as "43–45" (not yet one number) always takes the plural.
            singular = isinstance(value, int) and value == 1
            return (one if singular else other).replace("#", str(value))
        text = format(value, format_spec)
        if self.escape and not isinstance(value, Html):
            return html.escape(text, quote=False)
        return text

    def fill(self, template: str, /, **values: object) -> str:
        """`format`, but from the template's pieces parsed once: `string.Formatter` parses
        and looks up every field in Python on each call, a tenth of an answer's own work."""
        pieces = _pieces(template)
        if pieces is None:
            return self.format(template, **values)
        parts: list[str] = []
        for literal, name, spec in pieces:
            parts.append(literal)
            if name is not None:
                parts.append(self.format_field(values[name], spec))
        return "".join(parts)


Pieces = tuple[tuple[str, str | None, str], ...]


@lru_cache(maxsize=2048)
def _pieces(template: str) -> Pieces | None:
    """(literal text, field name or None, format spec) in order; None for a template with
    anything but plain named fields (positions, attributes, conversions, nested specs), which
    `string.Formatter` then handles as always."""
    pieces = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (conversion or not name.isidentifier() or "{" in (spec or "")):
            return None
        pieces.append((literal, name, spec or ""))
    return tuple(pieces)


_HTML = _Formatter(escape=True)
_PLAIN = _Formatter(escape=False)


def format_plain(template: str, /, **values: object) -> str:
    """Fill a text's placeholders (plural forms included) without HTML escaping."""
    return _PLAIN.fill(template, **values)


class Texts:
    def __init__(self, entries: dict[str, Any]) -> None:
        self._entries = entries
        # Texts without placeholders (button labels and the like), formatted once: every
        # screen asks for several of them.
        self._fixed: dict[tuple[str, bool], str] = {}

    def __call__(self, key: str, /, **values: object) -> Html:
        if not values:
            return Html(self._once(key, html=True))
        return Html(_HTML.fill(str(self._entries[key]), **values))

    def plain(self, key: str, /, **values: object) -> str:
        """For places without HTML (buttons, toasts, the console)."""
        if not values:
            return self._once(key, html=False)
        return _PLAIN.fill(str(self._entries[key]), **values)

    def _once(self, key: str, html: bool) -> str:
        text = self._fixed.get((key, html))
        if text is None:
            text = (_HTML if html else _PLAIN).fill(str(self._entries[key]))
            self._fixed[key, html] = text
        return text

    def section(self, key: str) -> dict[str, Any]:
        return dict(self._entries[key])

    def words(self, key: str) -> frozenset[str]:
        """A list of words people may type (lower-case), such as "aus" or "an"."""
        return frozenset(str(word).lower() for word in self._entries[key])


@cache
def load_texts(language: str = "de") -> Texts:
    with (LOCALE_DIR / f"{language}.yaml").open(encoding="utf-8") as handle:
        # libyaml's parser when installed: a tenth of the pure-Python one's start-up time.
        return Texts(yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
