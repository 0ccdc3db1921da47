"""Compact, validated button data (Telegram allows 1–64 bytes).

Question and option are referenced by their position in the session's own questionnaire
version; answer, skip and back carry the session revision they were shown at, so stale or
repeated presses are recognised. The session itself is always the presser's own: button data
never names a session or a user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.questionnaire import Questionnaire
from flows.session import (
    AnswerQuestion,
    Event,
    GoBack,
    OpenField,
    OpenMenu,
    Resume,
    ReviewSkipped,
    ShowResults,
    SkipQuestion,
)

RESTART_CONFIRM = "x:y"
RESTART_CANCEL = "x:n"
MENU = "m"
RESULTS = "r"
REVIEW = "v"
RESUME = "c"

_PATTERN = re.compile(
    r"^(?:a:(\d{1,9}):(\d{1,4}):(\d{1,2})|s:(\d{1,9}):(\d{1,4})|b:(\d{1,9})|f:(\d{1,2})|F:(\d{1,2}))$"
)


def answer(revision: int, question: int, option: int) -> str:
    return f"a:{revision}:{question}:{option}"


def skip(revision: int, question: int) -> str:
    return f"s:{revision}:{question}"


def back(revision: int) -> str:
    return f"b:{revision}"


def open_field(number: int, from_start: bool = False) -> str:
    return f"{'F' if from_start else 'f'}:{number}"


@dataclass(frozen=True)
class Decoded:
    event: Event | None = None
    restart: bool | None = None


def decode(data: str | None, questionnaire: Questionnaire) -> Decoded | None:
    """The event a button stands for, or None for data that is forged or unknown."""
    if not data:
        return None
    simple = {MENU: OpenMenu(), RESULTS: ShowResults(), REVIEW: ReviewSkipped(), RESUME: Resume()}
    if data in simple:
        return Decoded(simple[data])
    if data in (RESTART_CONFIRM, RESTART_CANCEL):
        return Decoded(restart=data == RESTART_CONFIRM)
    match = _PATTERN.match(data)
    if not match:
        return None
    a_rev, a_q, a_o, s_rev, s_q, b_rev, f_n, fs_n = match.groups()
    if a_rev is not None:
        question = _question(questionnaire, int(a_q))
        options = questionnaire.scale.options
        if question is None or int(a_o) >= len(options):
            return None
        return Decoded(AnswerQuestion(question, options[int(a_o)].id, int(a_rev)))
    if s_rev is not None:
        question = _question(questionnaire, int(s_q))
        return Decoded(SkipQuestion(question, int(s_rev))) if question else None
    if b_rev is not None:
        return Decoded(GoBack(int(b_rev)))
    number = int(f_n if f_n is not None else fs_n)
    if number >= len(questionnaire.fields):
        return None
    return Decoded(OpenField(questionnaire.fields[number].id, from_start=fs_n is not None))


def _question(questionnaire: Questionnaire, number: int) -> str | None:
    if number >= len(questionnaire.questions):
        return None
    return questionnaire.questions[number].id
