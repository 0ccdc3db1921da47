"""The answers export for German spreadsheets, as CSV and XLSX: pure, rows in and bytes out.

Excel in German locales opens UTF-8 with a byte-order mark and ';' as separator directly.
Text cells that a spreadsheet would read as a formula (starting with = + - @, a tab or a
carriage return) get a leading apostrophe, so a group named "=HYPERLINK(…)" stays text.
People appear only under a pseudonym: a keyed hash of their Telegram id, with a letter in
front so no spreadsheet turns it into a number ("1e5…" would become 100000). Timestamps are
coarsened to the day: a per-second time joined with a log's chat ids would re-identify people.
Column headers are German (`export_columns` in `bot/locale/de.yaml`); next to every id stand
the field title, the question text and the answer in words ("übersprungen", "entfällt").
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, fields

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PSEUDONYM_LENGTH = 16
PSEUDONYM_PREFIX = "P-"


@dataclass(frozen=True)
class ExportRow:
    """One answered or skipped question of one session; the field order is the column order."""

    person: str
    session_id: int
    attempt: int
    group: str | None
    group_round: int | None
    perspective: str | None
    questionnaire_id: str
    questionnaire_version: str
    content_hash: str
    field_id: str | None
    field_title: str | None
    question_id: str
    question_text: str | None
    option_id: str | None
    answer: str
    points: int | None
    answered_on: str
    session_started_on: str
    session_completed_on: str | None
    session_archived_on: str | None
    session_archived_reason: str | None


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ExportRow))


def pseudonym(salt: str, user_id: int) -> str:
    """HMAC-SHA256 of the Telegram id under the database's secret salt, shortened, "P-" first."""
    digest = hmac.new(salt.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_LENGTH]


def day(timestamp: str | None) -> str | None:
    """An ISO timestamp (UTC) coarsened to its day, "2026-12-01"."""
    return timestamp[:10] if timestamp else None


def neutralise(value: str) -> str:
    """Text that a spreadsheet would evaluate becomes plain text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(value: object) -> object:
    """None becomes an empty cell; numbers stay numbers; every text is neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    return neutralise(str(value))


def headers(columns: Mapping[str, str]) -> list[str]:
    """The German header of every column, in column order."""
    return [columns[name] for name in COLUMNS]


def build_csv(rows: Iterable[ExportRow], columns: Mapping[str, str]) -> bytes:
    """The whole export: header plus one line per row, UTF-8 with BOM, ';'-separated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(headers(columns))
    for row in rows:
        writer.writerow([cell(value) for value in astuple(row)])
    return buffer.getvalue().encode("utf-8-sig")


def build_xlsx(rows: Iterable[ExportRow], columns: Mapping[str, str], title: str) -> bytes:
    """The same table as an Excel workbook; text cells are stored as text, never as formulas."""
    # Imported here: openpyxl (with numpy) is a fifth of the bot's start-up and memory, and
    # only an admin's XLSX export needs it.
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    sheet.append(headers(columns))
    for row in rows:
        sheet.append([cell(value) for value in astuple(row)])
    for line in sheet.iter_rows(min_row=1):
        for item in line:
            if isinstance(item.value, str):
                item.data_type = "s"  # openpyxl would treat "=…" as a formula otherwise
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
