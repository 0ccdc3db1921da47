"""The group figures: hand-computed over a real questionnaire, published by `flows.disclosure`.

There is one computation of the group's figures: `flows.aggregation` computes exactly (scores,
means, variances, rounding) and `flows.disclosure.build_release` publishes; these tests check
the figures of a first release (k = 3, no history) against hand computation, and the exact
statistics the statement lists are ranked by.

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
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.aggregation import (
    ExactQuestionStat,
    Participant,
    answer_points,
    exact_question_stat,
    rank_questions,
    scored_participants,
)
from flows.disclosure import Check, PublishedReport, build_release, next_release
from flows.loading import parse_questionnaire
from flows.questionnaire import Questionnaire

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "fixtures" / "weltoffene-kommune-2026.1.yaml"
Q = parse_questionnaire(PINNED.read_text(encoding="utf-8"), PINNED.name)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


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


def publish(
    group: list[Participant], *, k: int = 3, previous: list[Participant] | None = None
) -> PublishedReport:
    """The first release over `group` as `flows.disclosure` publishes it (the chat's figures)."""
    earlier = None
    if previous is not None:
        release = next_release(Q, [], checks(previous), k, T0)
        earlier = release.report if release is not None else None
    return build_release(Q, [], checks(group), k, T0, previous_round=earlier).report


def checks(group: list[Participant]) -> list[Check]:
    return [Check(p.perspective, p.answers, i + 1) for i, p in enumerate(group)]


def means(report: PublishedReport, field_id: str) -> dict[str, float | None]:
    return {p.perspective_id: p.mean for p in report.field(field_id).by_perspective}


def counts(report: PublishedReport, field_id: str) -> dict[str, int]:
    return {p.perspective_id: p.n for p in report.field(field_id).by_perspective}


def stats(group: list[Participant]) -> list[ExactQuestionStat]:
    """Exact statistics of every statement someone answered, as disclosure ranks them."""
    found = []
    for order, question in enumerate(Q.questions):
        steps = [s for p in group if (s := answer_points(Q, question, p)) is not None]
        if steps:
            found.append(exact_question_stat(Q, order, question, steps))
    return found


# -- fields ----------------------------------------------------------------------------------


def test_counts_and_perspectives() -> None:
    report = publish(FIVE)
    assert (report.completed, report.min_group, report.missing) == (5, 3, 0)
    assert report.shown
    assert [f.field_id for f in report.fields] == [f.id for f in Q.fields]
    assert counts(report, "opening") == {"administration": 3, "politics": 2}
    assert [(c.perspective_id, c.n) for c in report.perspective_counts] == [("administration", 3)]
    assert report.unnamed == 2


def test_too_few_answers_in_a_field_do_not_count_for_it() -> None:
    assert [score for _, score in scored_participants(Q, "management", FIVE)] == [100, 0, 25, 33]
    management = publish(FIVE).field("management")
    assert management.n == 4
    assert counts(publish(FIVE), "management") == {"administration": 3, "politics": 1}


def test_field_means_and_bands() -> None:
    report = publish(FIVE)
    management = report.field("management")
    assert management.title == "Management und Steuerung"
    # 158/4 = 39.5: rounds half up to 40, so "auf dem Weg" rather than "am Anfang".
    assert (management.mean, management.band.id) == (39.5, "underway")
    opening = report.field("opening")
    # The unknown option id counts as unanswered: 30/33 -> 91, not 30/36 -> 83.
    assert [score for _, score in scored_participants(Q, "opening", FIVE)][-1] == 91
    assert (opening.n, opening.mean, opening.band.id) == (5, 58.2, "underway")
    for field_id in OTHER_FIELDS:
        field = report.field(field_id)
        assert (field.n, field.mean, field.band.id) == (5, 60.0, "underway")
        assert field.change is None


def test_band_counts_where_published_are_the_hand_counted_ones() -> None:
    # Opening 100, 0, 67, 33, 91: two "am Anfang", one "auf dem Weg", two "gut aufgestellt".
    opening = publish(FIVE).field("opening")
    assert opening.band_counts is not None
    assert [(b.band_id, b.count) for b in opening.band_counts] == [
        ("beginning", 2),
        ("underway", 1),
        ("strong", 2),
    ]


def test_band_uses_exact_mean_rounded_half_up() -> None:
    # 0, 67, 33, 100 -> 200/4 = 50.0
    assert publish([P2, P3, P4, P1]).field("economy").mean == 50.0
    # 6 x 44 (16 of 36 points) and 5 x 100 -> 764/11 = 69.45: shown as 69.5, but the band comes
    # from the exact mean (69), never from the already rounded figure (70).
    at_44 = Participant(None, answers("full", economy=["full"] * 4 + ["mostly"] * 2 + ["none"] * 6))
    economy = publish([at_44] * 6 + [P1] * 5).field("economy")
    assert (economy.mean, economy.band.id) == (69.5, "underway")


def test_perspective_hidden_when_rest_of_group_is_too_small() -> None:
    report = publish(FIVE)
    # Administration has 3, but showing its mean next to the field mean would reveal the mean of
    # the two politicians; so both are withheld.
    assert means(report, "opening") == {"administration": None, "politics": None}
    assert means(report, "management") == {"administration": None, "politics": None}


def test_perspective_shown_when_rest_is_empty_or_large_enough() -> None:
    civil = Participant("civil_society", answers("mostly"))
    report = publish([*FIVE, civil])
    # Opening: administration (100+0+67)/3 = 55.7; the other three (33, 91, 67) stay together.
    assert means(report, "opening") == {
        "administration": 55.7,
        "politics": None,
        "civil_society": None,
    }
    assert report.field("opening").mean == 59.7  # 358/6 = 59.67
    # With 100 instead of 67 the rest would pin the one at 33 to 91..100 (who knows their
    # own score subtracts it): the audit withholds administration then.
    full = publish([*FIVE, Participant("civil_society", answers("full"))])
    assert means(full, "opening")["administration"] is None
    # Management: P5 has no score, so the rest (P4, civil) is two: administration withheld too.
    assert means(report, "management") == {
        "administration": None,
        "politics": None,
        "civil_society": None,
    }
    labels = [p.label for p in report.field("opening").by_perspective]
    assert labels == ["Verwaltung", "Politik", "Zivilgesellschaft"]
    only_admin = publish([P1, P2, P3])
    assert means(only_admin, "management") == {"administration": 41.7}  # 125/3


def test_participants_without_perspective_count_but_get_no_column() -> None:
    nobody = Participant(None, answers("mostly"))
    unknown = Participant("mayor", answers("full"))
    report = publish([P1, P2, P3, nobody, unknown])
    assert report.completed == 5
    economy = report.field("economy")
    assert economy.n == 5
    assert economy.mean == 66.8  # (100+0+67+67+100)/5
    # Rest without a column is two people: administration's mean would reveal theirs.
    assert means(report, "economy") == {"administration": None}
    report = publish([P1, P2, P3, nobody, unknown, nobody])
    assert means(report, "economy") == {"administration": 55.7}


def test_higher_k_withholds_a_field_below_it() -> None:
    report = publish(FIVE, k=5)
    management = report.field("management")
    assert (management.n, management.mean, management.band) == (4, None, None)
    assert report.field("opening").mean == 58.2


def test_below_threshold_no_release() -> None:
    assert next_release(Q, [], checks([P1, P2]), 3, T0) is None


# -- change since the previous round ---------------------------------------------------------


def test_change_since_previous_round() -> None:
    report = publish(FIVE, previous=[P2, P3, P4])
    # Previous management (0+25+33)/3 = 19.3 -> 39.5 - 19.3 = 20.2
    assert report.field("management").change == 20.2
    # Previous opening (0+67+33)/3 = 33.3 -> 58.2 - 33.3 = 24.9
    assert report.field("opening").change == 24.9
    # Previous elsewhere also 33.3 -> 60.0 - 33.3 = 26.7
    assert all(report.field(f).change == 26.7 for f in OTHER_FIELDS)


def test_change_is_difference_of_the_shown_means() -> None:
    # Previous economy: 0, 67, 67 -> 134/3 = 44.67 shown 44.7; now 60.0 -> 15.3 (exact 15.33).
    assert publish(FIVE, previous=[P2, P3, P3]).field("economy").change == 15.3
    # A drop is negative: previous 100, 67, 67 -> 78.0; now 60.0.
    assert publish(FIVE, previous=[P1, P3, P3]).field("economy").change == -18.0


def test_no_change_when_either_round_is_hidden() -> None:
    assert publish(FIVE, previous=[P1, P2]).field("opening").change is None
    # Previous management: P5 has no score, so only two of three count.
    report = publish(FIVE, previous=[P3, P2, P5])
    assert report.field("management").change is None
    # Previous opening: (67+0+91)/3 = 52.7 -> 58.2 - 52.7 = 5.5
    assert report.field("opening").change == 5.5
    assert publish(FIVE).field("opening").change is None


# -- the exact statement statistics ----------------------------------------------------------


def test_priorities_lowest_mean_first_then_questionnaire_order() -> None:
    _, priorities = rank_questions(stats(FIVE))
    m, o = ids("management"), ids("opening")
    # management 10–12: full, none, none, partly (P5 skipped) -> 33.3
    # opening 1: full, none, mostly, partly, none -> 40.0
    # management 5–9: full, none, partly, partly (P5 skipped) -> 41.7
    assert [s.question.id for s in priorities[:7]] == [m[9], m[10], m[11], o[0], m[4], m[5], m[6]]
    first = priorities[0]
    assert (first.question.field, first.n, round(float(first.mean), 1)) == ("management", 4, 33.3)
    assert [(s.n, round(float(s.mean), 1)) for s in priorities[3:5]] == [(5, 40.0), (4, 41.7)]


def test_skipped_and_unknown_answers_excluded_from_question_figures() -> None:
    by_id = {s.question.id: s for s in stats(FIVE)}
    assert len(by_id) == len(Q.questions)
    assert (by_id[ids("management")[4]].n, by_id[ids("management")[0]].n) == (4, 5)
    # Opening 2nd: P5's unknown option is left out: 100, 0, 66.7, 33.3 -> 50.0
    second = by_id[ids("opening")[1]]
    assert (second.n, second.mean) == (4, Fraction(50))
    # Management 1st: 100, 0, 33.3, 33.3, 100 -> 53.3
    assert round(float(by_id[ids("management")[0]].mean), 1) == 53.3


def test_divergent_highest_spread_first() -> None:
    divergent, _ = rank_questions(stats(FIVE))
    m = ids("management")
    # Population SDs (internal only): 40.8 for management 10-12, 40.0 for management 1 and 2.
    assert [s.question.id for s in divergent[:5]] == [m[9], m[10], m[11], m[0], m[1]]


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
    divergent, priorities = rank_questions(stats(group))
    # communication 4: full, none, full -> mean 66.7, SD sqrt(2) * 33.3 = 47.1
    # economy 3: full, mostly, mostly -> mean 77.8, SD sqrt(2)/3 * 33.3 = 15.7
    assert [(s.question.id, round(float(s.mean), 1)) for s in divergent] == [
        (c[3], 66.7),
        (e[2], 77.8),
    ]
    # Everything else was answered alike, so it is not divergent; priorities are all there.
    assert priorities[0].question.id == Q.questions[0].id
    assert round(float(priorities[0].mean), 1) == 66.7


# -- properties ------------------------------------------------------------------------------

CHOICES = ["full", "mostly", "partly", "none", None, "bogus"]


@st.composite
def participants(draw: st.DrawFn) -> Participant:
    perspective = draw(st.sampled_from([None, "unknown", *(p.id for p in Q.perspectives)]))
    # A per-participant bias keeps answers varied across people rather than uniform noise.
    weights = draw(st.lists(st.sampled_from(CHOICES), min_size=1, max_size=4))
    # One byte per question, drawn as one byte string (a single choice for Hypothesis, many
    # times cheaper than one draw per question; shrinks towards the first of `weights`).
    raw = draw(st.binary(min_size=len(Q.questions), max_size=len(Q.questions)))
    values = [weights[byte % len(weights)] for byte in raw]
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
    group=st.lists(participants(), min_size=3, max_size=8),
    k=st.integers(min_value=3, max_value=5),
)
def test_shown_figures_are_consistent_and_never_from_too_few(
    group: list[Participant], k: int
) -> None:
    report = build_release(Q, [], checks(group), k, T0).report
    assert report.completed == len(group)
    for question_stat in (*report.divergent, *report.priorities):
        assert question_stat.n >= 2 * k
        assert 0 <= question_stat.mean <= 100
    for field in report.fields:
        scores = independent_field_scores(Q, field.field_id, group)
        assert field.n == len(scores)
        if field.n < k:
            assert (field.mean, field.band, field.band_counts, field.change) == (None,) * 4
            assert all(p.mean is None for p in field.by_perspective)
            continue
        if field.mean is None:
            continue  # withheld by the audit (extreme): test_flows_disclosure attacks that
        low, high = min(scores), max(scores)
        if field.band_counts is not None:
            assert [b.count for b in field.band_counts] == [
                sum(1 for s in scores if b.min <= s <= b.max) for b in Q.bands
            ]
        assert 0 <= low <= field.mean <= high <= 100
        assert field.band is not None
        assert field.band.min - 0.5 <= field.mean <= field.band.max + 0.5
        hidden = field.n
        for p in field.by_perspective:
            if p.mean is not None:
                assert p.n >= k
                assert low <= p.mean <= high
                hidden -= p.n
        # Whoever has no shown column is either nobody or a group large enough on its own.
        assert hidden == 0 or hidden >= k
