"""What every repository stands on: the shared connection and its one write transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import TypeVar

from bot.store.database import Database, Row

T = TypeVar("T")


class Repository:
    """The SQL of one aggregate; `Storage` combines them over one connection."""

    _db: Database

    def transaction(self) -> AbstractAsyncContextManager[Database]:
        raise NotImplementedError  # provided by Storage, which owns the connection

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # provided by Storage, which owns the connection

    async def write_keeping_cache(self, work: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError  # provided by Storage, which owns the connection


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def one_row(row: Row | None) -> Row:
    """A row an aggregate query always returns."""
    assert row is not None
    return row
