"""The CSV export on its own: German-Excel format, neutralised formulas, stable pseudonyms."""

from __future__ import annotations

import csv
import io

import pytest

from bot.ui.export import COLUMNS, ExportRow, build_csv, cell, neutralise, pseudonym


def row(**changes: object) -> ExportRow:
    values: dict[str, object] = {
        "person": "a1b2c3d4e5f60718",
        "session_id": 7,
        "attempt": 1,
        "group": "Stadt Musterstadt",
        "group_round": 1,
        "perspective": "administration",
        "questionnaire_id": "mini",
        "questionnaire_version": "test.1",
        "content_hash": "0123456789abcdef",
        "question_id": "alpha.one",
        "field_id": "alpha",
        "option_id": "full",
        "points": 3,
        "answered_at": "2025-03-01T10:00:00+00:00",
        "session_started_at": "2025-03-01T09:55:00+00:00",
        "session_completed_at": None,
        "session_archived_at": None,
        "session_archived_reason": None,
    }
    values.update(changes)
    return ExportRow(**values)  # type: ignore[arg-type]


def parse(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def test_utf8_with_bom_semicolons_and_header() -> None:
    content = build_csv([row(group="Gemeinde Öhringen; Süd")])
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == ";".join(COLUMNS)
    assert lines[-1] == ""  # every line ends with CRLF
    header, data = parse(content)
    assert data[header.index("group")] == "Gemeinde Öhringen; Süd"  # quoted, not split
    assert data[header.index("points")] == "3"


def test_header_only_without_rows() -> None:
    assert parse(build_csv([])) == [list(COLUMNS)]


def test_skipped_question_has_empty_option_and_points() -> None:
    _, data = parse(build_csv([row(option_id=None, points=None, group=None)]))
    record = dict(zip(COLUMNS, data, strict=True))
    assert record["option_id"] == ""
    assert record["points"] == ""
    assert record["group"] == ""


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","klick")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\tversteckt",
        "\rzeile",
    ],
)
def test_formula_like_text_is_neutralised(value: str) -> None:
    assert neutralise(value) == "'" + value
    _, data = parse(build_csv([row(group=value, perspective=value)]))
    record = dict(zip(COLUMNS, data, strict=True))
    assert record["group"] == "'" + value
    assert record["perspective"] == "'" + value


def test_harmless_text_and_numbers_stay_unchanged() -> None:
    assert neutralise("Stadt = Gemeinde") == "Stadt = Gemeinde"
    assert cell(-1) == -1  # a number is never evaluated as a formula
    assert cell(None) == ""
    assert cell("") == ""


def test_pseudonym_is_stable_keyed_and_hides_the_id() -> None:
    first = pseudonym("salt-one", 123456789)
    assert first == pseudonym("salt-one", 123456789)
    assert first != pseudonym("salt-two", 123456789)
    assert first != pseudonym("salt-one", 123456788)
    assert "123456789" not in first
    assert len(first) == 16
    assert all(c in "0123456789abcdef" for c in first)
