"""Load generation: a timed fake server, bots in subprocesses, and simulated users.

The load generator and the fake Bot API server share this process's event loop; the bot under
test always runs in its own process (`python -m bot`, with or without `TELEGRAM_RATE_LIMIT=0`,
or `bench.echo_bot`), so its event loop and CPU time are its own and its memory can be read from
/proc.
"""

from __future__ import annotations

import asyncio
import compileall
import functools
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness import TOKEN
from tests.telegram_server import BotApiServer
from tests.telegram_server.models import ChatState, StoredMessage

ROOT = Path(__file__).resolve().parent.parent
START = {"text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}


class TimedServer(BotApiServer):
    """The fake server, plus the moment each chat was shown a new or edited bot message.

    Why: latency ends when the next question is *shown*, i.e. when the server applied the
    edit, not when the load generator got around to noticing; and waking only the chat's own
    waiter keeps 10 000 waiting users cheap.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shown: dict[int, list[float]] = defaultdict(list)
        self._waiters: dict[int, asyncio.Future[None]] = {}

    def _store(self, chat: ChatState, sender: dict[str, Any], **fields: Any) -> StoredMessage:
        message = super()._store(chat, sender, **fields)
        if message.from_bot:
            self._mark_shown(chat.id)
        return message

    def _apply_edit(self, chat: ChatState, message: StoredMessage, **fields: Any) -> Any:
        result = super()._apply_edit(chat, message, **fields)
        self._mark_shown(chat.id)
        return result

    def _mark_shown(self, chat_id: int) -> None:
        self.shown[chat_id].append(time.monotonic())
        waiter = self._waiters.pop(chat_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_shown(self, chat_id: int, seen: int, timeout: float) -> bool:
        """Until the chat got more than `seen` bot messages or edits; False on timeout."""
        deadline = time.monotonic() + timeout
        while len(self.shown[chat_id]) <= seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            waiter = self._waiters.get(chat_id)
            if waiter is None or waiter.done():
                waiter = asyncio.get_running_loop().create_future()
                self._waiters[chat_id] = waiter
            try:
                await asyncio.wait_for(asyncio.shield(waiter), remaining)
            except TimeoutError:
                return False
        return True

    def keyboard_message(self, chat_id: int) -> StoredMessage | None:
        """The latest bot message in the chat that carries inline buttons."""
        for message in reversed(self.chat(chat_id).messages.values()):
            if message.from_bot and not message.deleted and message.inline_buttons:
                return message
        return None


# -- the bot under test, in a subprocess -------------------------------------------------------


@functools.cache
def compile_sources() -> None:
    """Byte-compile both bots' own code (`bot/`, `flows/`, `bench/`) once per benchmark.

    Why: the installed libraries were byte-compiled by pip, our editable package is not, and
    with PYTHONDONTWRITEBYTECODE (set on this machine, and in the Docker image) every start
    would compile our 13 000 lines anew: about 150 ms of the bot's start-up that the echo bot
    does not pay and that no operator pays either (the Dockerfile runs `compileall`, and any
    other start writes the bytecode once). compileall writes bytecode whatever that variable
    says and only where it is stale.
    """
    for folder in ("bot", "flows", "bench"):
        compileall.compile_dir(ROOT / folder, quiet=1)


@dataclass
class BotUnderTest:
    """One bot process: start-up time, CPU time and peak memory come from the OS."""

    label: str
    module: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    startup: float | None = None
    peak_rss_kib: int | None = None
    rss_kib: int | None = None
    cpu_seconds: float = 0.0

    async def start(self, server: BotApiServer, timeout: float = 60.0) -> None:
        compile_sources()
        since = len(server.calls("getUpdates"))
        env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "PRIVACY_CONTROLLER": "Benchmark",
            "PRIVACY_CONTACT": "benchmark@example.org",
            "TELEGRAM_BASE_URL": f"http://127.0.0.1:{server.port}",
            "LOG_LEVEL": "WARNING",
            **self.env,
        }
        output = self.log.open("ab")
        began = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module], cwd=ROOT, env=env, stdout=output, stderr=output
        )
        output.close()
        deadline = began + timeout
        while True:
            polls = server.calls("getUpdates")
            if len(polls) > since:
                self.startup = polls[since].time - began
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited at start-up:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.label} did not poll within {timeout}s")
            await asyncio.sleep(0.005)

    def sample(self) -> None:
        """Read peak and current RSS and CPU time of the running process."""
        assert self.process is not None
        pid = self.process.pid
        status = Path(f"/proc/{pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_rss_kib = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                self.rss_kib = int(line.split()[1])
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        self.cpu_seconds = (int(fields[11]) + int(fields[12])) / ticks

    async def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM and wait without blocking the loop (the bot still talks to our server)."""
        if self.process is None:
            return
        self.sample()
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# -- simulated users ---------------------------------------------------------------------------


@dataclass
class Run:
    """What one load run measured."""

    label: str
    updates: int = 0
    errors: int = 0
    answer_latencies: list[float] = field(default_factory=list)
    nav_latencies: list[float] = field(default_factory=list)
    first_sent: float | None = None
    last_shown: float | None = None

    def sent(self) -> float:
        now = time.monotonic()
        self.updates += 1
        if self.first_sent is None:
            self.first_sent = now
        return now

    def shown(self, at: float) -> None:
        self.last_shown = at if self.last_shown is None else max(self.last_shown, at)

    @property
    def wall(self) -> float:
        if self.first_sent is None or self.last_shown is None:
            return float("nan")
        return self.last_shown - self.first_sent

    @property
    def throughput(self) -> float:
        return self.updates / self.wall if self.wall > 0 else float("nan")

    @property
    def latencies(self) -> list[float]:
        return self.answer_latencies + self.nav_latencies


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


Chooser = Callable[[list[dict[str, Any]], random.Random], tuple[str, str] | None]


def choose_in_bot(buttons: list[dict[str, Any]], rng: random.Random) -> tuple[str, str] | None:
    """An answer option if a question is shown; else "Los geht's"/"Weitermachen"/next field."""
    options = [b["callback_data"] for b in buttons if b.get("callback_data", "").startswith("a:")]
    if options:
        return rng.choice(options[:4]), "answer"
    for button in buttons:
        data = button.get("callback_data", "")
        # "t:0": the first municipality type, chosen once on the welcome.
        if data in ("c", "t:0") or data.startswith("f:"):
            return data, "nav"
    return None


def choose_in_echo(buttons: list[dict[str, Any]], rng: random.Random) -> tuple[str, str] | None:
    options = [b["callback_data"] for b in buttons if b.get("callback_data", "").startswith("a:")]
    return (rng.choice(options), "answer") if options else None


def press_plan(field_sizes: list[int], answers: int) -> list[str]:
    """The presses a person makes to answer `answers` questions from the start of the check:
    the municipality type, "Los geht's", then the questions, with "Weiter: <next field>" after
    each finished field."""
    plan = ["nav", "nav"]
    done = 0
    for size in field_sizes:
        for _ in range(size):
            plan.append("answer")
            done += 1
            if done == answers:
                return plan
        plan.append("nav")
    return plan


def register(server: TimedServer, user_id: int) -> None:
    server.register_user(
        {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "de"}
    )


async def scripted_user(
    server: TimedServer,
    user_id: int,
    plan: list[str],
    choose: Chooser,
    run: Run,
    deadline: float,
    wait: float,
    schedule: Callable[[int], float] | None = None,
) -> None:
    """/start, then one press per plan step, each after the previous press was shown and,
    with a `schedule`, not before `schedule(step)` (a time.monotonic() moment)."""
    rng = random.Random(user_id)
    register(server, user_id)
    seen = len(server.shown[user_id])
    run.sent()
    server.add_user_message(user_id, START)
    if not await server.wait_shown(user_id, seen, min(wait, deadline - time.monotonic())):
        run.errors += 1
        return
    run.shown(server.shown[user_id][seen])
    for step, kind in enumerate(plan):
        if schedule is not None:
            await asyncio.sleep(max(0.0, schedule(step) - time.monotonic()))
        if time.monotonic() > deadline:
            run.errors += 1
            return
        message = server.keyboard_message(user_id)
        choice = choose(message.inline_buttons, rng) if message else None
        if message is None or choice is None:
            run.errors += 1
            return
        data, shown_kind = choice
        seen = len(server.shown[user_id])
        sent = run.sent()
        server.add_callback_query(user_id, message.message_id, data)
        if not await server.wait_shown(user_id, seen, min(wait, deadline - time.monotonic())):
            run.errors += 1
            return
        at = server.shown[user_id][seen]
        run.shown(at)
        kind = shown_kind if choose is choose_in_bot else kind
        (run.answer_latencies if kind == "answer" else run.nav_latencies).append(at - sent)


async def load(
    server: TimedServer,
    label: str,
    users: range,
    plan: list[str],
    choose: Chooser,
    window: int,
    time_limit: float,
    wait: float = 30.0,
) -> Run:
    """All `users` follow `plan`, at most `window` of them at a time."""
    run = Run(label)
    deadline = time.monotonic() + time_limit
    gate = asyncio.Semaphore(window)

    async def one(user_id: int) -> None:
        async with gate:
            if time.monotonic() < deadline:
                await scripted_user(server, user_id, plan, choose, run, deadline, wait)
            else:
                run.errors += 1

    await asyncio.gather(*(one(user_id) for user_id in users))
    return run


async def paced_load(
    server: TimedServer,
    label: str,
    users: range,
    plan: list[str],
    choose: Chooser,
    rate: float,
    time_limit: float,
    wait: float = 30.0,
) -> Run:
    """An offered load of `rate` presses per second, spread evenly over `users`.

    Each person presses once every len(users)/rate seconds, their phases staggered, so the
    bot sees a steady stream at `rate` rather than bursts (unless it falls behind: a press
    still waits until the previous one was shown). All users say /start first.
    """
    run = Run(label)
    deadline = time.monotonic() + time_limit
    period = len(users) / rate
    begin = time.monotonic() + 1.0  # time for every /start to be answered

    async def one(index: int, user_id: int) -> None:
        phase = begin + index * period / len(users)
        await scripted_user(
            server, user_id, plan, choose, run, deadline, wait, lambda k: phase + k * period
        )

    await asyncio.gather(*(one(i, user_id) for i, user_id in enumerate(users)))
    return run


def prepare_keyboard(server: TimedServer, user_id: int, text: str, data: list[str]) -> int:
    """Put a bot message with buttons into the chat, as if the bot had sent it earlier."""
    register(server, user_id)
    markup = {"inline_keyboard": [[{"text": d, "callback_data": d} for d in data]]}
    sent = server._store_bot_message(server.chat(user_id), text=text, reply_markup=markup)
    return int(sent["message_id"])


async def press_once(
    server: TimedServer,
    label: str,
    presses: dict[int, tuple[int, str]],
    window: int,
    time_limit: float,
    wait: float = 30.0,
) -> Run:
    """Every user presses one button (message id, data) once, at most `window` at a time."""
    run = Run(label)
    deadline = time.monotonic() + time_limit
    gate = asyncio.Semaphore(window)

    async def one(user_id: int, message_id: int, data: str) -> None:
        async with gate:
            if time.monotonic() > deadline:
                run.errors += 1
                return
            seen = len(server.shown[user_id])
            sent = run.sent()
            server.add_callback_query(user_id, message_id, data)
            if not await server.wait_shown(user_id, seen, min(wait, deadline - time.monotonic())):
                run.errors += 1
                return
            at = server.shown[user_id][seen]
            run.shown(at)
            run.nav_latencies.append(at - sent)

    await asyncio.gather(*(one(uid, mid, data) for uid, (mid, data) in presses.items()))
    return run
