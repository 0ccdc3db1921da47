"""One person's updates are handled one at a time, in order; different people run in parallel.

The lock is held from reading the session until the reply has reached Telegram, so an older
reply can never overtake a newer one (and overwrite the newer question on screen). It is
re-entrant within one asyncio task, because the update processor takes it first and the
service, called inside, takes it again.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class _TaskLock:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner, self._depth = task, 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


class ChatLocks:
    """Re-entrant per-chat locks that disappear when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[int, _TaskLock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = _TaskLock()
            self._locks[chat_id] = lock
        await lock.acquire()
        try:
            yield
        finally:
            lock.release()


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """python-telegram-bot's concurrency hook: parallel across chats, sequential within one."""

    def __init__(self, locks: ChatLocks, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self.locks = locks

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self.locks.hold(chat.id):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up: locks are created on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: unused locks are garbage-collected."""
