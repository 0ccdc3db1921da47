"""Lines typed into the console chat, read so that Ctrl-C always ends the chat.

Why: reading stdin blocks a thread. A thread of asyncio's default executor is waited for when
the event loop closes, so Ctrl-C used to leave the process hanging on a `readline` that never
returns. Here a daemon thread reads (the interpreter does not wait for it) and SIGINT is an
event of the loop, so the chat can say goodbye and close the database like after "q".
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import TextIO


class ConsoleInput:
    """`await next_line()` gives the next line, or None at end of input or after Ctrl-C."""

    def __init__(self, lines: TextIO) -> None:
        self._lines = lines
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self.interrupted = asyncio.Event()
        self._wanted = threading.Semaphore(0)
        threading.Thread(target=self._read, name="console-input", daemon=True).start()

    def _read(self) -> None:
        """One line per request, so nothing typed after the chat ended is swallowed."""
        while True:
            self._wanted.acquire()
            line = self._lines.readline()
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
            if not line:
                return

    async def next_line(self) -> str | None:
        if self.interrupted.is_set():
            return None
        self._wanted.release()
        reading = asyncio.ensure_future(self._queue.get())
        stopping = asyncio.ensure_future(self.interrupted.wait())
        await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not reading.done():
            reading.cancel()
            return None
        return reading.result() or None

    @contextlib.contextmanager
    def ctrl_c_ends_chat(self) -> Iterator[None]:
        """While inside, SIGINT sets `interrupted` instead of raising KeyboardInterrupt."""
        try:
            self._loop.add_signal_handler(signal.SIGINT, self.interrupted.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            yield
            return
        try:
            yield
        finally:
            self._loop.remove_signal_handler(signal.SIGINT)
