"""Every text of both locale files comes out of the once-parsed template exactly as
`string.Formatter` makes it (issue 15 moved filling off `Formatter.format`)."""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.ui.texts import LOCALE_DIR, Html, _Formatter, _pieces

WEB_TEXTS = Path(__file__).resolve().parents[1] / "bot" / "web" / "texts.de.yaml"


def templates(entry: Any) -> Iterator[str]:
    if isinstance(entry, str):
        yield entry
    elif isinstance(entry, dict):
        for value in entry.values():
            yield from templates(value)
    elif isinstance(entry, list):
        for value in entry:
            yield from templates(value)


def all_templates() -> list[str]:
    found: list[str] = []
    for path in (LOCALE_DIR / "de.yaml", WEB_TEXTS):
        found.extend(t for t in templates(yaml.safe_load(path.read_text(encoding="utf-8"))))
    return sorted({t for t in found if "{" in t})


def names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("escape", [True, False])
@pytest.mark.parametrize(
    "value", [1, 3, "Ämter & <Vereine>", Html("<b>fett</b>"), "43–45"], ids=repr
)
def test_filling_matches_string_formatter(escape: bool, value: object) -> None:
    formatter = _Formatter(escape)
    checked = 0
    for template in all_templates():
        values = dict.fromkeys(names(template), value)
        try:
            expected = formatter.format(template, **values)
        except (ValueError, TypeError):  # a spec such as ":.1f" for a text value
            with pytest.raises((ValueError, TypeError)):
                formatter.fill(template, **values)
            continue
        assert formatter.fill(template, **values) == expected, template
        checked += 1
    assert checked > 100  # the locale files are read, not an empty list


def test_templates_with_more_than_named_fields_are_left_to_string_formatter() -> None:
    assert _pieces("{0} und {}") is None
    assert _pieces("{person.name}") is None
    assert _pieces("{n!r}") is None
    assert _pieces("{n:{width}}") is None
    formatter = _Formatter(escape=True)
    assert _pieces("{{wörtlich}} {n}") is not None
    assert formatter.fill("{{wörtlich}} {n}", n="<a>") == "{wörtlich} &lt;a&gt;"
    assert formatter.fill("{n!r} & {n}", n="<a>") == "'&lt;a&gt;' & &lt;a&gt;"
