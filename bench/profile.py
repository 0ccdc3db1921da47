"""`python -m bench.profile`: where one answer's CPU goes, sampled from the real bot process.

The bot (`python -m bot`, limiter off) or the echo bot runs as a subprocess under the
benchmark's light load (10 users answering questions, each press after the last was shown);
py-spy (from the `bench` extra) samples that process from outside for the measured load
only, so the profile is the product's own code path, not a test double. It prints the
functions with the most samples on CPU: "own" counts samples where the function itself ran,
"total" where it was anywhere on the stack.

    .venv/bin/python -m bench.profile [--echo] [--users 10] [--answers 100] [--top 25]

py-spy reads the process's memory (ptrace); where that is not permitted it says so and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import data
from bench.load import BotUnderTest, TimedServer, choose_in_bot, choose_in_echo, load, press_plan


def py_spy() -> str:
    """The py-spy next to this interpreter (the venv's), else one on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is missing: .venv/bin/pip install -q -e '.[bench]'")
    return found


def frame_name(frame: str) -> str:
    """`handle (bot/app/routing.py:212)` → `bot/app/routing.py:handle` (line numbers off)."""
    name, _, where = frame.partition(" (")
    return f"{where.rstrip(')').split(':')[0]}:{name}" if where else name


def summarise(collapsed: Path, top: int) -> str:
    """The top functions by own and by total samples, from py-spy's raw (collapsed) output."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ")]  # py-spy's process label
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for name in set(frames):
            total[name] += count
    if not samples:
        return "no samples (was the process on CPU?)"

    def rows(counter: collections.Counter[str]) -> list[str]:
        return [
            f"| {100 * n / samples:5.1f} % | `{name}` |" for name, n in counter.most_common(top)
        ]

    return "\n".join(
        [
            f"{samples} samples on CPU",
            "",
            "| own | function |",
            "|---|---|",
            *rows(own),
            "",
            "| total | function |",
            "|---|---|",
            *rows(total),
        ]
    )


async def profile(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="selbstcheck-profile-") as tmp:
        workdir = Path(tmp)
        q = await data.create_schema(workdir / "profile.sqlite3")
        plan = press_plan([len(q.field_questions(f.id)) for f in q.fields], args.answers)
        if args.echo:
            env = {"ECHO_RATE_LIMIT": "off"}
            bot = BotUnderTest("echo", "bench.echo_bot", env, workdir / "log")
            choose = choose_in_echo
        else:
            env = {"DATABASE_PATH": str(workdir / "profile.sqlite3"), "TELEGRAM_RATE_LIMIT": "0"}
            bot = BotUnderTest("bot", "bot", env, workdir / "log")
            choose = choose_in_bot
        users = range(data.FIRST_BENCH_USER, data.FIRST_BENCH_USER + args.users)
        warm = range(data.FIRST_BENCH_USER - 1000, data.FIRST_BENCH_USER - 996)
        output = workdir / "stacks.txt"
        async with TimedServer() as server:
            await bot.start(server)
            try:
                await load(server, "warm-up", warm, plan[:6], choose, 4, 30.0)
                assert bot.process is not None
                command = [py_spy(), "record", "--pid", str(bot.process.pid), "--format", "raw"]
                command += ["--rate", str(args.rate), "--nonblocking", "--function"]
                spy = subprocess.Popen(
                    [*command, "--output", str(output)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                await asyncio.sleep(0.5)  # py-spy attaches
                if spy.poll() is not None:
                    problem = spy.stderr.read().decode() if spy.stderr else ""
                    raise SystemExit(f"py-spy could not attach: {problem.strip()}")
                bot.sample()
                cpu_before = bot.cpu_seconds
                began = time.monotonic()
                run = await load(server, "profile", users, plan, choose, len(users), 300.0)
                wall = time.monotonic() - began
                bot.sample()
                spy.send_signal(signal.SIGINT)
                await asyncio.to_thread(spy.wait, 30)
            finally:
                await bot.stop()
        cpu = bot.cpu_seconds - cpu_before
        print(
            f"# Profile of {'bench.echo_bot' if args.echo else 'python -m bot'} "
            f"({args.users} users × {len(plan)} presses, limiter off)\n\n"
            f"{run.updates} updates, {run.errors} errors, {run.throughput:.0f} updates/s, "
            f"bot CPU {1000 * cpu / max(run.updates, 1):.2f} ms/update, wall {wall:.1f} s, "
            f"load average {os.getloadavg()[0]:.2f}\n"
        )
        if not output.exists():
            print("py-spy wrote no profile")
            return 1
        print(summarise(output, args.top))
        if args.keep:
            shutil.copyfile(output, args.keep)
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--echo", action="store_true", help="profile the echo bot instead")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--answers", type=int, default=100, help="answers per user")
    parser.add_argument("--rate", type=int, default=500, help="samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--keep", type=Path, help="also save py-spy's collapsed stacks here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(profile(parse(sys.argv[1:]))))
