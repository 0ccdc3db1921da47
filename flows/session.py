"""The conversation as a pure state machine: where a person is, and what each event does.

The whole state is small (answers, a position, a revision) so the bot can store it in one
database row and write it in the same transaction as the answer. Events that act on a
specific question carry the revision they were shown at; a repeated or late event no longer
matches and is refused as stale instead of moving the flow to the wrong place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from flows.questionnaire import Questionnaire
from flows.scoring import NOT_APPLICABLE, SKIPPED


class Screen(StrEnum):
    WELCOME = "welcome"
    MENU = "menu"
    QUESTION = "question"
    FIELD_RESULT = "field_result"
    RESULTS = "results"


@dataclass(frozen=True)
class Position:
    """What the person currently looks at.

    `review` walks through skipped questions; `walk` goes through a field's questions one by
    one in order, answered or not ("Antworten ansehen/ändern"), so changing an answer leads to
    the next question of the walk, not back to the field's result.
    """

    screen: Screen = Screen.WELCOME
    field_id: str | None = None
    question_id: str | None = None
    review: bool = False
    walk: bool = False


@dataclass(frozen=True)
class SessionState:
    answers: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))
    position: Position = Position()
    revision: int = 0


# Events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenMenu:
    pass


@dataclass(frozen=True)
class OpenField:
    field_id: str
    from_start: bool = False


@dataclass(frozen=True)
class AnswerQuestion:
    question_id: str
    option_id: str
    revision: int


@dataclass(frozen=True)
class SkipQuestion:
    question_id: str
    revision: int


@dataclass(frozen=True)
class MarkNotApplicable:
    """ "entfällt bei uns / nicht zuständig": only for questions that offer it."""

    question_id: str
    revision: int


@dataclass(frozen=True)
class KeepAnswer:
    """ "weiter": leave an answered question as it is and go on to the next one."""

    question_id: str
    revision: int


@dataclass(frozen=True)
class GoBack:
    revision: int


@dataclass(frozen=True)
class ShowResults:
    pass


@dataclass(frozen=True)
class ReviewSkipped:
    pass


@dataclass(frozen=True)
class Resume:
    pass


Event = (
    OpenMenu
    | OpenField
    | AnswerQuestion
    | SkipQuestion
    | MarkNotApplicable
    | KeepAnswer
    | GoBack
    | ShowResults
    | ReviewSkipped
    | Resume
)


class Refusal(StrEnum):
    STALE = "stale"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Outcome:
    """The new state plus what the edge needs to persist and to tell the person."""

    state: SessionState
    refused: Refusal | None = None
    stored_answer: tuple[str, str | None] | None = None
    field_completed: str | None = None
    session_completed: bool = False


# Queries ------------------------------------------------------------------------------------


def is_complete(questionnaire: Questionnaire, answers: Mapping[str, str | None]) -> bool:
    return questionnaire.question_ids.issubset(answers)


def field_is_complete(
    questionnaire: Questionnaire, field_id: str, answers: Mapping[str, str | None]
) -> bool:
    return questionnaire.field_question_ids(field_id).issubset(answers)


def field_is_new(
    questionnaire: Questionnaire, field_id: str, answers: Mapping[str, str | None]
) -> bool:
    """No question of the field has a stored value yet: the person is entering it first."""
    return questionnaire.field_question_ids(field_id).isdisjoint(answers)


def skipped_questions(questionnaire: Questionnaire, answers: Mapping[str, str | None]) -> list[str]:
    """Questions to clarify later: skipped ones only, never those marked "entfällt"."""
    return [q.id for q in questionnaire.questions if q.id in answers and answers[q.id] is SKIPPED]


def answered_count(questionnaire: Questionnaire, answers: Mapping[str, str | None]) -> int:
    """Questions of this questionnaire with a stored value (answer, skip or "entfällt").

    Answers kept for questions that do not apply (after a change of municipality type) are
    not counted, so progress never exceeds the questions the person is asked.
    """
    return len(questionnaire.question_ids.intersection(answers))


def first_open_question(
    questionnaire: Questionnaire, answers: Mapping[str, str | None]
) -> str | None:
    return next((q.id for q in questionnaire.questions if q.id not in answers), None)


# Transitions --------------------------------------------------------------------------------


def apply(questionnaire: Questionnaire, state: SessionState, event: Event) -> Outcome:
    """Apply one event; never raises for bad input, refuses it instead."""
    match event:
        case AnswerQuestion() | SkipQuestion() | MarkNotApplicable():
            return _record(questionnaire, state, event)
        case KeepAnswer():
            return _keep(questionnaire, state, event)
        case GoBack(revision=revision):
            if revision != state.revision:
                return Outcome(state, refused=Refusal.STALE)
            return _moved(state, _back(questionnaire, state))
        case OpenMenu():
            return _moved(state, Position(Screen.MENU))
        case OpenField(field_id=field_id, from_start=from_start):
            if not questionnaire.has_field(field_id):
                return Outcome(state, refused=Refusal.UNKNOWN)
            return _moved(state, _enter_field(questionnaire, state.answers, field_id, from_start))
        case ShowResults():
            return _moved(state, Position(Screen.RESULTS))
        case ReviewSkipped():
            skipped = skipped_questions(questionnaire, state.answers)
            if not skipped:
                return _moved(state, Position(Screen.RESULTS))
            first = questionnaire.question(skipped[0])
            return _moved(state, Position(Screen.QUESTION, first.field, first.id, review=True))
        case Resume():
            return _moved(state, _resume_position(questionnaire, state))
    return Outcome(state, refused=Refusal.UNKNOWN)


def _moved(state: SessionState, position: Position) -> Outcome:
    return Outcome(replace(state, position=position, revision=state.revision + 1))


def _shown_now(state: SessionState, question_id: str, revision: int) -> bool:
    """Whether the press is on the question the person is looking at, at this revision."""
    here = state.position
    return (
        revision == state.revision
        and here.screen is Screen.QUESTION
        and here.question_id == question_id
    )


def _record(
    questionnaire: Questionnaire,
    state: SessionState,
    event: AnswerQuestion | SkipQuestion | MarkNotApplicable,
) -> Outcome:
    here = state.position
    if not _shown_now(state, event.question_id, event.revision):
        return Outcome(state, refused=Refusal.STALE)
    if not questionnaire.has_question(event.question_id):
        return Outcome(state, refused=Refusal.UNKNOWN)
    value: str | None = SKIPPED
    if isinstance(event, AnswerQuestion):
        if questionnaire.scale.option(event.option_id) is None:
            return Outcome(state, refused=Refusal.UNKNOWN)
        value = event.option_id
    question = questionnaire.question(event.question_id)
    if isinstance(event, MarkNotApplicable):
        if not question.allow_not_applicable:
            return Outcome(state, refused=Refusal.UNKNOWN)
        value = NOT_APPLICABLE
    was_field_complete = field_is_complete(questionnaire, question.field, state.answers)
    was_complete = is_complete(questionnaire, state.answers)
    answers = MappingProxyType({**state.answers, question.id: value})
    if here.review:
        position = _next_skipped(questionnaire, answers, question.id)
    elif here.walk:
        position = _next_in_order(questionnaire, answers, question.field, question.id, True)
    else:
        position = _next_in_field(questionnaire, answers, question.field, question.id)
    field_completed = None
    if not was_field_complete and field_is_complete(questionnaire, question.field, answers):
        field_completed = question.field
    return Outcome(
        SessionState(answers, position, state.revision + 1),
        stored_answer=(question.id, value),
        field_completed=field_completed,
        session_completed=not was_complete and is_complete(questionnaire, answers),
    )


def _next_in_field(
    questionnaire: Questionnaire, answers: Mapping[str, str | None], field_id: str, after: str
) -> Position:
    """The next open question after `after`, wrapping around; the field result when none."""
    questions = questionnaire.field_questions(field_id)
    index = next(i for i, q in enumerate(questions) if q.id == after)
    for candidate in questions[index + 1 :] + questions[: index + 1]:
        if candidate.id not in answers:
            return Position(Screen.QUESTION, field_id, candidate.id)
    return Position(Screen.FIELD_RESULT, field_id)


def _keep(questionnaire: Questionnaire, state: SessionState, event: KeepAnswer) -> Outcome:
    """Go on from an answered question without changing it (only there: nothing to keep else)."""
    here = state.position
    if not _shown_now(state, event.question_id, event.revision):
        return Outcome(state, refused=Refusal.STALE)
    if not questionnaire.has_question(event.question_id) or event.question_id not in state.answers:
        return Outcome(state, refused=Refusal.UNKNOWN)
    question = questionnaire.question(event.question_id)
    if here.review:
        return _moved(state, _next_skipped(questionnaire, state.answers, question.id))
    position = _next_in_order(questionnaire, state.answers, question.field, question.id, here.walk)
    return _moved(state, position)


def _next_in_order(
    questionnaire: Questionnaire,
    answers: Mapping[str, str | None],
    field_id: str,
    after: str,
    walk: bool,
) -> Position:
    """The question right after `after` in its field, answered or not.

    After the field's last question: its result when the field is complete, else its first
    open question (where the check goes on).
    """
    questions = questionnaire.field_questions(field_id)
    index = next(i for i, q in enumerate(questions) if q.id == after)
    if index + 1 < len(questions):
        return Position(Screen.QUESTION, field_id, questions[index + 1].id, walk=walk)
    open_question = next((q for q in questions if q.id not in answers), None)
    if open_question is None:
        return Position(Screen.FIELD_RESULT, field_id)
    return Position(Screen.QUESTION, field_id, open_question.id)


def _next_skipped(
    questionnaire: Questionnaire, answers: Mapping[str, str | None], after: str
) -> Position:
    start = questionnaire.question_number(after) + 1
    for candidate in questionnaire.questions[start:]:
        if candidate.id in answers and answers[candidate.id] is SKIPPED:
            return Position(Screen.QUESTION, candidate.field, candidate.id, review=True)
    return Position(Screen.RESULTS)


def _back(questionnaire: Questionnaire, state: SessionState) -> Position:
    here = state.position
    if here.screen is Screen.FIELD_RESULT and here.field_id:
        last = questionnaire.field_questions(here.field_id)[-1]
        return Position(Screen.QUESTION, here.field_id, last.id)
    if here.screen is Screen.QUESTION and here.field_id and here.question_id:
        questions = questionnaire.field_questions(here.field_id)
        index = next(i for i, q in enumerate(questions) if q.id == here.question_id)
        if index > 0:
            previous = questions[index - 1].id
            return Position(Screen.QUESTION, here.field_id, previous, here.review, here.walk)
    return Position(Screen.MENU)


def _enter_field(
    questionnaire: Questionnaire, answers: Mapping[str, str | None], field_id: str, from_start: bool
) -> Position:
    questions = questionnaire.field_questions(field_id)
    if from_start:
        return Position(Screen.QUESTION, field_id, questions[0].id, walk=True)
    open_question = next((q for q in questions if q.id not in answers), None)
    if open_question is None:
        return Position(Screen.FIELD_RESULT, field_id)
    return Position(Screen.QUESTION, field_id, open_question.id)


def _resume_position(questionnaire: Questionnaire, state: SessionState) -> Position:
    here = state.position
    if (
        here.screen is Screen.QUESTION
        and here.question_id
        and questionnaire.has_question(here.question_id)
    ):
        return here
    open_id = first_open_question(questionnaire, state.answers)
    if open_id is None:
        return Position(Screen.RESULTS)
    question = questionnaire.question(open_id)
    return Position(Screen.QUESTION, question.field, question.id)
