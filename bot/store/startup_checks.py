"""Start-up refusals: what can stop the bot before it serves anyone, as one line each.

Why: an operator who starts `python -m bot` (or `python -m bot admin …`) on a damaged or
unwritable database, with a rejected token or without a network must see at once what is
wrong and what to do, and the process must end, not hang after a traceback. Every such
problem becomes a `StartupError` whose message is that one line; the entry points print it
and exit with `EXIT_STARTUP`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from bot.store.base import one_row
from bot.store.database import Database

EXIT_STARTUP = 1
T = TypeVar("T")
log = logging.getLogger(__name__)


class StartupError(Exception):
    """The bot cannot start; the message is one line for the operator (what, and what to do)."""


def database_problem(path: Path | str, error: BaseException) -> StartupError:
    """Turn an error met while opening, checking or migrating the database into one line."""
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = detail.lower()
    if isinstance(error, PermissionError) or "readonly" in text or "read-only" in text:
        return StartupError(
            f"the database {path} cannot be written ({detail}); give the bot's user write "
            "access to the file and its folder (SQLite also writes -wal and -shm files there)"
        )
    if "unable to open" in text or isinstance(error, OSError):
        return StartupError(
            f"the database {path} cannot be opened ({detail}); check that DATABASE_PATH "
            "is right and that its folder exists and is writable by the bot's user"
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StartupError(
            f"the database {path} is damaged ({detail}); restore it from a backup, or move "
            "it away so the bot starts with a fresh one"
        )
    return StartupError(f"the database {path} cannot be used ({detail})")


def check_writable(path: Path) -> None:
    """Refuse a database the bot could read but not write.

    Why: SQLite silently opens a read-only file read-only; the bot would then start and fail
    on the first answer of the first person, after it has told them it is ready.
    """
    folder = path.parent
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise database_problem(path, PermissionError(f"no write access to {path}"))
    if folder.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise database_problem(path, PermissionError(f"no write access to the folder {folder}"))


# Up to this size the whole file is checked at every start (a few milliseconds per MiB).
FULL_CHECK_BYTES = 64 * 2**20
# The bulk of a grown database; checking its pages at every start would read the whole file.
BULK_TABLES = frozenset({"answers"})


async def check_database(db: Database, path: Path | str, known_version: int) -> None:
    """Refuse a damaged database and one written by a newer version of the bot.

    Proportionate to the file: `quick_check` reads every page once (it skips the index
    cross-checks of `integrity_check`), which for a small file takes milliseconds; for a file
    over `FULL_CHECK_BYTES` it would take seconds (a 1.5 GB file: 4 s from the page cache,
    minutes from a cold disk) at every start. There, header and schema are read and every
    table except the answers (`BULK_TABLES`) is checked with its indexes; a damaged page of
    the answers is still refused by SQLite ("malformed") when it is read. A schema newer
    than the migrations this code has would be misread (columns it does not know), so it is
    refused.
    """
    async with db.execute("PRAGMA page_count") as cursor:  # reads the header: "not a database"
        (pages,) = one_row(await cursor.fetchone())
    async with db.execute("PRAGMA page_size") as cursor:
        (page_size,) = one_row(await cursor.fetchone())
    if pages * page_size <= FULL_CHECK_BYTES:
        checks = ["PRAGMA quick_check"]
    else:
        async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = [row[0] for row in await cursor.fetchall()]
        checks = [f'PRAGMA quick_check("{name}")' for name in tables if name not in BULK_TABLES]
    problems: list[str] = []
    for check in checks:
        async with db.execute(check) as cursor:
            problems += [row[0] for row in await cursor.fetchall() if row[0] != "ok"]
    if problems:
        # The report is one text per problem, each possibly several lines under a heading.
        first = next(
            (line for text in problems for line in str(text).splitlines() if "***" not in line),
            str(problems[0]),
        )
        raise StartupError(
            f"the database {path} is damaged (quick_check: {first}); restore it from "
            "a backup, or move it away so the bot starts with a fresh one"
        )
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    version = row[0] if row is not None else 0
    if version > known_version:
        raise StartupError(
            f"the database {path} has schema version {version}, but this version of the bot "
            f"knows only up to {known_version}; run the newer version of the bot that wrote "
            "it, or restore a backup made before the upgrade"
        )


async def open_checked(
    path: Path | str, opened: Database, prepare: Callable[[], Awaitable[T]]
) -> T:
    """Run `prepare` (pragmas, checks, migrations) on a fresh connection; close it on failure.

    Why: a connection left open keeps its database thread (and the file's locks) until
    the interpreter ends; closed here, the process ends right after its one line.
    """
    try:
        return await prepare()
    except BaseException as error:
        await opened.close()
        if isinstance(error, sqlite3.Error | OSError):
            raise database_problem(path, error) from error
        raise


async def retry_network(
    attempt: Callable[[], Awaitable[T]],
    give_up_after: float,
    stop: asyncio.Event,
    first_delay: float = 1.0,
) -> T | None:
    """Call `attempt` until Telegram is reached, with doubling pauses, for at most
    `give_up_after` seconds; None if `stop` was set while waiting.

    Why: after a reboot the network often comes up a little after the bot; a short outage
    should not need a person to restart it, and a lasting one must end with one line.
    """
    from telegram.error import InvalidToken, NetworkError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    delay = first_delay
    while True:
        try:
            return await attempt()
        except InvalidToken as error:
            raise StartupError(
                "Telegram rejected BOT_TOKEN; copy the token again from @BotFather (/mybots → "
                "API Token) or create a new one with /revoke"
            ) from error
        except NetworkError as error:
            remaining = deadline - loop.time()
            if stop.is_set() or remaining <= 0:
                raise StartupError(
                    f"Telegram cannot be reached ({error.message}); check the network, "
                    "TELEGRAM_BASE_URL and HTTPS_PROXY, then start the bot again"
                ) from error
            pause = min(delay, remaining)
            log.warning("Telegram cannot be reached (%s); trying again in %.0f s", error, pause)
            try:
                await asyncio.wait_for(stop.wait(), pause)
                return None
            except TimeoutError:
                delay *= 2
