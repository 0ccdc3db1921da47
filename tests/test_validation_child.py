"""Issue 15, memory: questionnaires validated in a child process (`bot.store.validation`).

The child must give exactly what validation in this process gives (the same content, the same
hashes a session is stored under, the same problems with the same lines), its warm start must
be used and cleaned up, and a child that cannot answer must never cost a start-up: the source
is then validated here.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from bot.store.content import DEFAULT_QUESTIONNAIRE
from bot.store.validation import ChildValidator
from flows.loading import QuestionnaireInvalid, parse_questionnaire
from flows.questionnaire import Questionnaire

SOURCE = DEFAULT_QUESTIONNAIRE.read_text(encoding="utf-8")
FIXTURES = Path(__file__).parent / "fixtures"


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


async def test_a_child_that_cannot_answer_means_validation_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    failing = [sys.executable, "-c", "import sys; print('kaputt', file=sys.stderr); sys.exit(3)"]
    monkeypatch.setattr(
        ChildValidator,
        "_start",
        staticmethod(
            lambda: subprocess.Popen(
                failing, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        ),
    )
    with caplog.at_level(logging.WARNING):
        questionnaire = await ChildValidator()(SOURCE, "shipped")
    same(questionnaire, parse_questionnaire(SOURCE, "shipped"))
    assert "exit status 3: kaputt" in caplog.text
    assert all(r.levelno < logging.ERROR for r in caplog.records)
    # The problems of an invalid source are still the problems, not a crash.
    with pytest.raises(QuestionnaireInvalid):
        await ChildValidator()("id: 3", "x.yaml")


async def test_a_child_that_answers_garbage_means_validation_here(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = [sys.executable, "-c", "import sys; sys.stdin.read(); sys.stdout.write('nonsense')"]
    monkeypatch.setattr(
        ChildValidator,
        "_start",
        staticmethod(
            lambda: subprocess.Popen(
                garbage, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        ),
    )
    with caplog.at_level(logging.WARNING):
        questionnaire = await ChildValidator()(SOURCE, "shipped")
    assert questionnaire.content_hash == parse_questionnaire(SOURCE, "shipped").content_hash
    assert "validating the questionnaire in a child failed" in caplog.text
