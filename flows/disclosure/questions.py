"""Which statements are published as discussion points and priorities, with their means.

A statement's mean is a sum of single answers: it needs `QUESTION_FACTOR`·k of them, passes
the cell audit against the earlier releases, and stays out where it would pin someone's
answers together with its subtheme's figure (`subthemes._subtheme_family`).
"""

from __future__ import annotations

from collections.abc import Sequence

from flows.aggregation import ExactQuestionStat, exact_question_stat, rank_questions, tenths
from flows.disclosure.audit import _audit
from flows.disclosure.markers import Points
from flows.disclosure.model import (
    QUESTION_FACTOR,
    QUESTION_PROTECTION,
    TOP,
    Check,
    PublishedQuestion,
    Release,
)
from flows.disclosure.subthemes import _subtheme_family
from flows.questionnaire import Questionnaire


def _publish_questions(
    q: Questionnaire,
    checks: Sequence[Check],
    points: Points,
    k: int,
    previous: Sequence[Release],
    members: dict[str, tuple[str, ...]],
) -> tuple[tuple[PublishedQuestion, ...], tuple[PublishedQuestion, ...]]:
    """The top discussion points and priorities among questions whose mean may be published.

    A statement of a subtheme whose figure an earlier release published over the same answers
    is left out when the two together would pin someone's answers (`_subtheme_family`):
    subtheme sum minus statement sum is the sum of the subtheme's other answers.
    """
    needed = QUESTION_FACTOR * k
    if len(checks) < needed:
        return (), ()
    span = q.scale.max_points - q.scale.min_points
    eligible: dict[str, ExactQuestionStat] = {}
    for order, question in enumerate(q.questions):
        value = points[question.id]
        n = len(value)
        if n < needed:
            continue
        key = f"q:{question.id}"
        history = [r.members[key] for r in previous if key in r.members]
        if _audit(history, [frozenset(value)], value, 0, span, k, QUESTION_PROTECTION):
            continue
        eligible[question.id] = exact_question_stat(q, order, question, list(value.values()))
    while True:
        divergent, priorities = rank_questions(list(eligible.values()))
        divergent, priorities = divergent[:TOP], priorities[:TOP]
        chosen = {s.question.id for s in (*divergent, *priorities)}
        clashing = {
            question_id
            for field in q.fields
            for subtheme in field.subthemes
            if _subtheme_family(q, field.id, subtheme.id, points, chosen, k, previous, None)
            for question_id in chosen
            if q.question(question_id).subtheme == subtheme.id
            and q.question(question_id).field == field.id
        }
        if not clashing:
            break
        for question_id in clashing:
            del eligible[question_id]
    for question_id in chosen:
        members[f"q:{question_id}"] = tuple(sorted(points[question_id]))

    def publish(stats: Sequence[ExactQuestionStat]) -> tuple[PublishedQuestion, ...]:
        return tuple(
            PublishedQuestion(
                question_id=s.question.id,
                field_id=s.question.field,
                text=s.question.text,
                suggestion=s.question.suggestion,
                n=s.n,
                mean=tenths(s.mean) / 10,
            )
            for s in stats
        )

    return publish(divergent), publish(priorities)
