"""flows.naming.group_name: what survives of a typed group name."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from flows.naming import group_name


def test_group_name_rtl_override_zero_width_and_control_characters_are_removed() -> None:
    assert group_name("Stadt \u202eMuster\u202c\u200bstadt") == "Stadt Musterstadt"
    assert group_name("Gemeinde\x00 \x1b[31mRot\x07") == "Gemeinde [31mRot"
    assert group_name("  Kreis\t\n Nord  ") == "Kreis Nord"
    assert group_name("\u2067Markt\u2069 Ost\ufeff") == "Markt Ost"


def test_group_name_is_nfc_normalised() -> None:
    assert group_name("Mu\u0308nster") == "Münster"
    assert group_name("Mu\u200b\u0308nster") == "Münster"  # also where a removed one stood


def test_group_name_with_no_visible_character_is_refused() -> None:
    for invisible in ("\u200b\u200b", "\u202e", " \u00a0 ", "\u200d", "\x00\x01", ""):
        assert group_name(invisible) is None


def test_group_name_keeps_emoji_joiners() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert group_name(f"Familie {family}") == f"Familie {family}"


@given(st.text())
def test_group_name_never_keeps_a_control_or_bidi_character(raw: str) -> None:
    name = group_name(raw)
    if name is None:
        return
    assert name == unicodedata.normalize("NFC", name)
    assert group_name(name) == name  # cleaning is done once and for all
    assert name == name.strip() and "  " not in name
    for char in name:
        category = unicodedata.category(char)
        assert category not in ("Cc", "Cs", "Co", "Cn")
        assert category != "Cf" or char in "\u200c\u200d"
    assert any(unicodedata.category(c)[0] in "LNPS" for c in name)
