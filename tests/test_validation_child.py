"""Issue 15, memory: questionnaires validated in a child process (`bot.store.validation`).

The child must give exactly what validation in this process gives (the same content, the same
hashes a session is stored under, the same problems with the same lines), its warm start must
be used and cleaned up, and a child that cannot answer must never cost a start-up: the source
is then validated here. And the operator's `python -m bot` must not load pydantic at all while
it starts, answers, reloads and reads an older version back.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from bot.cli import early
from bot.store import validation_child
from bot.store.content import DEFAULT_QUESTIONNAIRE
from bot.store.validation import ChildValidator
from flows.loading import QuestionnaireInvalid, parse_questionnaire
from flows.questionnaire import Questionnaire
from tests.harness import BotProcess, bot_env
from tests.stored import query
from tests.telegram_server import BotApiServer, SimulatedUser
from tests.test_e2e_admin import ADMIN, answer, begin, press, say
from tests.test_e2e_admin import env as admin_env

SOURCE = DEFAULT_QUESTIONNAIRE.read_text(encoding="utf-8")
FIXTURES = Path(__file__).parent / "fixtures"


def spawn(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def same(a: Questionnaire, b: Questionnaire) -> None:
    assert asdict(a) == asdict(b)
    assert a.content_hash == b.content_hash
    assert a.municipality_type == b.municipality_type
    assert asdict(a.document) == asdict(b.document)
    assert [(asdict(v), v.content_hash) for v in a.variants()] == [
        (asdict(v), v.content_hash) for v in b.variants()
    ]


@pytest.mark.parametrize(
    "source",
    [SOURCE, (FIXTURES / "mini.yaml").read_text(encoding="utf-8")],
    ids=["shipped", "mini"],
)
async def test_the_child_gives_what_validation_here_gives(source: str) -> None:
    from_child = await ChildValidator()(source, "shipped")
    here = parse_questionnaire(source, "shipped")
    same(from_child, here)
    # The derived questionnaires still belong to their document, and for_type still finds them.
    for variant in from_child.variants():
        assert variant.document is from_child.document
        assert (
            from_child.for_type(variant.municipality_type.id if variant.municipality_type else None)
            is variant
        )


async def test_problems_come_back_with_their_lines() -> None:
    broken = SOURCE.replace("estimated_minutes:", "estimated_minutez:", 1)
    with pytest.raises(QuestionnaireInvalid) as here:
        parse_questionnaire(broken, "datei.yaml")
    with pytest.raises(QuestionnaireInvalid) as from_child:
        await ChildValidator()(broken, "datei.yaml")
    assert from_child.value.problems == here.value.problems
    assert any(p.line for p in from_child.value.problems)
    with pytest.raises(QuestionnaireInvalid) as syntax:
        await ChildValidator()("id: [unclosed", "kaputt.yaml")
    assert "YAML syntax error" in str(syntax.value)


async def test_a_warm_child_is_used_once_and_an_unused_one_ended() -> None:
    validator = ChildValidator()
    validator.warm_up()
    warm = validator._waiting
    assert warm is not None and warm.poll() is None  # ready and waiting for its source
    validator.warm_up()
    assert validator._waiting is warm  # one is enough
    await validator(SOURCE, "shipped")
    assert warm.returncode == 0 and validator._waiting is None
    validator.warm_up()
    unused = validator._waiting
    assert unused is not None
    validator.close()
    assert unused.returncode is not None and validator._waiting is None


async def test_the_child_started_at_process_start_is_only_for_serving_telegram() -> None:
    for argv, environ in [
        (["bot"], {}),  # the console chat
        (["bot"], {"BOT_TOKEN": "  "}),
        (["bot", "admin", "stats"], {"BOT_TOKEN": "1:x"}),
        (["bot", "validate"], {"BOT_TOKEN": "1:x"}),
    ]:
        early.start_validation_child(argv, environ)
        assert early.take_validation_child() is None
    early.start_validation_child(["bot"], {"BOT_TOKEN": "1:x"})
    child = early.take_validation_child()
    assert child is not None and early.take_validation_child() is None  # handed over once
    validator = ChildValidator(child)
    validator.warm_up()
    assert validator._waiting is child
    questionnaire = await validator(SOURCE, "shipped")
    assert child.returncode == 0
    same(questionnaire, parse_questionnaire(SOURCE, "shipped"))


async def test_an_unused_child_exits_when_its_parent_closes_its_input() -> None:
    child = validation_child.start()
    assert child.stdin is not None
    child.stdin.close()  # what the end of the parent process does to the pipe
    assert child.wait(timeout=30) == 0
    assert child.stdout is not None and child.stdout.read() == b""


@pytest.mark.parametrize(
    ("child", "logged"),
    [
        (
            "import sys; print('kaputt', file=sys.stderr); sys.exit(3)",
            "exit status 3: kaputt",
        ),
        ("import sys; sys.stdin.read(); sys.stdout.write('nonsense')", "unreadable answer"),
        ("import sys; sys.stdin.read()", "unreadable answer (EOFError)"),
        ("import pickle, sys; sys.stdin.read(); pickle.dump(42, sys.stdout.buffer)", "unexpected"),
    ],
    ids=["fails", "answers-garbage", "answers-nothing", "answers-something-else"],
)
async def test_a_child_without_a_usable_answer_means_validation_here(
    child: str, logged: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(validation_child, "start", lambda: spawn([sys.executable, "-c", child]))
    with caplog.at_level(logging.WARNING):
        questionnaire = await ChildValidator()(SOURCE, "shipped")
    same(questionnaire, parse_questionnaire(SOURCE, "shipped"))
    assert "validating the questionnaire in a child failed" in caplog.text and logged in caplog.text
    assert all(r.levelno < logging.ERROR for r in caplog.records)
    # The problems of an invalid source are still the problems, not a crash.
    with pytest.raises(QuestionnaireInvalid):
        await ChildValidator()("id: 3", "x.yaml")


def pydantic_mapped(process: BotProcess) -> bool:
    """Whether pydantic's compiled core is loaded into the process (it is, once pydantic is
    imported; shared libraries are never unloaded)."""
    assert process.process is not None
    return "pydantic_core" in Path(f"/proc/{process.process.pid}/maps").read_text()


@pytest.mark.long(seconds=8)
async def test_python_m_bot_validates_start_up_reloads_and_old_versions_in_children(
    server: BotApiServer, database: Path, questionnaire: Path, tmp_path: Path
) -> None:
    old_text = "Es gibt eine zuständige Stelle."
    new_text = "Es gibt eine zuständige Stelle mit eigenem Budget."
    log = tmp_path / "bot.log"
    environment = bot_env(server, database, **admin_env(questionnaire))
    bot = BotProcess(server, environment, log=log)
    admin = SimulatedUser(server, ADMIN, first_name="Ada")
    early = SimulatedUser(server, 506, first_name="Eli")
    late = SimulatedUser(server, 507, first_name="Lou")
    await bot.start()
    try:
        await begin(early)
        await answer(early, 1)
        assert old_text in (early.last_text or "")
        source = questionnaire.read_text(encoding="utf-8")
        questionnaire.write_text("id: [kaputt", encoding="utf-8")
        report = await say(admin, "/reload")
        assert "konnte nicht geladen werden" in report and "YAML" in report
        questionnaire.write_text(
            source.replace(old_text, new_text).replace('"test.1"', '"test.2"'), encoding="utf-8"
        )
        report = await say(admin, "/reload")
        assert "Fragebogen neu geladen" in report and "Version test.2" in report
        await begin(late)
        await answer(late, 1)
        assert new_text in (late.last_text or "")
        assert not pydantic_mapped(bot)
    finally:
        assert await bot.terminate() == 0

    # After a restart the early check runs on its stored older version, read back through a
    # child as well.
    await bot.start()
    try:
        await answer(early, 1)
        await press(early, "zurück")
        assert old_text in (early.last_text or "") and new_text not in (early.last_text or "")
        assert not pydantic_mapped(bot)
    finally:
        assert await bot.terminate() == 0
    text = log.read_text(errors="replace")
    assert "validating the questionnaire in a child failed" not in text
    assert " ERROR " not in text and "Traceback" not in text
    hashes = query(database, "SELECT user_id, content_hash FROM sessions ORDER BY user_id")
    assert hashes[0][1] != hashes[1][1]
