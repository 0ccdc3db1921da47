"""What every repository stands on: the shared connection and its one write transaction."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import aiosqlite


class Repository:
    """The SQL of one aggregate; `Storage` combines them over one connection."""

    _db: aiosqlite.Connection

    def transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        raise NotImplementedError  # provided by Storage, which owns the connection


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def one_row(row: aiosqlite.Row | None) -> aiosqlite.Row:
    """A row an aggregate query always returns."""
    assert row is not None
    return row
