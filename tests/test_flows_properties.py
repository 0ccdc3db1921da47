"""Properties over arbitrary answers and event sequences, on the shipped questionnaire.

Every property runs for each municipality type's derived questionnaire (kreisfreie Stadt,
Landkreis, Gemeinde), since that is what a person actually answers.

Scoring must stay in range and never mix fields up, whatever people answer; the session state
machine must stay consistent whatever buttons arrive in whatever order (late, repeated, forged).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire
from flows.scoring import NOT_APPLICABLE, SKIPPED, assess_all, assess_field
from flows.session import (
    AnswerQuestion,
    Event,
    GoBack,
    KeepAnswer,
    MarkNotApplicable,
    OpenField,
    OpenMenu,
    Outcome,
    Position,
    Resume,
    ReviewSkipped,
    Screen,
    SessionState,
    ShowResults,
    SkipQuestion,
    apply,
)

ROOT = Path(__file__).resolve().parent.parent


def load(path: Path) -> Questionnaire:
    return parse_questionnaire(path.read_text(encoding="utf-8"), path.name)


SHIPPED = load(ROOT / "questionnaires" / "weltoffene-kommune.de.yaml")
MINI = load(Path(__file__).resolve().parent / "fixtures" / "mini.yaml")
TYPES = [t.id for t in SHIPPED.document.municipality_types]
BY_TYPE = {type_id: SHIPPED.for_type(type_id) for type_id in TYPES}

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DERIVED_SETTINGS = settings(PROPERTY_SETTINGS, max_examples=100)
"""Fewer runs for properties that only vary one answer on top of the main one."""

# Scoring ------------------------------------------------------------------------------------

ABSENT = "<absent>"
"""Marker for 'question not reached'; never stored in the answers."""
UNKNOWN_OPTION = "nicht-vorhanden"


def answers_for(q: Questionnaire) -> st.SearchStrategy[dict[str, str | None]]:
    """Each question of the whole document (so also other types' questions): absent, skipped,
    "entfällt", any option, or (rarely) an unknown option id.

    One byte per question, drawn as one byte string: Hypothesis treats it as a single choice,
    which is many times cheaper than a list of ~130 choices and shrinks the same way (towards
    byte 0, "absent").
    """
    choices: list[str | None] = [
        ABSENT,
        ABSENT,
        SKIPPED,
        NOT_APPLICABLE,
        *(o.id for o in q.scale.options),
        UNKNOWN_OPTION,
    ]
    ids = [x.id for x in q.document.questions]

    def as_answers(raw: bytes) -> dict[str, str | None]:
        values = (choices[byte % len(choices)] for byte in raw)
        return {i: v for i, v in zip(ids, values, strict=True) if v != ABSENT}

    return st.binary(min_size=len(ids), max_size=len(ids)).map(as_answers)


def expected_score(q: Questionnaire, field_id: str, answers: Mapping[str, str | None]) -> int:
    """Independent integer arithmetic: floor(100 * sum / (n * span) + 1/2)."""
    scale = q.scale
    span = scale.max_points - scale.min_points
    points = [
        option.points - scale.min_points
        for x in q.field_questions(field_id)
        if (option := scale.option(answers.get(x.id) or "")) is not None
    ]
    total, n = sum(points), len(points)
    return (200 * total + n * span) // (2 * n * span)


def expected_minimum(q: Questionnaire, field_id: str, answers: Mapping[str, str | None]) -> int:
    """The documented rule: a share of the questions that are not marked "entfällt"."""
    questions = q.field_questions(field_id)
    applicable = sum(1 for x in questions if answers.get(x.id) != NOT_APPLICABLE)
    share = math.ceil(applicable * q.result_rules.min_answered_percent / 100)
    return max(q.field(field_id).min_answered, share)


def enough_subthemes(q: Questionnaire, field_id: str, answers: Mapping[str, str | None]) -> bool:
    covered = eligible = 0
    for subtheme in q.field(field_id).subthemes:
        values = [
            answers.get(x.id) for x in q.field_questions(field_id) if x.subtheme == subtheme.id
        ]
        if not values or all(v == NOT_APPLICABLE for v in values):
            continue
        eligible += 1
        covered += any(q.scale.option(v) is not None for v in values)
    return covered >= math.ceil(eligible * q.result_rules.min_subthemes_percent / 100)


def allowed_band_suggestions(
    q: Questionnaire, field_id: str, band_id: str, answers: Mapping[str, str | None], gaps: set[str]
) -> tuple[str, ...]:
    """Band suggestions the answers allow: what they build on was answered well, and none repeats
    an item suggestion already given."""
    chosen = []
    for suggestion in q.field(field_id).assessments[band_id].band_suggestions():
        good = all(
            (o := q.scale.option(answers.get(x))) is not None
            and o.points > q.scale.low_answer_max_points
            for x in suggestion.builds_on
        )
        if good and not set(suggestion.covers) & gaps:
            chosen.append(suggestion.text)
    return tuple(chosen)


@pytest.mark.parametrize("type_id", TYPES)
@PROPERTY_SETTINGS
@given(answers=answers_for(SHIPPED))
def test_every_field_result_is_in_range_and_uses_only_its_own_content(
    type_id: str, answers: dict[str, str | None]
) -> None:
    q = BY_TYPE[type_id]
    results = assess_all(q, answers)
    assert [r.field_id for r in results] == [f.id for f in q.fields]
    for result in results:
        field = q.field(result.field_id)
        own = {x.id: x for x in q.field_questions(field.id)}
        assert all(x.applies(type_id) for x in own.values())
        assert result.total == len(own)
        assert (
            result.answered + result.skipped + result.not_applicable + result.open == result.total
        )
        assert result.open >= 0
        assert set(result.skipped_question_ids) <= set(own)
        assert result.minimum == expected_minimum(q, field.id, answers)
        if result.answered < result.minimum or not enough_subthemes(q, field.id, answers):
            assert result.score is None
            assert result.band is None and result.assessment is None
            assert result.band_suggestions == ()
            assert result.missing_answers == max(0, result.minimum - result.answered)
        else:
            assert result.score is not None and 0 <= result.score <= 100
            assert result.score == expected_score(q, field.id, answers)
            assert result.band is not None and result.band.contains(result.score)
            assessment = field.assessments[result.band.id]
            assert result.assessment == assessment.text
            gaps = {g.question_id for g in result.gap_suggestions}
            assert result.band_suggestions == allowed_band_suggestions(
                q, field.id, result.band.id, answers, gaps
            )
        assert len(set(result.suggestions)) == len(result.suggestions)
        for item in result.strongest + result.weakest:
            assert item.question_id in own
        assert {i.question_id for i in result.weakest} <= {
            x
            for x in own
            if (o := q.scale.option(answers.get(x))) and o.points <= q.scale.low_answer_max_points
        }
        assert len(result.gap_suggestions) <= 3
        for gap in result.gap_suggestions:
            question = own[gap.question_id]
            option = q.scale.option(answers[gap.question_id] or "")
            assert option is not None and option.points == gap.points
            assert gap.points <= q.scale.low_answer_max_points
            assert gap.text == question.suggestion
        points = [g.points for g in result.gap_suggestions]
        assert points == sorted(points)


@pytest.mark.parametrize("type_id", TYPES)
@DERIVED_SETTINGS
@given(answers=answers_for(SHIPPED))
def test_answers_to_other_types_questions_are_kept_but_never_count(
    type_id: str, answers: dict[str, str | None]
) -> None:
    q = BY_TYPE[type_id]
    own = {x.id for x in q.questions}
    only_own = {k: v for k, v in answers.items() if k in own}
    assert assess_all(q, answers) == assess_all(q, only_own)


@pytest.mark.parametrize("type_id", TYPES)
@DERIVED_SETTINGS
@given(answers=answers_for(SHIPPED), data=st.data())
def test_skipping_an_open_question_never_changes_the_score(
    type_id: str, answers: dict[str, str | None], data: st.DataObject
) -> None:
    q = BY_TYPE[type_id]
    question = data.draw(st.sampled_from(q.questions))
    without = {k: v for k, v in answers.items() if k != question.id}
    skipped = {**without, question.id: SKIPPED}
    before = assess_field(q, question.field, without)
    after = assess_field(q, question.field, skipped)
    assert (after.score, after.band, after.gap_suggestions) == (
        before.score,
        before.band,
        before.gap_suggestions,
    )


@pytest.mark.parametrize("type_id", TYPES)
@DERIVED_SETTINGS
@given(answers=answers_for(SHIPPED), data=st.data())
def test_a_better_answer_never_lowers_the_score(
    type_id: str, answers: dict[str, str | None], data: st.DataObject
) -> None:
    q = BY_TYPE[type_id]
    question = data.draw(st.sampled_from(q.questions))
    worse, better = sorted(
        data.draw(st.lists(st.sampled_from(q.scale.options), min_size=2, max_size=2)),
        key=lambda o: o.points,
    )
    low = assess_field(q, question.field, {**answers, question.id: worse.id}).score
    high = assess_field(q, question.field, {**answers, question.id: better.id}).score
    if low is not None:
        assert high is not None and high >= low


# Session state machine ----------------------------------------------------------------------

Spec = tuple[Any, ...]
"""An event described relative to the state it will meet (current or stale revision, ...)."""


KINDS = ["answer"] * 12 + ["skip"] * 3 + ["na"] * 2 + ["back", "field", "resume", "keep"] * 2
KINDS += ["menu", "results", "review"]
"""Event kinds, weighted: mostly answers, so fields and sometimes whole sessions complete."""
REVISION_DELTAS = [0] * 8 + [-1, 1, -3]
"""Mostly the current revision, sometimes a stale or a forged one."""
EVENT_CODE_BYTES = 4
"""Each event is a 4-byte integer decoded by `decode`; a whole run is one byte string, which
Hypothesis draws as one choice (many times cheaper than one draw per event) and shrinks towards
zero bytes, that is towards "answer the current question"."""


def decode(q: Questionnaire, code: int) -> Spec:
    """An event spec from an integer; small codes mean 'answer the current question'."""
    digits: list[int] = []
    for base in (
        len(KINDS),
        len(REVISION_DELTAS),
        5,  # 0-3: the current question, 4: any question
        len(q.questions),
        len(q.scale.options) + 1,  # the last one: an unknown option id
        len(q.fields) + 1,  # the last one: an unknown field id
        2,
    ):
        code, digit = divmod(code, base)
        digits.append(digit)
    kind, delta, current, question, option, field_index, from_start = digits
    pick = None if current < 4 else question
    match KINDS[kind]:
        case "answer":
            return ("answer", REVISION_DELTAS[delta], pick, option)
        case "skip" | "na" | "keep":
            return (KINDS[kind], REVISION_DELTAS[delta], pick)
        case "back":
            return ("back", REVISION_DELTAS[delta])
        case "field":
            return ("field", field_index, bool(from_start))
        case other:
            return (other,)


def resolve(q: Questionnaire, state: SessionState, spec: Spec) -> Event:
    """Turn a spec into the concrete event a (possibly confused) client would send."""
    kind = spec[0]
    if kind in {"answer", "skip", "na", "keep"}:
        revision = state.revision + spec[1]
        pick = spec[2]
        if pick is None and state.position.question_id is not None:
            question_id = state.position.question_id
        else:
            question_id = q.questions[pick or 0].id
        if kind == "skip":
            return SkipQuestion(question_id, revision)
        if kind == "na":
            return MarkNotApplicable(question_id, revision)
        if kind == "keep":
            return KeepAnswer(question_id, revision)
        option_id = (
            UNKNOWN_OPTION if spec[3] >= len(q.scale.options) else q.scale.options[spec[3]].id
        )
        return AnswerQuestion(question_id, option_id, revision)
    if kind == "back":
        return GoBack(state.revision + spec[1])
    if kind == "field":
        field_id = "unbekannt" if spec[1] >= len(q.fields) else q.fields[spec[1]].id
        return OpenField(field_id, from_start=spec[2])
    return {"menu": OpenMenu(), "results": ShowResults(), "review": ReviewSkipped()}.get(
        kind, Resume()
    )


def should_accept(q: Questionnaire, state: SessionState, event: Event) -> bool:
    """The documented acceptance rule, written independently of `apply`."""
    here = state.position
    match event:
        case AnswerQuestion() | SkipQuestion() | MarkNotApplicable():
            match event:
                case AnswerQuestion():
                    valid_option = q.scale.option(event.option_id) is not None
                case MarkNotApplicable():
                    valid_option = q.has_question(event.question_id) and (
                        q.question(event.question_id).allow_not_applicable
                    )
                case _:
                    valid_option = True
            return (
                event.revision == state.revision
                and here.screen is Screen.QUESTION
                and here.question_id == event.question_id
                and valid_option
            )
        case KeepAnswer():
            return (
                event.revision == state.revision
                and here.screen is Screen.QUESTION
                and here.question_id == event.question_id
                and event.question_id in state.answers
            )
        case GoBack():
            return event.revision == state.revision
        case OpenField():
            return q.has_field(event.field_id)
    return True


def complete_fields(q: Questionnaire, answers: Mapping[str, str | None]) -> set[str]:
    return {f.id for f in q.fields if all(x.id in answers for x in q.field_questions(f.id))}


def check_position(q: Questionnaire, state: SessionState) -> None:
    here = state.position
    if here.screen is Screen.QUESTION:
        assert here.field_id is not None and here.question_id is not None
        assert q.has_question(here.question_id)
        assert q.question(here.question_id).field == here.field_id
    elif here.screen is Screen.FIELD_RESULT:
        assert here.field_id is not None and q.has_field(here.field_id)
        assert here.question_id is None and not here.review and not here.walk
    else:
        assert here.field_id is None and here.question_id is None and not here.review
        assert not here.walk
    assert not (here.review and here.walk), "a review of skipped ones is no walk of a field"


def check_answers(q: Questionnaire, state: SessionState) -> None:
    for question_id, value in state.answers.items():
        assert q.has_question(question_id)
        if value == NOT_APPLICABLE:
            assert q.question(question_id).allow_not_applicable
        else:
            assert value is SKIPPED or q.scale.option(value) is not None


def check_step(q: Questionnaire, before: SessionState, event: Event, outcome: Outcome) -> None:
    after = outcome.state
    accepted = outcome.refused is None
    assert accepted == should_accept(q, before, event), (event, before.position)
    if not accepted:
        assert after is before
        assert outcome.stored_answer is None and outcome.field_completed is None
        assert not outcome.session_completed
        return
    assert after.revision == before.revision + 1
    if isinstance(event, AnswerQuestion | SkipQuestion | MarkNotApplicable):
        value = {AnswerQuestion: None, SkipQuestion: SKIPPED, MarkNotApplicable: NOT_APPLICABLE}[
            type(event)
        ]
        if isinstance(event, AnswerQuestion):
            value = event.option_id
        assert outcome.stored_answer == (event.question_id, value)
        assert dict(after.answers) == {**before.answers, event.question_id: value}
        check_next_position(q, before, after, event.question_id)
    elif isinstance(event, KeepAnswer):
        assert outcome.stored_answer is None
        assert dict(after.answers) == dict(before.answers)
        check_next_position(q, before, after, event.question_id, kept=True)
    else:
        assert outcome.stored_answer is None
        assert dict(after.answers) == dict(before.answers)
    newly = complete_fields(q, after.answers) - complete_fields(q, before.answers)
    assert newly == ({outcome.field_completed} if outcome.field_completed else set())
    all_ids = {x.id for x in q.questions}
    was_done, is_done = all_ids <= set(before.answers), all_ids <= set(after.answers)
    assert outcome.session_completed == (is_done and not was_done)


def check_next_position(
    q: Questionnaire,
    before: SessionState,
    after: SessionState,
    question_id: str,
    kept: bool = False,
) -> None:
    """After an answer (or "weiter"): where the check goes on.

    In a review, the next skipped question; in a walk through a field, the question right
    after this one, and after the field's last its result (or its first open question);
    otherwise the next open question of the field. "weiter" outside a walk goes on in order.
    """
    here = after.position
    if before.position.review:
        if here.screen is Screen.RESULTS:
            return
        assert here.screen is Screen.QUESTION and here.review
        assert here.question_id is not None and after.answers[here.question_id] is SKIPPED
        assert q.question_number(here.question_id) > q.question_number(question_id)
        return
    field_id = q.question(question_id).field
    assert here.field_id == field_id and not here.review
    in_field = [x.id for x in q.field_questions(field_id)]
    index = in_field.index(question_id)
    in_order = before.position.walk or kept
    if in_order and index + 1 < len(in_field):
        assert here == Position(Screen.QUESTION, field_id, in_field[index + 1], walk=here.walk)
        assert here.walk == before.position.walk
        return
    assert not here.walk
    if here.screen is Screen.FIELD_RESULT:
        assert field_id in complete_fields(q, after.answers)
    else:
        assert here.screen is Screen.QUESTION
        assert here.question_id not in after.answers


@pytest.mark.parametrize(
    ("q", "max_steps"),
    # The mini questionnaire gets longer runs so whole sessions complete, too.
    [(MINI, 150), *((q, 100) for q in BY_TYPE.values())],
    ids=["mini", *TYPES],
)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_any_event_sequence_keeps_the_session_consistent(
    q: Questionnaire, max_steps: int, data: st.DataObject
) -> None:
    steps = data.draw(st.integers(1, max_steps), label="steps")
    raw = data.draw(
        st.binary(min_size=EVENT_CODE_BYTES * steps, max_size=EVENT_CODE_BYTES * steps),
        label="events",
    )
    codes = [
        int.from_bytes(raw[i : i + EVENT_CODE_BYTES], "big")
        for i in range(0, len(raw), EVENT_CODE_BYTES)
    ]
    state = SessionState()
    completions = accepted = 0
    trail: list[tuple[Event, int, Position]] = []
    try:
        for code in codes:
            event = resolve(q, state, decode(q, code))
            trail.append((event, state.revision, state.position))
            outcome = apply(q, state, event)
            check_step(q, state, event, outcome)
            assert outcome.state.revision >= state.revision
            completions += outcome.session_completed
            accepted += outcome.refused is None
            state = outcome.state
            check_position(q, state)
            check_answers(q, state)
    except AssertionError:
        # The events that led here, written only for a failing example (formatting every
        # event of every example cost more than the checks themselves).
        for event, revision, position in trail:
            note(f"{event} at revision {revision}, {position}")
        raise
    assert completions <= 1
    assert state.revision == accepted
