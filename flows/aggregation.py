"""Exact group statistics: the numbers `flows.disclosure` publishes from, and nothing else.

The coordinator's group report opens a workshop where administration, politics, civil society
and business discuss their results together, so it must never expose what one person
answered. This module only computes exactly — field scores per participant, which
perspectives could stand next to a field's mean, each statement's mean and variance, rounding —
and holds no report of its own: what may be *published* (to whom, in which release, in which
form) is decided only by `flows.disclosure`, whose `PublishedReport` every rendering shows.
There is one computation of the group's figures, and it is that one.

All figures are computed exactly (fractions) and rounded once, half up, to one decimal, so the
same answers always give the same report and nothing depends on float noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from flows.questionnaire import Question, Questionnaire
from flows.scoring import assess_field

P = TypeVar("P", bound="Participant")


@dataclass(frozen=True)
class Participant:
    """One completed self-check in the group's round."""

    perspective: str | None
    answers: Mapping[str, str | None]


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


# -- questions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExactQuestionStat:
    """A question's exact figures; sorting uses these, a report gets only the rounded mean."""

    order: int
    question: Question
    n: int
    mean: Fraction
    variance: Fraction


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
