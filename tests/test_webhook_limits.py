"""Issue 10, "Webhook: Tornado reads bodies up to 100 MB before the secret is checked".

The real `python -m bot` in webhook mode on 127.0.0.1. Parallel requests that announce large
bodies (without the secret) must be refused from their headers, before their bodies are read,
so the bot's peak memory does not grow; a genuine update is still handled afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from bot.telegram.webhook_guard import MAX_BODY_BYTES
from tests.harness import BotProcess, free_port
from tests.telegram_server import BotApiServer, SimulatedUser
from tests.test_e2e_webhook import webhook_env

BODY_BYTES = 30 * 1024 * 1024
PARALLEL = 3


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def oversized_post(port: int, path: str) -> tuple[str, int]:
    """Announce a 30 MB body, wait for an early answer, then try to send the body.

    Returns the status line the bot answered with and how many body bytes it accepted
    before it closed the connection.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {BODY_BYTES}\r\n\r\n".encode()
    )
    await writer.drain()
    status = ""
    with contextlib.suppress(TimeoutError):
        status = (await asyncio.wait_for(reader.readline(), 2.0)).decode().strip()
    sent = 0
    chunk = b"x" * (1024 * 1024)
    try:
        while sent < BODY_BYTES:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 10)
            sent += len(chunk)
        if not status:
            status = (await asyncio.wait_for(reader.readline(), 20)).decode().strip()
    except (ConnectionError, TimeoutError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return status, sent


async def test_webhook_refuses_large_bodies_before_reading_them(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    port = free_port()
    env = webhook_env(server, database, port, LOG_LEVEL="INFO")
    log_file = tmp_path / "bot.log"
    bot = BotProcess(server, env, log=log_file)
    try:
        await bot.start_webhook()
        process = bot.process
        assert process is not None
        await asyncio.sleep(0.3)
        before = peak_rss_mib(process.pid)
        results = await asyncio.gather(*(oversized_post(port, "telegram") for _ in range(PARALLEL)))
        grown = peak_rss_mib(process.pid) - before

        person = SimulatedUser(server, 802)
        await person.send_command("/start")
        welcome = await person.wait_for_message(lambda m: "Willkommen" in m.visible_text)
        assert welcome is not None
    finally:
        code = await bot.terminate()
    log = log_file.read_text(errors="replace")
    for status, sent in results:
        assert status == "HTTP/1.1 400 Bad Request", (status, sent)
        assert sent < BODY_BYTES, sent  # the connection closed before the body was through
    assert grown < 20, f"peak RSS grew by {grown:.0f} MiB"
    assert code == 0
    assert "Traceback" not in log and " ERROR " not in log, log
    assert MAX_BODY_BYTES <= 4 * 1024 * 1024
