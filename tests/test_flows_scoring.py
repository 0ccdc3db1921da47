"""Scoring edge cases: skipping is neutral, bands meet exactly, suggestions follow the gaps."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire
from flows.scoring import SKIPPED, Answers, assess_all, assess_field, score_of

MINI = Path(__file__).resolve().parent / "fixtures" / "mini.yaml"


def mini(points: list[int] | None = None, low: int | None = None) -> Questionnaire:
    """The mini fixture, optionally with another scale (options named p0, p1, ... best first)."""
    text = MINI.read_text(encoding="utf-8")
    if points is None:
        return parse_questionnaire(text, "mini.yaml")
    data = copy.deepcopy(yaml.safe_load(text))
    data["scale"]["options"] = [
        {"id": f"p{value}", "label": f"{value} Punkte", "points": value} for value in points
    ]
    if low is not None:
        data["scale"]["low_answer_max_points"] = low
    return parse_questionnaire(yaml.safe_dump(data, allow_unicode=True), "mini-custom.yaml")


Q = mini()
ALPHA = ["alpha.one", "alpha.two", "alpha.three"]
BETA = ["beta.school", "beta.daycare", "beta.flats", "beta.advice"]


def by_order(question_ids: list[str], values: list[str | None]) -> Answers:
    """Answers given in question order, one value per question."""
    return dict(zip(question_ids, values, strict=True))


def test_no_answers_at_all_leaves_every_field_open() -> None:
    for result in assess_all(Q, {}):
        assert result.score is None
        assert result.band is None
        assert result.answered == result.skipped == 0
        assert result.open == result.total
        assert not result.complete


def test_all_skipped_gives_no_score_and_no_band() -> None:
    result = assess_field(Q, "alpha", dict.fromkeys(ALPHA, SKIPPED))
    assert result.score is None
    assert result.too_few_answers
    assert result.band is None
    assert result.assessment is None
    assert result.band_suggestions == ()
    assert result.gap_suggestions == ()
    assert result.suggestions == ()
    assert (result.answered, result.skipped, result.open) == (0, 3, 0)
    assert result.complete
    assert result.skipped_question_ids == tuple(ALPHA)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "beginning"),
        (39, "beginning"),
        (40, "underway"),
        (69, "underway"),
        (70, "strong"),
        (100, "strong"),
    ],
)
def test_band_for_at_the_borders(score: int, band: str) -> None:
    assert Q.band_for(score).id == band


@pytest.mark.parametrize(
    ("option", "band"),
    [
        ("p0", "beginning"),
        ("p39", "beginning"),
        ("p40", "underway"),
        ("p69", "underway"),
        ("p70", "strong"),
        ("p100", "strong"),
    ],
)
def test_scores_exactly_at_band_borders(option: str, band: str) -> None:
    """With a 0–100 point scale the score of equal answers is exactly the option's points."""
    q = mini([100, 70, 69, 40, 39, 0])
    result = assess_field(q, "alpha", {"alpha.one": option, "alpha.two": option})
    assert result.score == int(option[1:])
    assert result.band is not None and result.band.id == band
    assert result.assessment == q.field("alpha").assessments[band].text
    assert result.band_suggestions == tuple(q.field("alpha").assessments[band].suggestions)


def test_only_one_field_answered_leaves_the_others_open() -> None:
    results = {r.field_id: r for r in assess_all(Q, dict.fromkeys(ALPHA, "full"))}
    assert results["alpha"].score == 100
    assert results["alpha"].band is not None and results["alpha"].band.id == "strong"
    assert results["alpha"].complete
    for field_id in ("beta", "gamma"):
        other = results[field_id]
        assert other.score is None and other.band is None
        assert other.answered == 0 and other.open == other.total


def test_fewer_than_min_answered_is_too_few() -> None:
    answers = {"alpha.one": "full", "alpha.two": SKIPPED, "alpha.three": SKIPPED}
    result = assess_field(Q, "alpha", answers)
    assert result.answered == 1
    assert result.complete
    assert result.too_few_answers
    assert result.score is None and result.band is None and result.assessment is None


def test_exactly_min_answered_is_assessed() -> None:
    result = assess_field(Q, "alpha", {"alpha.one": "full", "alpha.two": "none"})
    assert result.score == 50
    assert not result.too_few_answers
    assert result.band is not None and result.band.id == "underway"
    assert not result.complete


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [("p1", "p0", 1), ("p5", "p0", 3), ("p5", "p1", 3), ("p1", "p1", 1)],
)
def test_rounding_is_half_up(first: str, second: str, expected: int) -> None:
    """0.5 -> 1 and 2.5 -> 3: not banker's rounding, which would give 0 and 2."""
    q = mini([100, 5, 1, 0])
    result = assess_field(q, "alpha", {"alpha.one": first, "alpha.two": second})
    assert result.score == expected


def test_rounding_on_the_normal_scale() -> None:
    """8 of 9 points is 88.9 -> 89; 1 of 9 is 11.1 -> 11."""
    assert assess_field(Q, "alpha", by_order(ALPHA, ["full", "full", "mostly"])).score == 89
    assert assess_field(Q, "alpha", by_order(ALPHA, ["partly", "none", "none"])).score == 11


def test_score_is_relative_to_the_lowest_option() -> None:
    """A 1..4 scale: the lowest answer everywhere is 0, the highest 100."""
    q = mini([4, 3, 2, 1], low=2)
    assert assess_field(q, "alpha", dict.fromkeys(ALPHA, "p1")).score == 0
    assert assess_field(q, "alpha", dict.fromkeys(ALPHA, "p4")).score == 100
    assert score_of(q, q.field_questions("alpha"), {}) is None


def test_gap_suggestions_lowest_first_then_questionnaire_order_at_most_three() -> None:
    answers = by_order(BETA, ["partly", "none", "partly", "none"])
    result = assess_field(Q, "beta", answers)
    assert [g.question_id for g in result.gap_suggestions] == [
        "beta.daycare",
        "beta.advice",
        "beta.school",
    ]
    assert [g.points for g in result.gap_suggestions] == [0, 0, 1]
    first = result.gap_suggestions[0]
    assert first.text == Q.question("beta.daycare").suggestion
    assert first.question_text == Q.question("beta.daycare").text


def test_gap_suggestions_only_for_low_answers() -> None:
    answers = by_order(BETA, ["full", "mostly", "partly", "mostly"])
    result = assess_field(Q, "beta", answers)
    assert [g.question_id for g in result.gap_suggestions] == ["beta.flats"]
    answers = by_order(BETA, ["full", "mostly", "mostly", "full"])
    assert assess_field(Q, "beta", answers).gap_suggestions == ()


def test_gap_suggestions_never_for_skipped_questions() -> None:
    answers = by_order(BETA, [SKIPPED, "none", SKIPPED, "full"])
    result = assess_field(Q, "beta", answers)
    assert [g.question_id for g in result.gap_suggestions] == ["beta.daycare"]


def test_suggestions_show_own_gaps_before_band_suggestions() -> None:
    answers = by_order(ALPHA, ["none", "full", "full"])
    result = assess_field(Q, "alpha", answers)
    assert result.score == 67
    assert result.band is not None and result.band.id == "underway"
    assert result.suggestions == (
        Q.question("alpha.one").suggestion,
        *Q.field("alpha").assessments["underway"].suggestions,
    )


def test_skipped_questions_never_lower_the_score() -> None:
    answered: Answers = {"alpha.one": "full", "alpha.two": "full"}
    with_skip = {**answered, "alpha.three": SKIPPED}
    with_low = {**answered, "alpha.three": "none"}
    assert assess_field(Q, "alpha", answered).score == 100
    assert assess_field(Q, "alpha", with_skip).score == 100
    assert assess_field(Q, "alpha", with_low).score == 67


def test_unknown_option_ids_are_ignored() -> None:
    answers = {"alpha.one": "full", "alpha.two": "full", "alpha.three": "sehr gut"}
    result = assess_field(Q, "alpha", answers)
    assert result.score == 100
    assert (result.answered, result.skipped, result.open) == (2, 0, 1)
    assert result.gap_suggestions == ()
    assert score_of(Q, Q.field_questions("alpha"), {"alpha.one": "bogus"}) is None


def test_answers_of_other_fields_do_not_leak_in() -> None:
    answers = {**dict.fromkeys(BETA, "none"), "alpha.one": "full", "alpha.two": "full"}
    result = assess_field(Q, "alpha", answers)
    assert result.score == 100
    assert result.gap_suggestions == ()
    assert result.total == 3
