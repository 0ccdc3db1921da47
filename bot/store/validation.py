"""Questionnaire sources validated in a short-lived child process, so that the process serving
answers never loads pydantic.

Why (issue 15): pydantic and the machinery it builds for the questionnaire's schema stay in a
process for its whole life, about 9 MiB of the serving process's memory, though the schema is
used only when a source is validated: at start-up, on an admin's reload and when a session on
an older stored version comes back. So `python -m bot` hands each source to a
child (`main` below, run with our interpreter), which validates it exactly as `flows.loading` does
in-process and sends back the built questionnaire (every municipality type's variant with its
content hash already computed) or the problems found, and exits.

Start-up does not wait for the child's interpreter and imports: `ChildValidator.warm_up`
starts one before the bot's own imports, and the child loads pydantic and builds the
validator while the parent does the same for python-telegram-bot; it reads the source only
then. If a child cannot run or fails, the source is validated in this process instead (a
warning says so): slower on memory, never a different answer.

The result travels as a pickle over the child's stdout. That is safe because only our own
child, started by us with our interpreter, writes to that pipe.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import subprocess
import sys
from dataclasses import dataclass

from flows.loading import Problem, QuestionnaireInvalid, parse_questionnaire
from flows.questionnaire import Questionnaire

log = logging.getLogger(__name__)

CHILD_TIMEOUT = 60.0
"""Seconds a child may take (a normal one takes about 0.4 s, most of it its imports)."""


@dataclass(frozen=True)
class _Valid:
    questionnaire: Questionnaire


@dataclass(frozen=True)
class _Invalid:
    problems: tuple[Problem, ...]


def validate(source: str, name: str) -> _Valid | _Invalid:
    """What the child computes: the questionnaire with every variant and hash built, so the
    parent computes nothing of the schema's, or the problems."""
    try:
        questionnaire = parse_questionnaire(source, name)
    except QuestionnaireInvalid as error:
        return _Invalid(error.problems)
    for variant in questionnaire.variants():
        _ = variant.content_hash  # cached on the object, so it travels with the pickle
    _ = questionnaire.document.content_hash
    return _Valid(questionnaire)


class ChildValidator:
    """`await validator(source, name)`: the questionnaire or `QuestionnaireInvalid`, as
    `flows.loading.parse_questionnaire` gives them, computed in a child process."""

    def __init__(self) -> None:
        self._waiting: subprocess.Popen[bytes] | None = None

    def warm_up(self) -> None:
        """Start a child now, to be used by the next validation; it prepares its validator
        while this process goes on with its own start-up."""
        if self._waiting is None:
            self._waiting = self._start()

    def close(self) -> None:
        """End a child started by `warm_up` that was never used (a failed start-up)."""
        if self._waiting is not None:
            self._waiting.kill()
            self._waiting.wait()
            self._waiting = None

    async def __call__(self, source: str, name: str) -> Questionnaire:
        child, self._waiting = self._waiting, None
        try:
            outcome = await asyncio.to_thread(self._ask, child, source, name)
        except (OSError, subprocess.SubprocessError, pickle.UnpicklingError, _ChildFailed) as error:
            log.warning("validating the questionnaire in a child failed (%s): doing it here", error)
            return parse_questionnaire(source, name)
        if isinstance(outcome, _Invalid):
            raise QuestionnaireInvalid(outcome.problems)
        return outcome.questionnaire

    def _ask(
        self, child: subprocess.Popen[bytes] | None, source: str, name: str
    ) -> _Valid | _Invalid:
        child = child or self._start()
        try:
            output, errors = child.communicate(_request(source, name), timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise
        if child.returncode != 0:
            tail = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise _ChildFailed(f"exit status {child.returncode}: {tail[0]}")
        outcome = pickle.loads(output)
        if not isinstance(outcome, _Valid | _Invalid):
            raise _ChildFailed(f"unexpected answer {type(outcome).__name__}")
        return outcome

    @staticmethod
    def _start() -> subprocess.Popen[bytes]:
        # `-c`, not `-m`: run as `__main__` the module's classes would pickle as `__main__.…`.
        return subprocess.Popen(
            [sys.executable, "-c", f"import sys, {__name__} as v; sys.exit(v.main())"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )


class _ChildFailed(Exception):
    """The child ended without an answer we can use."""


def _request(source: str, name: str) -> bytes:
    """The source's name on the first line, then the source."""
    return f"{name}\n{source}".encode()


def main() -> int:
    """The child: prepare the validator, then read one request from stdin and answer it."""
    from flows.loading import prepare_validator

    prepare_validator()  # the slow part, done before the parent sends anything
    request = sys.stdin.buffer.read()
    if not request:
        return 0  # the parent went away (or never needed us)
    name, _, source = request.decode("utf-8").partition("\n")
    pickle.dump(validate(source, name), sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    return 0
