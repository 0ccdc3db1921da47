"""Running the real bot against the local Bot API server, in-process or as a subprocess.

In-process runs are fast and let tests control the clock; the subprocess runs the exact
`python -m bot` an operator starts, so it can be killed with SIGKILL and restarted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli.config import Settings, load_settings
from tests.telegram_server import BotApiServer, SimulatedUser

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-token-for-the-local-bot-api-server"
# On Telegram the privacy notice must name who is responsible (the bot refuses to start without).
PRIVACY = {
    "PRIVACY_CONTROLLER": "Stadt Musterstadt, Rathausplatz 1, 12345 Musterstadt",
    "PRIVACY_CONTACT": "datenschutz@musterstadt.example",
}


def free_port() -> int:
    """A port nothing listens on right now (the kernel's choice), for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bot_env(server: BotApiServer, database: Path, **extra: str) -> dict[str, str]:
    return {
        "BOT_TOKEN": TOKEN,
        **PRIVACY,
        "TELEGRAM_BASE_URL": f"http://127.0.0.1:{server.port}",
        "DATABASE_PATH": str(database),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)


async def wait_until_polling(server: BotApiServer, since: int = 0, timeout: float = 20.0) -> None:
    """The bot is ready once it has asked for updates (after `since` earlier calls)."""
    await wait_for(lambda: len(server.calls("getUpdates")) > since, timeout, "the bot to poll")


@dataclass
class InProcessBot:
    server: BotApiServer
    settings: Settings
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    clock: Callable[[], datetime] | None = None  # replaces the wall clock of the service

    async def start(self) -> None:
        from bot.telegram.app import serve

        self.stop = asyncio.Event()
        since = len(self.server.calls("getUpdates"))
        self.task = asyncio.create_task(serve(self.settings, self.stop, clock=self.clock))
        done, _ = await asyncio.wait(
            {self.task, asyncio.create_task(wait_until_polling(self.server, since))},
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self.task in done:
            self.task.result()  # start-up failed: raise its error here

    async def shutdown(self) -> None:
        if self.task is not None:
            self.stop.set()
            await asyncio.wait_for(self.task, 20)
            self.task = None

    async def restart(self) -> None:
        await self.shutdown()
        await self.start()

    def user(
        self, user_id: int, first_name: str = "Test", username: str | None = None
    ) -> SimulatedUser:
        return SimulatedUser(self.server, user_id, first_name=first_name, username=username)


@asynccontextmanager
async def running_bot(
    server: BotApiServer, database: Path, **env: str
) -> AsyncIterator[InProcessBot]:
    bot = InProcessBot(server, load_settings(bot_env(server, database, **env)))
    await bot.start()
    try:
        yield bot
    finally:
        await bot.shutdown()


@dataclass
class BotProcess:
    """`python -m bot` in a subprocess, as an operator would run it."""

    server: BotApiServer
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def spawn(self) -> None:
        """Start the process, its output in `log` (or nowhere), without waiting for it."""
        env = {**os.environ, **self.env}
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=output, stderr=output
        )

    async def start(self) -> None:
        since = len(self.server.calls("getUpdates"))
        self.spawn()
        await wait_until_polling(self.server, since)

    async def start_webhook(self) -> None:
        """Webhook mode never polls: it is up once it has set its webhook."""
        self.spawn()
        await wait_for(lambda: bool(self.server.webhook.get("url")), what="setWebhook")

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, like a crash or a pulled plug on the process."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    async def terminate(self) -> int:
        """SIGTERM, then the exit code. Waits in a thread: the local Bot API server runs in this
        event loop and must go on answering the bot's last calls while it shuts down (blocking
        here held its pending long poll until the bot's own HTTP timeout, 5 s)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(self.process.wait, 20)
        self.process = None
        return code


async def log_of_a_run(
    server: BotApiServer, env: dict[str, str], log_file: Path, conversation: Callable[[], Any]
) -> str:
    """`python -m bot` (polling) for one conversation, ended by SIGTERM: its log's text."""
    bot = BotProcess(server, env, log=log_file)
    await bot.start()
    try:
        await conversation()
    finally:
        assert await bot.terminate() == 0
    return log_file.read_text(errors="replace")
