"""Issue 10, "A start-up failure hangs the process": every refusal ends the real process.

`python -m bot` and `python -m bot admin stats` on a corrupt, damaged, unwritable or too new
database used to print a traceback and then run forever (the aiosqlite thread of the
unclosed connection kept the interpreter alive). Each case must end within seconds, non-zero,
with one line saying what is wrong and what to do, and leave the file as it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store.storage import MIGRATIONS, Storage
from tests.harness import PRIVACY, TOKEN
from tests.process import Exited, run_to_exit
from tests.stored import claim_schema_version, fill_audit_log, schema_version

# Nothing listens here: every case must stop before the bot would talk to Telegram.
NO_TELEGRAM = "http://127.0.0.1:9"
COMMANDS = [pytest.param((), id="bot"), pytest.param(("admin", "stats"), id="admin-stats")]


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder whose read-only parts are made writable again for pytest's clean-up."""
    yield tmp_path
    for inner in [tmp_path, *tmp_path.rglob("*")]:
        inner.chmod(0o777 if inner.is_dir() else 0o666)


def env_for(database: Path) -> dict[str, str]:
    return {
        "BOT_TOKEN": TOKEN,
        **PRIVACY,
        "TELEGRAM_BASE_URL": NO_TELEGRAM,
        "DATABASE_PATH": str(database),
        "LOG_LEVEL": "WARNING",
    }


async def make_database(path: Path, audit_rows: int = 0) -> None:
    storage = await Storage.open(path)
    await storage.close()
    fill_audit_log(path, audit_rows)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_line_refusal(result: Exited, *words: str) -> None:
    assert result.code != 0, result
    assert result.seconds < 10, result
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.lines) == 1, result.stderr
    line = result.lines[0]
    assert line.startswith("Start-up error: "), line
    for word in words:
        assert word in line, line


@pytest.mark.parametrize("command", COMMANDS)
async def test_start_up_failure_hangs_the_process_corrupt_database_file(
    folder: Path, command: tuple[str, ...]
) -> None:
    database = folder / "selbstcheck.sqlite3"
    database.write_bytes(os.urandom(8192))
    before = digest(database)
    result = await run_to_exit(env_for(database), *command)
    assert_one_line_refusal(result, str(database), "damaged", "backup")
    assert digest(database) == before


@pytest.mark.parametrize("command", COMMANDS)
async def test_start_up_failure_hangs_the_process_damaged_pages_found_by_quick_check(
    folder: Path, command: tuple[str, ...]
) -> None:
    database = folder / "selbstcheck.sqlite3"
    await make_database(database, audit_rows=3000)
    pages = database.stat().st_size // 4096
    with database.open("r+b") as raw:  # garbage in the middle of the audit log's b-tree
        raw.seek(4096 * (pages // 2) + 100)
        raw.write(b"\xff" * 2000)
    before = digest(database)
    result = await run_to_exit(env_for(database), *command)
    assert_one_line_refusal(result, str(database), "damaged", "quick_check", "backup")
    assert digest(database) == before


@pytest.mark.parametrize("command", COMMANDS)
async def test_start_up_failure_refuses_a_schema_newer_than_the_code(
    folder: Path, command: tuple[str, ...]
) -> None:
    database = folder / "selbstcheck.sqlite3"
    await make_database(database)
    newer = len(MIGRATIONS) + 1
    claim_schema_version(database, newer)
    result = await run_to_exit(env_for(database), *command)
    assert_one_line_refusal(result, f"schema version {newer}", f"up to {len(MIGRATIONS)}")
    assert schema_version(database) == newer


def make_read_only(path: Path) -> None:
    path.chmod(0o555 if path.is_dir() else 0o444)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("existing", [True, False], ids=["with-file", "empty"])
async def test_start_up_failure_hangs_the_process_read_only_directory(
    folder: Path, command: tuple[str, ...], existing: bool
) -> None:
    data = folder / "data"
    data.mkdir()
    database = data / "selbstcheck.sqlite3"
    if existing:
        await make_database(database)
    elif command:
        pytest.skip("admin tools refuse a missing database before opening it")
    make_read_only(data)
    result = await run_to_exit(env_for(database), *command, obey_file_modes=True)
    assert_one_line_refusal(result, str(database), "cannot be written", "write access")
    assert sorted(p.name for p in data.iterdir()) == (["selbstcheck.sqlite3"] if existing else [])


@pytest.mark.parametrize("command", COMMANDS)
async def test_start_up_failure_hangs_the_process_read_only_file(
    folder: Path, command: tuple[str, ...]
) -> None:
    database = folder / "selbstcheck.sqlite3"
    await make_database(database, audit_rows=10)
    folder.chmod(0o777)
    make_read_only(database)
    before = digest(database)
    result = await run_to_exit(env_for(database), *command, obey_file_modes=True)
    assert_one_line_refusal(result, str(database), "cannot be written", "write access")
    assert digest(database) == before


async def test_a_healthy_database_still_starts_the_admin_tools(folder: Path) -> None:
    """The checks refuse only what is wrong: a fresh database passes them."""
    database = folder / "selbstcheck.sqlite3"
    await make_database(database)
    result = await run_to_exit(env_for(database), "admin", "stats")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("people: 0"), result.stdout
    await asyncio.sleep(0)
