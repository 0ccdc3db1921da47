"""Fair concurrency: one chat's updates run in order, one at a time; waiting costs no slot.

python-telegram-bot hands every update to the processor in its own task. Updates of a chat
wait for their turn in that chat's queue (an asyncio lock, which is FIFO) *before* they take
one of the `max_running` slots, so one person sending 300 messages occupies one slot at a time
and everyone else keeps being served. PTB's own semaphore is set high enough never to bind:
the bound that matters is `max_running`, taken only by updates whose turn has come.

This is queueing, not the person's lock: the use cases' per-person lock lives in
`bot.app.locks` and is never held while waiting here.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's semaphore only has to admit every waiting update; what bounds the work is max_running.
ADMITTED = 1_000_000


class FairUpdateProcessor(BaseUpdateProcessor):
    """Parallel across chats, sequential within one, at most `max_running` at work."""

    def __init__(self, max_running: int = 64) -> None:
        super().__init__(ADMITTED)
        self._running = asyncio.Semaphore(max_running)
        self._chats: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._running:
                await coroutine
            return
        turn = self._chats.get(chat.id)
        if turn is None:
            turn = asyncio.Lock()
            self._chats[chat.id] = turn
        async with turn, self._running:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up: queues are created on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: unused queues are garbage-collected."""
