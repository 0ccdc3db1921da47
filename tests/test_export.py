"""The CSV export on its own: German-Excel format, neutralised formulas, stable pseudonyms."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.ui.export import (
    COLUMNS,
    ExportRow,
    build_csv,
    build_xlsx,
    cell,
    day,
    neutralise,
    pseudonym,
)
from bot.ui.texts import load_texts

HEADERS = load_texts().section("export_columns")
GERMAN = [HEADERS[name] for name in COLUMNS]


def row(**changes: object) -> ExportRow:
    values: dict[str, object] = {
        "person": "P-a1b2c3d4e5f60718",
        "session_id": 7,
        "attempt": 1,
        "group": "Stadt Musterstadt",
        "group_round": 1,
        "perspective": "administration",
        "questionnaire_id": "mini",
        "questionnaire_version": "test.1",
        "content_hash": "0123456789abcdef",
        "field_id": "alpha",
        "field_title": "Feld Alpha",
        "question_id": "alpha.one",
        "question_text": "Die erste Aussage.",
        "option_id": "full",
        "answer": "trifft voll zu",
        "points": 3,
        "answered_on": "2025-03-01",
        "session_started_on": "2025-03-01",
        "session_completed_on": None,
        "session_archived_on": None,
        "session_archived_reason": None,
    }
    values.update(changes)
    return ExportRow(**values)  # type: ignore[arg-type]


def parse(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def test_utf8_with_bom_semicolons_and_header() -> None:
    content = build_csv([row(group="Gemeinde Öhringen; Süd")], HEADERS)
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == ";".join(GERMAN)
    assert lines[-1] == ""  # every line ends with CRLF
    header, data = parse(content)
    assert data[header.index("Gruppe")] == "Gemeinde Öhringen; Süd"  # quoted, not split
    assert data[header.index("Punkte")] == "3"
    assert header[:3] == ["Person (Pseudonym)", "Selbstcheck-Nr.", "Durchgang"]


def test_header_only_without_rows() -> None:
    assert parse(build_csv([], HEADERS)) == [GERMAN]


def test_skipped_question_has_empty_option_and_points() -> None:
    _, data = parse(build_csv([row(option_id=None, points=None, group=None)], HEADERS))
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
    _, data = parse(build_csv([row(group=value, perspective=value)], HEADERS))
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
    assert len(first) == 18 and first.startswith("P-")
    assert all(c in "0123456789abcdef" for c in first[2:])


def test_pseudonyms_never_look_like_numbers() -> None:
    """A hex digest like "1234e567…" would become a number in a spreadsheet; "P-…" never."""
    for user_id in range(2000):
        value = pseudonym("salt", user_id)
        with pytest.raises(ValueError):
            float(value)


def test_timestamps_are_coarsened_to_the_day() -> None:
    assert day("2026-12-01T23:59:58+00:00") == "2026-12-01"
    assert day(None) is None


def test_xlsx_has_the_same_table_with_text_never_a_formula(tmp_path: Path) -> None:
    evil = '=HYPERLINK("http://evil.example","klick")'
    content = build_xlsx([row(group=evil), row(option_id=None, points=None)], HEADERS, "Antworten")
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)
    sheet = load_workbook(path)["Antworten"]
    table = [[c.value for c in line] for line in sheet.iter_rows()]
    assert table[0] == GERMAN
    record = dict(zip(GERMAN, table[1], strict=True))
    assert record["Gruppe"] == "'" + evil and sheet.cell(2, 4).data_type == "s"
    assert record["Punkte"] == 3 and record["Aussage"] == "Die erste Aussage."
    assert record["Person (Pseudonym)"] == "P-a1b2c3d4e5f60718"
    assert dict(zip(GERMAN, table[2], strict=True))["Punkte"] in (None, "")
