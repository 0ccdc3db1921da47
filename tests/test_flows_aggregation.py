"""The group report: hand-computed figures over a real questionnaire, and anonymity rules.

The figures are computed by hand for the questionnaire as shipped in version 2026.1 (seven fields
of twelve questions each), pinned in `tests/fixtures/` so that editing the shipped content does
not invalidate them.

Five participants with fixed answers (scale: full 3, mostly 2, partly 1, none 0 points):

    P1 administration  everything "full"                                  -> 100 in every field
    P2 administration  everything "none"                                  ->   0 in every field
    P3 administration  everything "mostly"; management 9x partly, 3x none -> 67; management 25
    P4 politics        everything "partly"                                -> 33 in every field
    P5 politics        everything "full"; management only 4 answered     -> 100; management None
                       opening: 1st "none", 2nd an unknown option id      -> opening 30/33 = 91

Field means: management (100+0+25+33)/4 = 39.5 (n=4), opening (100+0+67+33+91)/5 = 58.2,
every other field (100+0+67+33+100)/5 = 60.0.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.aggregation import GroupReport, Participant, group_report
from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "fixtures" / "weltoffene-kommune-2026.1.yaml"
Q = parse_questionnaire(PINNED.read_text(encoding="utf-8"), PINNED.name)


def ids(field_id: str) -> list[str]:
    return [question.id for question in Q.field_questions(field_id)]


def answers(default: str | None, **fields: list[str | None]) -> dict[str, str | None]:
    """Every question answered `default`, except fields given as one value per question."""
    result: dict[str, str | None] = {question.id: default for question in Q.questions}
    for field_id, values in fields.items():
        assert len(values) == len(ids(field_id))
        result.update(zip(ids(field_id), values, strict=True))
    return result


P1 = Participant("administration", answers("full"))
P2 = Participant("administration", answers("none"))
P3 = Participant("administration", answers("mostly", management=["partly"] * 9 + ["none"] * 3))
P4 = Participant("politics", answers("partly"))
P5 = Participant(
    "politics",
    answers(
        "full", management=["full"] * 4 + [None] * 8, opening=["none", "bogus"] + ["full"] * 10
    ),
)
FIVE = [P1, P2, P3, P4, P5]

OTHER_FIELDS = ["access", "economy", "engagement", "cohesion", "communication"]


def means(report: GroupReport, field_id: str) -> dict[str, float | None]:
    return {p.perspective_id: p.mean for p in report.field(field_id).by_perspective}


def counts(report: GroupReport, field_id: str) -> dict[str, int]:
    return {p.perspective_id: p.n for p in report.field(field_id).by_perspective}


# -- fields ----------------------------------------------------------------------------------


def test_counts_and_perspectives() -> None:
    report = group_report(Q, FIVE)
    assert (report.completed, report.min_group, report.missing) == (5, 3, 0)
    assert report.shown
    assert [f.field_id for f in report.fields] == [f.id for f in Q.fields]
    assert report.perspectives == ("administration", "politics")
    assert counts(report, "opening") == {"administration": 3, "politics": 2}


def test_too_few_answers_in_a_field_do_not_count_for_it() -> None:
    management = group_report(Q, FIVE).field("management")
    assert (management.n, management.missing) == (4, 0)
    assert counts(group_report(Q, FIVE), "management") == {"administration": 3, "politics": 1}


def test_field_means_bands_and_band_counts() -> None:
    report = group_report(Q, FIVE)
    management = report.field("management")
    assert management.title == "Management und Steuerung"
    # 158/4 = 39.5: rounds half up to 40, so "auf dem Weg" rather than "am Anfang".
    # Scores 100, 0, 25, 33: no exact extremes, only how many fall into each band.
    assert (management.mean, management.band.id, management.band_counts) == (
        39.5,
        "underway",
        (("beginning", 3), ("underway", 0), ("strong", 1)),
    )
    opening = report.field("opening")
    # The unknown option id counts as unanswered: 30/33 -> 91, not 30/36 -> 83.
    assert (opening.n, opening.mean, opening.band.id, opening.band_counts) == (
        5,
        58.2,
        "underway",
        (("beginning", 2), ("underway", 1), ("strong", 2)),
    )
    for field_id in OTHER_FIELDS:
        field = report.field(field_id)
        assert (field.n, field.mean, field.band.id) == (5, 60.0, "underway")
        assert field.change is None


def test_band_uses_exact_mean_rounded_half_up() -> None:
    # P1 100, P5 100, P3 67 -> 267/3 = 89.0; P2, P2, P4 -> 33/3 = 11.0
    assert group_report(Q, [P1, P5, P3]).field("economy").band.id == "strong"
    assert group_report(Q, [P2, P2, P4]).field("economy").band.id == "beginning"
    # 0, 67, 33, 100 -> 200/4 = 50.0
    assert group_report(Q, [P2, P3, P4, P1]).field("economy").mean == 50.0
    # 6 x 44 (16 of 36 points) and 5 x 100 -> 764/11 = 69.45: shown as 69.5, but the band comes
    # from the exact mean (69), never from the already rounded figure (70).
    at_44 = Participant(None, answers("full", economy=["full"] * 4 + ["mostly"] * 2 + ["none"] * 6))
    economy = group_report(Q, [at_44] * 6 + [P1] * 5).field("economy")
    assert (economy.mean, economy.band.id) == (69.5, "underway")


def test_perspective_hidden_when_rest_of_group_is_too_small() -> None:
    report = group_report(Q, FIVE)
    # Administration has 3, but showing its mean next to the field mean would reveal the mean of
    # the two politicians; so both are withheld.
    assert means(report, "opening") == {"administration": None, "politics": None}
    assert means(report, "management") == {"administration": None, "politics": None}


def test_perspective_shown_when_rest_is_empty_or_large_enough() -> None:
    civil = Participant("civil_society", answers("full"))
    report = group_report(Q, [*FIVE, civil])
    assert report.perspectives == ("administration", "politics", "civil_society")
    # Opening: administration (100+0+67)/3 = 55.7; the other three (33, 91, 100) stay together.
    assert means(report, "opening") == {
        "administration": 55.7,
        "politics": None,
        "civil_society": None,
    }
    assert report.field("opening").mean == 65.2  # 391/6 = 65.17
    # Management: P5 has no score, so the rest (P4, civil) is two: administration withheld too.
    assert means(report, "management") == {
        "administration": None,
        "politics": None,
        "civil_society": None,
    }
    labels = [p.label for p in report.field("opening").by_perspective]
    assert labels == ["Verwaltung", "Politik", "Zivilgesellschaft"]

    only_admin = group_report(Q, [P1, P2, P3])
    assert means(only_admin, "management") == {"administration": 41.7}  # 125/3


def test_participants_without_perspective_count_but_get_no_column() -> None:
    nobody = Participant(None, answers("full"))
    unknown = Participant("mayor", answers("full"))
    report = group_report(Q, [P1, P2, P3, nobody, unknown])
    assert report.completed == 5
    assert report.perspectives == ("administration",)
    economy = report.field("economy")
    assert economy.n == 5
    assert economy.mean == 73.4  # (100+0+67+100+100)/5
    # Rest without a column is two people: administration's mean would reveal theirs.
    assert means(report, "economy") == {"administration": None}
    report = group_report(Q, [P1, P2, P3, nobody, unknown, nobody])
    assert means(report, "economy") == {"administration": 55.7}


def test_min_group_two_shows_small_perspectives() -> None:
    report = group_report(Q, FIVE, min_group=2)
    assert means(report, "opening") == {"administration": 55.7, "politics": 62.0}
    # Management: politics has only P4, so administration is withheld as well.
    assert means(report, "management") == {"administration": None, "politics": None}
    assert report.field("management").mean == 39.5


def test_min_group_one_shows_everything() -> None:
    report = group_report(Q, FIVE, min_group=1)
    assert means(report, "management") == {"administration": 41.7, "politics": 33.0}
    assert means(report, "opening") == {"administration": 55.7, "politics": 62.0}
    single = group_report(Q, [P3], min_group=1).field("management")
    assert (single.mean, single.band_counts, single.band.id) == (
        25.0,
        (("beginning", 1), ("underway", 0), ("strong", 0)),
        "beginning",
    )


def test_min_group_five() -> None:
    report = group_report(Q, FIVE, min_group=5)
    assert report.missing == 0
    management = report.field("management")
    assert (management.n, management.missing, management.mean, management.band) == (
        4,
        1,
        None,
        None,
    )
    assert management.band_counts is None
    opening = report.field("opening")
    assert (opening.mean, opening.missing) == (58.2, 0)
    assert means(report, "opening") == {"administration": None, "politics": None}
    # Only questions all five answered: opening's 1st (mean 40.0), management's 1st four (53.3).
    assert [s.question_id for s in report.priorities] == [
        ids("opening")[0],
        *ids("management")[:4],
    ]


def test_below_threshold_everything_is_hidden() -> None:
    report = group_report(Q, [P1, P2])
    assert (report.completed, report.missing) == (2, 1)
    assert not report.shown
    assert report.divergent == ()
    assert report.priorities == ()
    assert report.perspectives == ("administration",)
    for field in report.fields:
        assert (field.n, field.missing) == (2, 1)
        assert (field.mean, field.band, field.band_counts, field.change) == (None,) * 4
        assert [(p.n, p.mean) for p in field.by_perspective] == [(2, None)]


def test_empty_group() -> None:
    report = group_report(Q, [])
    assert (report.completed, report.missing, report.perspectives) == (0, 3, ())
    assert all(f.n == 0 and f.missing == 3 and f.mean is None for f in report.fields)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        group_report(Q, FIVE, min_group=0)
    with pytest.raises(ValueError):
        group_report(Q, FIVE, top=-1)


# -- change since the previous round ---------------------------------------------------------


def test_change_since_previous_round() -> None:
    report = group_report(Q, FIVE, previous=[P2, P3, P4])
    # Previous management (0+25+33)/3 = 19.3 -> 39.5 - 19.3 = 20.2
    assert report.field("management").change == 20.2
    # Previous opening (0+67+33)/3 = 33.3 -> 58.2 - 33.3 = 24.9
    assert report.field("opening").change == 24.9
    # Previous elsewhere also 33.3 -> 60.0 - 33.3 = 26.7
    assert all(report.field(f).change == 26.7 for f in OTHER_FIELDS)


def test_change_is_difference_of_the_shown_means() -> None:
    # Previous economy: 0, 67, 67 -> 134/3 = 44.67 shown 44.7; now 60.0 -> 15.3 (exact 15.33).
    report = group_report(Q, FIVE, previous=[P2, P3, P3])
    assert report.field("economy").change == 15.3
    # A drop is negative: previous 100, 100, 67 -> 89.0; now 60.0.
    report = group_report(Q, FIVE, previous=[P1, P1, P3])
    assert report.field("economy").change == -29.0


def test_no_change_when_either_round_is_hidden() -> None:
    assert group_report(Q, FIVE, previous=[P1, P2]).field("opening").change is None
    # Previous management: P5 has no score, so only two of three count.
    report = group_report(Q, FIVE, previous=[P1, P2, P5])
    assert report.field("management").change is None
    # Previous opening: (100+0+91)/3 = 63.7 -> 58.2 - 63.7 = -5.5
    assert report.field("opening").change == -5.5
    assert group_report(Q, FIVE, min_group=5, previous=FIVE).field("management").change is None
    assert group_report(Q, FIVE).field("opening").change is None


# -- questions -------------------------------------------------------------------------------


def test_priorities_lowest_mean_first_then_questionnaire_order() -> None:
    report = group_report(Q, FIVE)
    m, o = ids("management"), ids("opening")
    # management 10–12: full, none, none, partly (P5 skipped) -> 33.3
    # opening 1: full, none, mostly, partly, none -> 40.0
    # management 5–9: full, none, partly, partly (P5 skipped) -> 41.7
    assert [s.question_id for s in report.priorities] == [m[9], m[10], m[11], o[0], m[4]]
    first = report.priorities[0]
    question = Q.question(m[9])
    assert (first.field_id, first.text, first.suggestion) == (
        "management",
        question.text,
        question.suggestion,
    )
    assert (first.n, first.mean) == (4, 33.3)
    # No spread is reported: with mean and spread of a few answers, the answers follow.
    assert not hasattr(first, "spread")
    assert [(s.n, s.mean) for s in report.priorities[3:]] == [(5, 40.0), (4, 41.7)]
    longer = group_report(Q, FIVE, top=7)
    assert [s.question_id for s in longer.priorities][5:] == [m[5], m[6]]
    assert group_report(Q, FIVE, top=0).priorities == ()


def test_skipped_and_unknown_answers_excluded_from_question_figures() -> None:
    report = group_report(Q, FIVE, top=200)
    by_id = {s.question_id: s for s in report.priorities}
    assert len(by_id) == len(Q.questions)
    assert (by_id[ids("management")[4]].n, by_id[ids("management")[0]].n) == (4, 5)
    # Opening 2nd: P5's unknown option is left out: 100, 0, 66.7, 33.3 -> 50.0
    second = by_id[ids("opening")[1]]
    assert (second.n, second.mean) == (4, 50.0)
    # Management 1st: 100, 0, 33.3, 33.3, 100 -> 53.3
    assert by_id[ids("management")[0]].mean == 53.3


def test_divergent_highest_spread_first() -> None:
    report = group_report(Q, FIVE)
    m = ids("management")
    # Population SDs (internal only): 40.8 for management 10-12, 40.0 for management 1 and 2.
    assert [s.question_id for s in report.divergent] == [m[9], m[10], m[11], m[0], m[1]]


def test_divergent_full_against_none_first_and_only_with_spread() -> None:
    c, e = ids("communication"), ids("economy")
    split = ["mostly"] * 12
    split[3] = "full"
    slight = ["mostly"] * 12
    slight[2] = "full"
    group = [
        Participant("administration", answers("mostly", communication=split, economy=slight)),
        Participant(
            "politics", answers("mostly", communication=["mostly"] * 3 + ["none"] + ["mostly"] * 8)
        ),
        Participant("business", answers("mostly", communication=split)),
    ]
    report = group_report(Q, group)
    # communication 4: full, none, full -> mean 66.7, SD sqrt(2) * 33.3 = 47.1
    # economy 3: full, mostly, mostly -> mean 77.8, SD sqrt(2)/3 * 33.3 = 15.7
    assert [(s.question_id, s.mean) for s in report.divergent] == [(c[3], 66.7), (e[2], 77.8)]
    # Everything else was answered alike, so it is not divergent; priorities are still full.
    assert len(report.priorities) == 5
    assert report.priorities[0].question_id == Q.questions[0].id
    assert report.priorities[0].mean == 66.7


def test_no_question_figures_below_min_group_answers() -> None:
    # Four participants, but management 5–12 were answered by only P1..P4 when P5 replaces P4.
    report = group_report(Q, [P1, P2, P5, P3], min_group=4)
    m = ids("management")
    listed = {s.question_id for s in (*report.priorities, *report.divergent)}
    assert not listed & set(m[4:])
    assert all(s.n >= 4 for s in (*report.priorities, *report.divergent))


# -- properties ------------------------------------------------------------------------------

CHOICES = ["full", "mostly", "partly", "none", None, "bogus"]


@st.composite
def participants(draw: st.DrawFn) -> Participant:
    perspective = draw(st.sampled_from([None, "unknown", *(p.id for p in Q.perspectives)]))
    # A per-participant bias keeps answers varied across people rather than uniform noise.
    weights = draw(st.lists(st.sampled_from(CHOICES), min_size=1, max_size=4))
    values = draw(
        st.lists(st.sampled_from(weights), min_size=len(Q.questions), max_size=len(Q.questions))
    )
    return Participant(perspective, dict(zip((q.id for q in Q.questions), values, strict=True)))


def independent_field_scores(
    q: Questionnaire, field_id: str, group: list[Participant]
) -> list[int]:
    """Field scores recomputed from the scale directly, independent of the scoring module."""
    field = q.field(field_id)
    points = {o.id: o.points for o in q.scale.options}
    scores = []
    for p in group:
        got = [
            points[a]
            for question in q.field_questions(field_id)
            if (a := p.answers.get(question.id)) in points
        ]
        if len(got) >= field.min_answered:
            scores.append(math.floor(Fraction(sum(got) * 100, len(got) * 3) + Fraction(1, 2)))
    return scores


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    group=st.lists(participants(), max_size=7),
    previous=st.none() | st.lists(participants(), max_size=4),
    min_group=st.integers(min_value=1, max_value=5),
)
def test_shown_figures_are_consistent_and_never_from_too_few(
    group: list[Participant], previous: list[Participant] | None, min_group: int
) -> None:
    report = group_report(Q, group, min_group=min_group, previous=previous)
    assert report.completed == len(group)
    assert report.missing == max(0, min_group - len(group))
    small = len(group) < min_group
    for question_stat in (*report.divergent, *report.priorities):
        assert not small
        assert question_stat.n >= min_group
        assert 0 <= question_stat.mean <= 100
    for field in report.fields:
        scores = independent_field_scores(Q, field.field_id, group)
        assert field.n == len(scores)
        assert field.missing == max(0, min_group - field.n)
        if small or field.n < min_group:
            assert (field.mean, field.band, field.band_counts, field.change) == (None,) * 4
            assert all(p.mean is None for p in field.by_perspective)
            continue
        low, high = min(scores), max(scores)
        assert field.band_counts is not None
        assert [n for _, n in field.band_counts] == [
            sum(1 for s in scores if b.min <= s <= b.max) for b in Q.bands
        ]
        assert 0 <= low <= field.mean <= high <= 100
        assert field.band is not None
        assert field.band.min - 0.5 <= field.mean <= field.band.max + 0.5
        hidden = field.n
        for p in field.by_perspective:
            if p.mean is not None:
                assert p.n >= min_group
                assert low <= p.mean <= high
                hidden -= p.n
        # Whoever has no shown column is either nobody or a group large enough on its own.
        assert hidden == 0 or hidden >= min_group
