"""Questionnaire sources validated in a short-lived child process, so that the process serving
answers never loads pydantic.

Why (issue 15): pydantic and the machinery it builds for the questionnaire's schema stay in a
process for its whole life, about 9 MiB of the serving process's memory, though the schema is
used only when a source is validated: at start-up, on an admin's reload and when a session on
an older stored version comes back. So `python -m bot` hands each source to a
child process with our interpreter, which validates it exactly as `flows.loading` does
in-process and sends back the built questionnaire (every municipality type's variant with its
content hash already computed) or the problems found, and exits.

Start-up does not wait for the child's interpreter and imports: `bot.cli.early` starts one
before the bot's own imports, and the child loads pydantic and builds the validator while the
parent imports python-telegram-bot; it reads the source only then (the child's side is
`bot.store.validation_child`). If a child cannot run or fails, the source is validated in this
process instead (a warning says so): slower on memory, never a different answer.

The result travels as a pickle over the child's stdout. That is safe because only our own
child, started by us with our interpreter, writes to that pipe.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import subprocess

from bot.store import validation_child
from bot.store.validation_child import Invalid, Valid
from flows.loading import QuestionnaireInvalid, parse_questionnaire
from flows.questionnaire import Questionnaire

log = logging.getLogger(__name__)

CHILD_TIMEOUT = 60.0
"""Seconds a child may take (a normal one takes about 0.4 s, most of it its imports)."""


class ChildValidator:
    """`await validator(source, name)`: the questionnaire or `QuestionnaireInvalid`, as
    `flows.loading.parse_questionnaire` gives them, computed in a child process.

    `waiting`: a child started earlier (`bot.cli.early`), used by the first validation.
    """

    def __init__(self, waiting: subprocess.Popen[bytes] | None = None) -> None:
        self._waiting = waiting

    def warm_up(self) -> None:
        """Start a child now, to be used by the next validation; it prepares its validator
        while this process goes on with its own start-up."""
        if self._waiting is None:
            self._waiting = validation_child.start()

    def close(self) -> None:
        """End a child started for a validation that never came (a failed start-up)."""
        if self._waiting is not None:
            self._waiting.kill()
            self._waiting.wait()
            self._waiting = None

    async def __call__(self, source: str, name: str) -> Questionnaire:
        child, self._waiting = self._waiting, None
        try:
            outcome = await asyncio.to_thread(self._ask, child, source, name)
        except (OSError, subprocess.SubprocessError, _ChildFailed) as error:
            log.warning("validating the questionnaire in a child failed (%s): doing it here", error)
            return parse_questionnaire(source, name)
        if isinstance(outcome, Invalid):
            raise QuestionnaireInvalid(outcome.problems)
        return outcome.questionnaire

    @staticmethod
    def _ask(child: subprocess.Popen[bytes] | None, source: str, name: str) -> Valid | Invalid:
        child = child or validation_child.start()
        try:
            output, errors = child.communicate(
                validation_child.request(source, name), timeout=CHILD_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            raise
        if child.returncode != 0:
            tail = errors.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise _ChildFailed(f"exit status {child.returncode}: {tail[0]}")
        try:
            outcome = pickle.loads(output)
        except Exception as error:  # anything but our pickle: empty, cut short, foreign
            raise _ChildFailed(f"unreadable answer ({type(error).__name__})") from error
        if not isinstance(outcome, Valid | Invalid):
            raise _ChildFailed(f"unexpected answer {type(outcome).__name__}")
        return outcome


class _ChildFailed(Exception):
    """The child ended without an answer we can use."""
