"""Shared fixtures: the local Bot API server and the real bot running against it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import codec
from tests.harness import ROOT, InProcessBot, running_bot
from tests.telegram_server import BotApiServer, SimulatedUser


def pytest_sessionstart(session: pytest.Session) -> None:
    """Install the browser and PDF tools the web tests need, when missing (as root only).

    Under pytest-xdist this runs in the controller before any worker starts; the workers
    (which have `workerinput`) skip it, so the tools are installed once.
    """
    if hasattr(session.config, "workerinput"):
        return
    if shutil.which("chromium") and shutil.which("pdftotext") and shutil.which("pdftoppm"):
        return
    if os.geteuid() == 0:
        subprocess.run(["bash", str(ROOT / ".ci" / "system-packages")], check=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The few `long` tests first (otherwise in file order): started early, they run beside the
    many short ones on the other worker instead of being the last ones left."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


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
