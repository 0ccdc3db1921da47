"""What a group's name may contain: the name a coordinator types, made safe to show anywhere.

A group name is shown to everyone who opens its invitation (join buttons, the welcome, exports),
so it must read the same for every viewer: normalised to NFC (one spelling per letter), without
control characters and without format characters such as right-to-left overrides or zero-width
spaces, which can reverse or hide what follows. Whitespace runs become one space. A name with
no visible character left is no name.
"""

from __future__ import annotations

import unicodedata

# Joiners that shape emoji and some scripts (ZWJ, ZWNJ) are kept; every other format character
# (bidi embeddings, overrides and isolates, zero-width space, BOM, soft hyphen ...) is removed.
_KEPT_FORMAT = {"\u200c", "\u200d"}


def group_name(raw: str) -> str | None:
    """The cleaned name, or None when nothing visible remains."""
    text = unicodedata.normalize("NFC", raw)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace():
            kept.append(" ")
        elif category[0] != "C" or char in _KEPT_FORMAT:
            kept.append(char)
    # Normalised again: removing a character can bring a letter and its accent together.
    name = unicodedata.normalize("NFC", " ".join("".join(kept).split()))
    if not any(_visible(char) for char in name):
        return None
    return name


def _visible(char: str) -> bool:
    """A letter, digit, mark, punctuation or symbol: something that leaves ink."""
    return unicodedata.category(char)[0] in "LNPS"
