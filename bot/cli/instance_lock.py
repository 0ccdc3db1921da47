"""One bot process per database: an exclusive lock on a file next to the database.

Why: two processes with the same database (and so the same token) both poll Telegram, get
`Conflict` errors and may handle one update twice. The lock is `flock` on
`<database>.lock`: the kernel drops it when the process ends in any way, kill -9 included, so
a stale lock file never blocks a restart. (It is a separate file because closing any
descriptor of the database file itself would drop SQLite's own POSIX locks.) The support
tools (`python -m bot admin …`) do not take it: they may run beside the bot.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from bot.store.startup_checks import StartupError, database_problem


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class InstanceLock:
    """`with InstanceLock(database):` holds the lock, or raises `StartupError` at once."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = lock_path(database)
        self._fd: int | None = None

    def __enter__(self) -> InstanceLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise database_problem(self.database, error) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StartupError(
                f"another bot process (pid {holder}) is already running on the database "
                f"{self.database}; stop it first, or give this one its own "
                "DATABASE_PATH (and its own BOT_TOKEN)"
            ) from None
        # The holder's pid, so the refusal can name the process an operator has to stop.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            # Closing releases the lock; the file stays (removing it would race a new holder).
            os.close(self._fd)
            self._fd = None
