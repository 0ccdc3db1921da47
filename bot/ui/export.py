"""The answers export as CSV for German spreadsheets: pure, rows in and bytes out.

Excel in German locales opens UTF-8 with a byte-order mark and ';' as separator directly.
Text cells that a spreadsheet would read as a formula (starting with = + - @, a tab or a
carriage return) get a leading apostrophe, so a group named "=HYPERLINK(…)" stays text.
People appear only under a pseudonym: a keyed hash of their Telegram id.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields

from bot.ui.texts import load_texts
from flows.scoring import NOT_APPLICABLE, SKIPPED

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PSEUDONYM_LENGTH = 16


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
    question_id: str
    field_id: str | None
    option_id: str | None
    points: int | None
    answered_at: str
    session_started_at: str
    session_completed_at: str | None
    session_archived_at: str | None
    session_archived_reason: str | None


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ExportRow))


def answer_value(option_id: str | None) -> str:
    """The option id, or the non-answers spelled out ("übersprungen", "entfällt")."""
    if option_id is SKIPPED:
        return load_texts().plain("export_skipped")
    if option_id == NOT_APPLICABLE:
        return load_texts().plain("export_not_applicable")
    return option_id


def pseudonym(salt: str, user_id: int) -> str:
    """HMAC-SHA256 of the Telegram id under the database's secret salt, shortened."""
    digest = hmac.new(salt.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_LENGTH]


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


def build_csv(rows: Iterable[ExportRow]) -> bytes:
    """The whole export: header plus one line per row, UTF-8 with BOM, ';'-separated."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([cell(value) for value in astuple(row)])
    return buffer.getvalue().encode("utf-8-sig")
