"""One person's inputs are handled one at a time; different people run in parallel.

The lock is held from reading the session until delivery has returned, so an older reply can
never overtake a newer one. It is not re-entrant and a task may hold only one person's lock at
a time: taking a second one raises at once instead of waiting. That makes a deadlock between
two people (two admins resetting each other, say) impossible by construction; a use case that
affects someone else does so after releasing its own person's lock.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

_held: contextvars.ContextVar[int | None] = contextvars.ContextVar("person_lock", default=None)


class NestedLock(RuntimeError):
    """A task asked for a person's lock while holding another person's (a would-be deadlock)."""


class PersonLocks:
    """Per-person locks that disappear when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        held = _held.get()
        if held is not None:
            raise NestedLock(f"lock of {user_id} requested while holding the lock of {held}")
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        async with lock:
            token = _held.set(user_id)
            try:
                yield
            finally:
                _held.reset(token)

    def holding(self) -> int | None:
        """The person whose lock the current task holds, if any."""
        return _held.get()
