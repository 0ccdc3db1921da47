"""Shared fixtures: the local Bot API server and the real bot running against it."""

from __future__ import annotations

import compileall
import itertools
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import codec
from tests.harness import ROOT, InProcessBot, running_bot
from tests.telegram_server import BotApiServer, SimulatedUser


def pytest_sessionstart(session: pytest.Session) -> None:
    """Once, before any worker starts: the system tools the tests need, and our byte code.

    Under pytest-xdist this runs in the controller before any worker starts; the workers
    (which have `workerinput`) skip it, so both happen once.
    """
    if hasattr(session.config, "workerinput"):
        return
    install_missing_tools()
    compile_our_code()


def install_missing_tools() -> None:
    """Chromium and poppler for the browser and PDF tests, when missing (as root only)."""
    if shutil.which("chromium") and shutil.which("pdftotext") and shutil.which("pdftoppm"):
        return
    if os.geteuid() == 0:
        subprocess.run(["bash", str(ROOT / ".ci" / "system-packages")], check=True)


def compile_our_code() -> None:
    """Byte-compile `bot/`, `flows/` and the test helpers, as the Docker image does.

    pip compiled the libraries, but where PYTHONDONTWRITEBYTECODE is set (as on CI machines)
    every worker and each of the ~50 `python -m bot` processes the tests start would compile
    our 13,000 lines again, a tenth of a second each. The test modules themselves are left to
    pytest, which compiles them with its assertion rewriting.
    """
    for folder in ("bot", "flows", "tests"):
        compileall.compile_dir(ROOT / folder, quiet=1, rx=re.compile(r"[/\\]test_[^/\\]*\.py$"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Spread the few `long` tests over the workers, each at the start of one worker's share.

    The long tests mostly wait (for a killed bot to come back, for retries after injected
    faults), so one worker running them in a row would leave a core idle for half a minute
    while the others are done. pytest-xdist's work stealing first hands each worker one
    contiguous slice of this list (see `first_slices`); placing each long test at the head of
    the slice whose long tests add up to the least so far (longest first) starts them all at
    once on different workers, next to short tests that use the CPU.
    Every worker computes the same order from the same collection, as xdist requires.
    """
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    long_tests = sorted(
        (item for item in items if item.get_closest_marker("long")),
        key=lambda item: -expected_seconds(item),
    )
    others = [item for item in items if not item.get_closest_marker("long")]
    slices: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for item in long_tests:
        min(slices, key=lambda chosen: sum(map(expected_seconds, chosen))).append(item)
    rest = iter(others)
    for share, size in zip(slices, first_slices(len(items), workers), strict=True):
        share.extend(itertools.islice(rest, max(0, size - len(share))))
    slices[-1].extend(rest)
    items[:] = [item for share in slices for item in share]


def expected_seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("long")
    return float(marker.kwargs.get("seconds", 5)) if marker else 0.0


def first_slices(count: int, workers: int) -> list[int]:
    """How many tests each worker gets first: xdist's `WorkStealingScheduling.check_schedule`
    gives each idle worker in turn `pending // workers_remaining`."""
    sizes = []
    for index in range(workers):
        sizes.append(count // (workers - index))
        count -= sizes[-1]
    return sizes


# A person on their own first chooses the municipality type; unless a test is about that
# choice, people take the first declared type (the default in every questionnaire we test).
SimulatedUser.default_choice = staticmethod(  # type: ignore[assignment]
    lambda button: button.get("callback_data") == codec.municipality_type(0)
)


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    async with BotApiServer() as api:
        yield api


@pytest.fixture
def questionnaire(tmp_path: Path) -> Path:
    """A copy of the small test questionnaire that a test may change or break."""
    copy = tmp_path / "fragebogen.yaml"
    shutil.copy(ROOT / "tests" / "fixtures" / "mini.yaml", copy)
    return copy


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "selbstcheck.sqlite3"


@pytest.fixture
async def bot(server: BotApiServer, database: Path) -> AsyncIterator[InProcessBot]:
    async with running_bot(server, database) as running:
        yield running
