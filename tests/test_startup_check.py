"""Issue 15: the start-up check is proportionate to the file, and still finds damage.

A small file is checked whole (`quick_check`, see tests/test_startup_failures.py). Above
`FULL_CHECK_BYTES` (here lowered, so the test needs no 64 MiB file) every table but the
answers is checked: damage there still stops start-up with the same one line, while the
answers' pages are not read at start-up.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.store import startup_checks
from bot.store.startup_checks import StartupError
from bot.store.storage import Storage


async def database_with(path: Path, table: str, rows: int) -> None:
    storage = await Storage.open(path)
    await storage.close()
    with closing(sqlite3.connect(path)) as db:
        if table == "audit_log":
            db.executemany(
                "INSERT INTO audit_log (at, who, action, target) VALUES ('t', 'cli', 'stats', ?)",
                [(f"person {i:06d}" * 4,) for i in range(rows)],
            )
        else:
            db.execute("INSERT INTO users VALUES (1, 1, NULL, 'A', 't', 't', NULL)")
            db.execute("INSERT INTO questionnaire_versions VALUES ('h', 'q', '1', 'src', 't')")
            db.execute(
                "INSERT INTO sessions (id, user_id, content_hash, screen, started_at, updated_at)"
                " VALUES (1, 1, 'h', 'question', 't', 't')"
            )
            db.executemany(
                "INSERT INTO answers VALUES (1, ?, 'full', 't')",
                [(f"question-{i:06d}" * 3,) for i in range(rows)],
            )
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def damage_middle(path: Path) -> None:
    """Garbage in the middle of the file: inside the only large table's b-tree."""
    pages = path.stat().st_size // 4096
    with path.open("r+b") as raw:
        raw.seek(4096 * (pages // 2) + 100)
        raw.write(b"\xff" * 2000)


async def test_a_large_file_is_checked_table_by_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(startup_checks, "FULL_CHECK_BYTES", 4096)
    damaged = tmp_path / "audit.sqlite3"
    await database_with(damaged, "audit_log", 3000)
    damage_middle(damaged)
    with pytest.raises(StartupError, match=r"is damaged \(quick_check: .*backup"):
        await Storage.open(damaged)

    # Damage among the answers is left to SQLite's own reading: start-up goes on.
    bulk = tmp_path / "answers.sqlite3"
    await database_with(bulk, "answers", 3000)
    damage_middle(bulk)
    storage = await Storage.open(bulk)
    await storage.close()
    monkeypatch.setattr(startup_checks, "FULL_CHECK_BYTES", 64 * 2**20)
    with pytest.raises(StartupError, match="quick_check"):  # a small file is checked whole
        await Storage.open(bulk)
