"""What to clarify ("zu klären"): the statements skipped most often, in order, never counted.

A skip is a yes/no per person, so a skip count is audited as a published sum would be,
although only the order is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flows.disclosure.audit import _audit
from flows.disclosure.markers import Markers
from flows.disclosure.model import QUESTION_FACTOR, TOP, Check, PublishedUnclear, Release
from flows.questionnaire import Questionnaire
from flows.scoring import SKIPPED


def _publish_unclear(
    q: Questionnaire,
    checks: Sequence[Check],
    tokens: Mapping[int, Markers],
    k: int,
    previous: Sequence[Release],
    members: dict[str, tuple[str, ...]],
) -> tuple[PublishedUnclear, ...]:
    """The statements skipped most often ("zu klären"), most skipped first, without counts.

    A skip is a yes/no per person, so a count is a sum of such values and treated exactly like
    a published sum (the attacker is assumed to know it, although only the order is shown): a
    statement is listed only when it was asked in at least `QUESTION_FACTOR`·k checks, at
    least k of them skipped it, and the cell audit against earlier releases finds no cell
    below k and nobody whose skip follows (everyone, or everyone but one, skipped or answered).
    """
    if len(checks) < QUESTION_FACTOR * k:
        return ()
    candidates: list[tuple[int, int, str, frozenset[str]]] = []
    for order, question in enumerate(q.questions):
        skipped = {
            tokens[c.check_id].answer[question.id]: int(c.answers[question.id] is SKIPPED)
            for c in checks
            if question.id in c.answers
        }
        count = sum(skipped.values())
        if len(skipped) < QUESTION_FACTOR * k or count < k:
            continue
        key = f"z:{question.id}"
        history = [r.members[key] for r in previous if key in r.members]
        if _audit(history, [frozenset(skipped)], skipped, 0, 1, k, 1):
            continue
        candidates.append((-count, order, question.id, frozenset(skipped)))
    chosen = sorted(candidates, key=lambda c: c[:2])[:TOP]
    for _, _, question_id, asked in chosen:
        members[f"z:{question_id}"] = tuple(sorted(asked))
    return tuple(
        PublishedUnclear(question_id=x, field_id=q.question(x).field, text=q.question(x).text)
        for _, _, x, _ in chosen
    )
