"""Issue 15, start-up: what `python -m bot` loads before it serves, and its garbage collector.

Start-up is measured by the benchmark (`python -m bench --only startup --startups 10`); here
the two things it relies on that could silently regress: the code of features that only some
turns need (QR codes, PDFs, spreadsheets, charts, the workshop pages' server) is not imported
at start-up, and the objects start-up makes are frozen out of garbage collection (see
`bot.cli.collector`) in the process an operator runs, and in no other.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from bot.cli import collector
from tests.harness import bot_env, log_of_a_run
from tests.telegram_server import BotApiServer, SimulatedUser
from tests.test_architecture import loaded_after_importing

# Imported on first use only: a group's QR code, the workshop page and its PDF, the XLSX
# export (with numpy), charts, and pydantic (validating a questionnaire, reading a release;
# `python -m bot` validates in a child, see tests/test_validation_child.py).
ON_FIRST_USE = {
    "pydantic",
    "pydantic_core",
    "segno",
    "weasyprint",
    "openpyxl",
    "numpy",
    "matplotlib",
    "aiohttp",
    "jinja2",
    "bot.web.server",
    "bot.web.render",
    "bot.web.documents",
    "bot.web.charts",
}


def test_start_up_imports_no_code_that_only_some_turns_need() -> None:
    loaded = loaded_after_importing(["bot.cli.main", "bot.cli.run", "bot.telegram.app"])
    assert loaded & ON_FIRST_USE == set()
    assert "bot.telegram.app" in loaded  # the check imported what start-up imports


def test_resume_frozen_freezes_what_exists_and_collects_again() -> None:
    was_enabled = gc.isenabled()
    try:
        collector.pause()
        assert not gc.isenabled()
        made_during_start_up = [[n] for n in range(1000)]
        frozen = collector.resume_frozen()
        assert gc.isenabled()
        assert frozen == gc.get_freeze_count() >= len(made_during_start_up)
    finally:
        gc.unfreeze()  # this test process's objects go back to being collected
        if not was_enabled:
            gc.disable()


class Attempt:
    """Stands for what a start-up attempt builds: objects that refer to each other."""

    def __init__(self) -> None:
        self.itself = self


def test_thaw_collects_what_a_failed_start_up_left_frozen() -> None:
    was_enabled = gc.isenabled()
    try:
        collector.pause()
        attempt = Attempt()
        gone = weakref.ref(attempt)
        collector.resume_frozen()
        del attempt
        gc.collect()
        assert gone() is not None  # frozen: no collection frees it
        collector.thaw()
        assert gc.isenabled() and gc.get_freeze_count() == 0
        assert gone() is None
    finally:
        gc.unfreeze()
        if not was_enabled:
            gc.disable()


async def test_python_m_bot_freezes_its_start_up_objects_and_serves(
    server: BotApiServer, database: Path, tmp_path: Path
) -> None:
    async def welcome() -> None:
        person = SimulatedUser(server, 4711, first_name="Frieda")
        await person.send_command("/start")
        await person.wait_for_message(lambda m: "Willkommen" in m.visible_text)

    env = bot_env(server, database, LOG_LEVEL="DEBUG")
    log = await log_of_a_run(server, env, tmp_path / "bot.log", welcome)
    frozen = [line for line in log.splitlines() if "objects frozen out of garbage" in line]
    assert len(frozen) == 1, log[-2000:]
    assert int(frozen[0].split("start-up done: ")[1].split()[0]) > 10_000
    assert "Traceback" not in log
