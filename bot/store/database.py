"""The SQLite connection and the one thread that uses it: every call is one hand-off.

Why our own instead of aiosqlite: aiosqlite runs each statement, each fetch and each cursor
close as a separate hand-off to its thread, and offers no public way to run a function of ours
there. Each hand-off wakes the thread and waits for the event loop and the GIL again; one
answer (read the session, read its answers, begin, update, insert, commit) took about eight,
which cost more CPU than the answer itself (see README, Performance). Here:

- `run(work)` runs `work(connection)` in the database thread: a whole transaction, or a read
  of a session with its answers, is one hand-off;
- `execute(sql, parameters)` runs the statement and fetches its first rows in the same
  hand-off (most statements need no second one); larger results are read on in chunks.

The guarantees are those aiosqlite gave: one `sqlite3` connection, created, used and closed
only in its own single thread, in autocommit mode (`isolation_level=None`, so transactions are
exactly the `BEGIN IMMEDIATE … COMMIT` that `Storage` issues); the pragmas (WAL, busy timeout,
synchronous, foreign keys) are set by `Storage.open`. As in aiosqlite, work reaches the thread
through a `queue.SimpleQueue` and results come back with `call_soon_threadsafe`: no lock that
both threads take (a `ThreadPoolExecutor` takes one per call, and on a busy machine the event
loop then waits whenever the database thread is descheduled holding it). The thread is a
daemon: an unclosed connection never keeps the interpreter from exiting.

With LOG_CALLS, every statement is logged (with its parameters) by this module's logger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Generator, Mapping, Sequence
from functools import partial
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

from bot.app.ports import StoreBusy

log = logging.getLogger(__name__)
T = TypeVar("T")
Parameters = Sequence[Any] | Mapping[str, Any]
Row = sqlite3.Row

# Rows fetched together with the statement; a larger result is read on in chunks this size.
CHUNK = 512


class Result:
    """A statement's outcome: rowcount, lastrowid and its rows, fetched ahead in chunks.

    Used like aiosqlite's cursor (`fetchone`, `fetchall`, `async for`, `close`), so a
    repository reads the same either way.
    """

    def __init__(self, database: Database, cursor: sqlite3.Cursor, rows: list[Row]) -> None:
        self._database = database
        self._cursor: sqlite3.Cursor | None = cursor if len(rows) == CHUNK else None
        self._rows = rows
        self.rowcount: int = cursor.rowcount
        self.lastrowid: int | None = cursor.lastrowid
        if self._cursor is None:
            cursor.close()

    async def _more(self) -> bool:
        """Fetch the next chunk; False when the result is exhausted."""
        cursor = self._cursor
        if cursor is None:
            return False
        rows: list[Row] = await self._database._call(cursor.fetchmany, CHUNK)
        self._rows.extend(rows)
        if len(rows) < CHUNK:
            await self.close()
        return bool(rows)

    async def fetchone(self) -> Row | None:
        if not self._rows:
            await self._more()
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[Row]:
        while await self._more():
            pass
        rows, self._rows = self._rows, []
        return rows

    def __aiter__(self) -> AsyncIterator[Row]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Row]:
        while self._rows or await self._more():
            rows, self._rows = self._rows, []
            for row in rows:
                yield row

    async def close(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            await self._database._call(cursor.close)


class Statement:
    """What `Database.execute` returns: await it for the `Result`, or `async with` it to have
    the result closed afterwards (as with aiosqlite)."""

    def __init__(self, database: Database, sql: str, parameters: Parameters) -> None:
        self._database = database
        self._sql = sql
        self._parameters = parameters
        self._result: Result | None = None

    def __await__(self) -> Generator[Any, None, Result]:
        return self._start().__await__()

    async def _start(self) -> Result:
        self._result = await self._database._call(
            self._database._execute_ahead, self._sql, self._parameters
        )
        return self._result

    async def __aenter__(self) -> Result:
        return await self._start()

    async def __aexit__(self, *_: object) -> None:
        if self._result is not None:
            await self._result.close()


Work = tuple["asyncio.Future[Any]", Callable[[], Any]]


class Database:
    """One `sqlite3` connection, used only in its own thread; see the module docstring."""

    def __init__(self) -> None:
        self._queue: SimpleQueue[Work | None] = SimpleQueue()
        self._thread = threading.Thread(target=_serve, args=(self,), name="sqlite", daemon=True)
        self._connection: sqlite3.Connection | None = None
        # Each counter is written by one thread only: handed over (event loop), finished
        # (database thread). Equal means the database thread is waiting for work.
        self._handed = 0
        self.finished = 0
        # SQLite's busy timeout: how long the database thread's work waits for another
        # process's lock, and what the connection has now (`run_here` needs 0; `connect`
        # opens with 0 until `set_busy_timeout`). Switched only when the other side needs
        # it, not twice per piece of work: three PRAGMAs were three of an answer's seven
        # statements.
        self._busy_timeout_ms = 0
        self._timeout_now_ms = 0

    @classmethod
    async def connect(cls, path: Path | str) -> Database:
        """Open the file (sqlite3 creates it if missing) in a thread of its own."""
        database = cls()
        database._thread.start()
        try:
            connection = await database._submit(
                partial(
                    sqlite3.connect,
                    str(path),
                    timeout=0,  # sqlite3's default is 5 s; see `set_busy_timeout`
                    isolation_level=None,
                    check_same_thread=False,
                )
            )
        except BaseException:
            database._queue.put(None)
            raise
        connection.row_factory = sqlite3.Row
        database._connection = connection
        return database

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection

    def _submit(self, function: Callable[[], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._handed += 1
        self._queue.put((future, function))
        return future

    async def set_busy_timeout(self, milliseconds: int) -> None:
        """How long the database thread's work waits for a lock another process holds.

        The only way to set it: `PRAGMA busy_timeout` run directly would go unnoticed here.
        """
        self._busy_timeout_ms = int(milliseconds)
        await self._call(lambda: None)  # the thread applies it before this (empty) work

    def _wait_for_locks(self, milliseconds: int) -> None:
        """Give the connection this busy timeout, if it has another (in whichever thread
        may use the connection at the moment)."""
        connection = self._connection
        if self._timeout_now_ms != milliseconds and connection is not None:
            connection.execute(f"PRAGMA busy_timeout={milliseconds}")
            self._timeout_now_ms = milliseconds

    def run_here(self, work: Callable[[sqlite3.Connection], T]) -> tuple[bool, T | None]:
        """`work(connection)` right here in the event loop's thread, if the database thread
        has nothing in hand (it then waits for work and never touches the connection, and
        nothing can be handed to it before this returns); (False, None) otherwise.

        For the hot path's short, indexed statements: they cost less than the hand-off. It
        never waits: SQLite's busy timeout is 0 meanwhile, and if another process holds the
        lock (`work` must then have changed nothing: a transaction rolls back) the answer is
        (False, None) too, so the caller hands the work to the thread, which waits as usual.
        Checkpoints, the other wait, are the database thread's (see `Storage`).
        """
        if self._handed != self.finished:
            return False, None
        connection = self.connection
        self._wait_for_locks(0)  # stays so until the thread has work again
        try:
            return True, work(connection)
        except (sqlite3.OperationalError, StoreBusy) as error:
            if is_busy(error):
                return False, None
            raise

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return await self._submit(partial(function, *args) if args else function)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` in the database thread, as one hand-off."""
        return await self._call(work, self.connection)

    def execute(self, sql: str, parameters: Parameters = ()) -> Statement:
        return Statement(self, sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Parameters = ()) -> list[Row]:
        return await (await self.execute(sql, parameters)).fetchall()

    def _execute_ahead(self, sql: str, parameters: Parameters) -> Result:
        """In the database thread: run the statement and fetch its first chunk of rows."""
        if log.isEnabledFor(logging.DEBUG):
            log.debug("executing %s with %r", " ".join(sql.split()), parameters)
        cursor = self.connection.execute(sql, parameters)
        return Result(self, cursor, cursor.fetchmany(CHUNK))

    async def set_trace_callback(self, callback: Callable[[str], object] | None) -> None:
        """Every statement's text, as SQLite runs it (the benchmark's query plans)."""
        await self._call(self.connection.set_trace_callback, callback)

    async def backup(self, target: Path, pages: int) -> int:
        """SQLite's online backup into the file `target`, `pages` at a time; returns its pages."""

        def copy(connection: sqlite3.Connection) -> int:
            with sqlite3.connect(str(target)) as copy_connection:
                connection.backup(copy_connection, pages=pages)
                (count,) = copy_connection.execute("PRAGMA page_count").fetchone()
            copy_connection.close()
            return int(count)

        return await self.run(copy)

    async def close(self) -> None:
        """Close the connection in its thread and end the thread; closing twice is harmless."""
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        try:
            await self._submit(connection.close)
        finally:
            self._queue.put(None)


def is_busy(error: BaseException) -> bool:
    """SQLite's "database is locked" / "busy": another connection holds the lock."""
    text = str(error)
    return isinstance(error, StoreBusy) or "locked" in text or "busy" in text


def _serve(database: Database) -> None:
    """The database thread: run each piece of work, hand its outcome to its event loop."""
    while (item := database._queue.get()) is not None:
        future, function = item
        try:
            database._wait_for_locks(database._busy_timeout_ms)
            settle = partial(_succeed, future, function())
        except BaseException as error:
            settle = partial(_fail, future, error)
        database.finished += 1  # done with the connection (only this thread writes it)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            future.get_loop().call_soon_threadsafe(settle)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the caller may have been cancelled meanwhile
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
