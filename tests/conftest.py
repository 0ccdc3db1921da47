"""Shared fixtures: the local Bot API server and the real bot running against it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import ROOT, InProcessBot, running_bot
from tests.telegram_server import BotApiServer


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
