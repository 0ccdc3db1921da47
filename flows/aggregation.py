"""The coordinator's group report: several completed self-checks of one municipality, combined.

The report opens a workshop where administration, politics, civil society and business discuss
their results together, so it must never expose what one person answered. Every figure rests on
at least `min_group` participants; below that only counts are shown. A perspective's mean is also
withheld when showing it would let the remaining participants' mean be worked out by subtracting
it from the field's mean (e.g. three from the administration and one from politics).

All figures are computed exactly (fractions) and rounded once, half up, to one decimal, so the
same answers always give the same report and nothing depends on float noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from flows.questionnaire import Band, Question, Questionnaire
from flows.scoring import assess_field

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
    low: int | None
    high: int | None
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
    spread: float


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
    stats = _question_stats(q, participants, min_group)
    divergent = sorted(
        (s for s in stats if s.spread_tenths > 0), key=lambda s: (-s.variance, s.order)
    )
    priorities = sorted(stats, key=lambda s: (s.mean, s.order))
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


def _field_scores(
    q: Questionnaire, field_id: str, participants: Sequence[Participant]
) -> list[tuple[str | None, int]]:
    """(perspective, score) for everyone with enough answers in the field to have a score."""
    scored = []
    for participant in participants:
        score = assess_field(q, field_id, participant.answers).score
        if score is not None:
            perspective = participant.perspective
            scored.append((perspective if q.perspective(perspective) else None, score))
    return scored


def _field_mean_tenths(
    q: Questionnaire, field_id: str, participants: Sequence[Participant], min_group: int
) -> int | None:
    """A field's shown mean in tenths, or None when it would not be shown."""
    if len(participants) < min_group:
        return None
    scores = [score for _, score in _field_scores(q, field_id, participants)]
    if len(scores) < min_group:
        return None
    return _tenths(Fraction(sum(scores), len(scores)))


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
    mean = band = low = high = change = None
    visible: set[str] = set()
    if shown:
        exact = Fraction(sum(s for _, s in scored), n)
        tenths = _tenths(exact)
        mean = tenths / 10
        band = q.band_for(_half_up(exact))
        low = min(s for _, s in scored)
        high = max(s for _, s in scored)
        if previous_tenths is not None:
            change = (tenths - previous_tenths) / 10
        visible = _visible_perspectives(perspectives, groups, n, min_group)
    by_perspective = tuple(
        PerspectiveScore(
            perspective_id=pid,
            label=_label(q, pid),
            n=len(groups[pid]),
            mean=_tenths(Fraction(sum(groups[pid]), len(groups[pid]))) / 10
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
        low=low,
        high=high,
        by_perspective=by_perspective,
        change=change,
        missing=max(0, min_group - n),
    )


def _visible_perspectives(
    perspectives: tuple[str, ...], groups: Mapping[str, list[int]], n: int, min_group: int
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
class _Stat:
    """A question's exact figures; sorting uses these, the report gets them rounded."""

    order: int
    question: Question
    n: int
    mean: Fraction
    variance: Fraction

    @property
    def spread_tenths(self) -> int:
        return _sqrt_tenths(self.variance)

    def public(self) -> QuestionStat:
        return QuestionStat(
            question_id=self.question.id,
            field_id=self.question.field,
            text=self.question.text,
            suggestion=self.question.suggestion,
            n=self.n,
            mean=_tenths(self.mean) / 10,
            spread=self.spread_tenths / 10,
        )


def _question_stats(
    q: Questionnaire, participants: Sequence[Participant], min_group: int
) -> list[_Stat]:
    """Exact mean and population variance (0–100 scale) of questions answered by enough people."""
    if len(participants) < min_group:
        return []
    scale = q.scale
    span = scale.max_points - scale.min_points
    stats = []
    for order, question in enumerate(q.questions):
        # Whole-number sums, one exact division at the end: a thousand participants stay fast.
        steps = [
            option.points - scale.min_points
            for p in participants
            if (option := scale.option(p.answers.get(question.id) or "")) is not None
        ]
        n = len(steps)
        if n < min_group:
            continue
        total = sum(steps)
        squares = sum(d * d for d in steps)
        mean = Fraction(100 * total, n * span)
        variance = Fraction(10_000 * (n * squares - total * total), n * n * span * span)
        stats.append(_Stat(order, question, n, mean, variance))
    return stats


# -- exact rounding --------------------------------------------------------------------------


def _half_up(value: Fraction) -> int:
    """Round a non-negative value to an integer, halves up (as the field scores are)."""
    return math.floor(value + Fraction(1, 2))


def _tenths(value: Fraction) -> int:
    """A non-negative value in tenths, rounded half up: 39.45 -> 395."""
    return _half_up(value * 10)


def _sqrt_tenths(variance: Fraction) -> int:
    """sqrt(variance) in tenths, rounded half up, exactly (no float square root).

    With w = 100·variance, the result is floor(sqrt(w) + 1/2) = (floor(sqrt(4w)) + 1) // 2, and
    floor(sqrt(x)) equals isqrt(floor(x)) for x >= 0.
    """
    return (math.isqrt(math.floor(variance * 400)) + 1) // 2
