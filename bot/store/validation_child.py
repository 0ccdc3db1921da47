"""The child process of `bot.store.validation`: validate one questionnaire source, answer
with a pickle, exit.

Kept light at module level (no flows, no asyncio): `python -m bot` starts this child before
its own imports (`bot.cli.early`), and everything imported here runs before the child can get
ready. What it imports to validate (PyYAML, pydantic, the questionnaire types) comes in
`main`, while the parent imports python-telegram-bot.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.loading import Problem
    from flows.questionnaire import Questionnaire


@dataclass(frozen=True)
class Valid:
    questionnaire: Questionnaire


@dataclass(frozen=True)
class Invalid:
    problems: tuple[Problem, ...]


def start() -> subprocess.Popen[bytes]:
    """A child with our interpreter that prepares its validator, then waits for one request.

    `-c`, not `-m`: run as `__main__`, this module's classes would pickle as `__main__.…`.
    """
    return subprocess.Popen(
        [sys.executable, "-c", f"import sys, {__name__} as child; sys.exit(child.main())"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def request(source: str, name: str) -> bytes:
    """The source's name on the first line, then the source."""
    return f"{name}\n{source}".encode()


def validate(source: str, name: str) -> Valid | Invalid:
    """What the child computes: the questionnaire with every variant and hash built, so the
    parent computes nothing of the schema's, or the problems."""
    from flows.loading import QuestionnaireInvalid, parse_questionnaire

    try:
        questionnaire = parse_questionnaire(source, name)
    except QuestionnaireInvalid as error:
        return Invalid(error.problems)
    for variant in questionnaire.variants():
        _ = variant.content_hash  # cached on the object, so it travels with the pickle
    _ = questionnaire.document.content_hash
    return Valid(questionnaire)


def main() -> int:
    """Prepare the validator, then read one request from stdin and answer it on stdout."""
    from flows.loading import prepare_validator

    prepare_validator()  # the slow part, done before the parent sends anything
    data = sys.stdin.buffer.read()
    if not data:
        return 0  # the parent went away, or never needed us
    name, _, source = data.decode("utf-8").partition("\n")
    pickle.dump(validate(source, name), sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return 0
