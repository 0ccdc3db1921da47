"""The coordinator's group report: several completed self-checks of one municipality, combined.

The report opens a workshop where administration, politics, civil society and business discuss
their results together, so it must never expose what one person answered. This module computes
the exact group statistics; what of them may be *published* (to whom, in which release, in which
form) is decided only by `flows.disclosure`, which every rendering goes through. Even here no
exact extreme (minimum, maximum) and no per-question spread leaves the module: those invert small
groups (3·mean − min − max is the third score; mean and spread of three answers give all three).
Every figure rests on at least `min_group` participants; below that only counts are shown. A
perspective's mean is also withheld when showing it would let the remaining participants' mean be
worked out by subtracting it from the field's mean (e.g. three from the administration and one
from politics).

All figures are computed exactly (fractions) and rounded once, half up, to one decimal, so the
same answers always give the same report and nothing depends on float noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from flows.questionnaire import Band, Question, Questionnaire
from flows.scoring import assess_field

P = TypeVar("P", bound="Participant")

DEFAULT_MIN_GROUP = 3
"""Smallest group whose figures may be shown; smaller groups would point at individuals."""

DEFAULT_TOP = 5
"""How many questions the divergent and priority lists hold: enough for one workshop session."""


@dataclass(frozen=True)
class Participant:
    """One completed self-check in the group's round."""

    perspective: str | None
    answers: Mapping[str, str | None]


@dataclass(frozen=True)
class PerspectiveScore:
    """One perspective's view of a field; `mean` is None whenever showing it could identify."""

    perspective_id: str
    label: str
    n: int
    mean: float | None


@dataclass(frozen=True)
class FieldSummary:
    """The group's picture of one field; every figure is None while too few took part."""

    field_id: str
    title: str
    n: int
    mean: float | None
    band: Band | None
    band_counts: tuple[tuple[str, int], ...] | None
    by_perspective: tuple[PerspectiveScore, ...]
    change: float | None
    missing: int

    @property
    def shown(self) -> bool:
        return self.mean is not None


@dataclass(frozen=True)
class QuestionStat:
    """How the group answered one statement, on the 0–100 scale of the field scores."""

    question_id: str
    field_id: str
    text: str
    suggestion: str
    n: int
    mean: float


@dataclass(frozen=True)
class GroupReport:
    """Everything the coordinator may show the workshop; `missing` > 0 means nothing yet."""

    completed: int
    min_group: int
    missing: int
    fields: tuple[FieldSummary, ...]
    divergent: tuple[QuestionStat, ...]
    priorities: tuple[QuestionStat, ...]
    perspectives: tuple[str, ...]

    @property
    def shown(self) -> bool:
        return self.missing == 0

    def field(self, field_id: str) -> FieldSummary:
        return next(f for f in self.fields if f.field_id == field_id)


def group_report(
    q: Questionnaire,
    participants: Sequence[Participant],
    *,
    min_group: int = DEFAULT_MIN_GROUP,
    previous: Sequence[Participant] | None = None,
    top: int = DEFAULT_TOP,
) -> GroupReport:
    """Combine the participants' answers into figures that never single anyone out.

    `previous` is the same municipality's earlier round; a field's `change` is the difference of
    the two shown means (so it always matches the figures people see side by side).
    """
    if min_group < 1:
        raise ValueError(f"min_group must be at least 1, got {min_group}")
    if top < 0:
        raise ValueError(f"top must not be negative, got {top}")
    perspectives = _perspectives_present(q, participants)
    previous_tenths = (
        {f.id: _field_mean_tenths(q, f.id, previous, min_group) for f in q.fields}
        if previous is not None
        else {}
    )
    fields = tuple(
        _field_summary(q, f.id, participants, perspectives, min_group, previous_tenths.get(f.id))
        for f in q.fields
    )
    stats = question_stats(q, participants, min_group)
    divergent, priorities = rank_questions(stats)
    return GroupReport(
        completed=len(participants),
        min_group=min_group,
        missing=max(0, min_group - len(participants)),
        fields=fields,
        divergent=tuple(s.public() for s in divergent[:top]),
        priorities=tuple(s.public() for s in priorities[:top]),
        perspectives=perspectives,
    )


# -- fields ----------------------------------------------------------------------------------


def _perspectives_present(q: Questionnaire, participants: Sequence[Participant]) -> tuple[str, ...]:
    """Known perspective ids in questionnaire order; unknown or None ones get no column."""
    present = {p.perspective for p in participants}
    return tuple(p.id for p in q.perspectives if p.id in present)


def scored_participants(
    q: Questionnaire, field_id: str, participants: Sequence[P]
) -> list[tuple[P, int]]:
    """(participant, field score) for everyone with enough answers in the field to have a score."""
    scored = []
    for participant in participants:
        score = assess_field(q, field_id, participant.answers).score
        if score is not None:
            scored.append((participant, score))
    return scored


def known_perspective(q: Questionnaire, participant: Participant) -> str | None:
    """The participant's perspective if the questionnaire has it; unknown ones get no column."""
    return participant.perspective if q.perspective(participant.perspective) else None


def _field_scores(
    q: Questionnaire, field_id: str, participants: Sequence[Participant]
) -> list[tuple[str | None, int]]:
    """(perspective, score) for everyone with enough answers in the field to have a score."""
    return [(known_perspective(q, p), s) for p, s in scored_participants(q, field_id, participants)]


def band_counts(q: Questionnaire, scores: Sequence[int]) -> tuple[tuple[str, int], ...]:
    """How many scores fall into each band, in the questionnaire's band order."""
    counts = dict.fromkeys((b.id for b in q.bands), 0)
    for score in scores:
        counts[q.band_for(score).id] += 1
    return tuple(counts.items())


def _field_mean_tenths(
    q: Questionnaire, field_id: str, participants: Sequence[Participant], min_group: int
) -> int | None:
    """A field's shown mean in tenths, or None when it would not be shown."""
    if len(participants) < min_group:
        return None
    scores = [score for _, score in _field_scores(q, field_id, participants)]
    if len(scores) < min_group:
        return None
    return tenths(Fraction(sum(scores), len(scores)))


def _field_summary(
    q: Questionnaire,
    field_id: str,
    participants: Sequence[Participant],
    perspectives: tuple[str, ...],
    min_group: int,
    previous_tenths: int | None,
) -> FieldSummary:
    scored = _field_scores(q, field_id, participants)
    n = len(scored)
    groups = {pid: [s for p, s in scored if p == pid] for pid in perspectives}
    shown = len(participants) >= min_group and n >= min_group
    mean = band = counts = change = None
    visible: set[str] = set()
    if shown:
        exact = Fraction(sum(s for _, s in scored), n)
        mean_tenths = tenths(exact)
        mean = mean_tenths / 10
        band = q.band_for(half_up(exact))
        counts = band_counts(q, [s for _, s in scored])
        if previous_tenths is not None:
            change = (mean_tenths - previous_tenths) / 10
        visible = visible_perspectives(perspectives, groups, n, min_group)
    by_perspective = tuple(
        PerspectiveScore(
            perspective_id=pid,
            label=_label(q, pid),
            n=len(groups[pid]),
            mean=tenths(Fraction(sum(groups[pid]), len(groups[pid]))) / 10
            if pid in visible
            else None,
        )
        for pid in perspectives
    )
    return FieldSummary(
        field_id=field_id,
        title=q.field(field_id).title,
        n=n,
        mean=mean,
        band=band,
        band_counts=counts,
        by_perspective=by_perspective,
        change=change,
        missing=max(0, min_group - n),
    )


def visible_perspectives(
    perspectives: Sequence[str], groups: Mapping[str, Sequence[object]], n: int, min_group: int
) -> set[str]:
    """Perspectives whose mean may be shown next to the field's mean over all `n`.

    Field mean and shown perspective means together reveal the mean of everyone else; that rest
    must be empty or itself at least `min_group` large. While it is not, the smallest shown
    perspective (the later one in questionnaire order on a tie) is withheld as well.
    """
    visible = [pid for pid in perspectives if len(groups[pid]) >= min_group]
    rest = n - sum(len(groups[pid]) for pid in visible)
    while visible and 0 < rest < min_group:
        smallest = min(reversed(visible), key=lambda pid: len(groups[pid]))
        visible.remove(smallest)
        rest += len(groups[smallest])
    return set(visible)


def _label(q: Questionnaire, perspective_id: str) -> str:
    perspective = q.perspective(perspective_id)
    return perspective.label if perspective else perspective_id


# -- questions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExactQuestionStat:
    """A question's exact figures; sorting uses these, a report gets only the rounded mean."""

    order: int
    question: Question
    n: int
    mean: Fraction
    variance: Fraction

    def public(self) -> QuestionStat:
        return QuestionStat(
            question_id=self.question.id,
            field_id=self.question.field,
            text=self.question.text,
            suggestion=self.question.suggestion,
            n=self.n,
            mean=tenths(self.mean) / 10,
        )


def rank_questions(
    stats: Sequence[ExactQuestionStat],
) -> tuple[list[ExactQuestionStat], list[ExactQuestionStat]]:
    """(discussion points, priorities): largest divergence first; lowest agreement first.

    A question everyone answered alike is no discussion point, however low its mean.
    """
    divergent = sorted((s for s in stats if s.variance > 0), key=lambda s: (-s.variance, s.order))
    priorities = sorted(stats, key=lambda s: (s.mean, s.order))
    return divergent, priorities


def answer_points(q: Questionnaire, question: Question, participant: Participant) -> int | None:
    """Points above the scale's lowest for a participant's answer; None if skipped or unknown."""
    option = q.scale.option(participant.answers.get(question.id) or "")
    return None if option is None else option.points - q.scale.min_points


def question_stats(
    q: Questionnaire, participants: Sequence[Participant], min_group: int
) -> list[ExactQuestionStat]:
    """Exact mean and population variance (0–100 scale) of questions answered by enough people."""
    if len(participants) < min_group:
        return []
    stats = []
    for order, question in enumerate(q.questions):
        steps = [
            points for p in participants if (points := answer_points(q, question, p)) is not None
        ]
        if len(steps) >= min_group:
            stats.append(exact_question_stat(q, order, question, steps))
    return stats


def exact_question_stat(
    q: Questionnaire, order: int, question: Question, steps: Sequence[int]
) -> ExactQuestionStat:
    """Mean and variance of answers given as points above the scale's lowest (`answer_points`)."""
    # Whole-number sums, one exact division at the end: a thousand participants stay fast.
    span = q.scale.max_points - q.scale.min_points
    n = len(steps)
    total = sum(steps)
    squares = sum(d * d for d in steps)
    mean = Fraction(100 * total, n * span)
    variance = Fraction(10_000 * (n * squares - total * total), n * n * span * span)
    return ExactQuestionStat(order, question, n, mean, variance)


# -- exact rounding --------------------------------------------------------------------------


def half_up(value: Fraction) -> int:
    """Round a non-negative value to an integer, halves up (as the field scores are)."""
    return math.floor(value + Fraction(1, 2))


def tenths(value: Fraction) -> int:
    """A non-negative value in tenths, rounded half up: 39.45 -> 395."""
    return half_up(value * 10)
