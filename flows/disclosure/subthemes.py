"""A field's subtheme profile, and the audit of a subtheme with its statements.

A subtheme's figure is a sum of single answers, as a statement's is; subtheme minus statement
is a sum too, so a subtheme and its statements are audited as one family (`_subtheme_family`),
which `questions` asks before it publishes a statement of a published subtheme.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

from flows.aggregation import half_up, tenths
from flows.disclosure.audit import _extremes, _narrowest, cells
from flows.disclosure.markers import Points, _person_id
from flows.disclosure.model import QUESTION_FACTOR, PublishedSubtheme, Reason, Release
from flows.questionnaire import Questionnaire


def _subtheme_key(field_id: str, subtheme_id: str) -> str:
    return f"s:{field_id}/{subtheme_id}"


def _publish_subthemes(
    q: Questionnaire,
    field_id: str,
    points: Points,
    statements: set[str],
    k: int,
    previous: Sequence[Release],
    members: dict[str, tuple[str, ...]],
) -> tuple[PublishedSubtheme, ...]:
    """A field's profile by subtheme: each subtheme's mean agreement over all its answers.

    The figure is the sum of answer points over every answer to the subtheme's statements,
    divided by their number: a sum of single answers, as a statement's figure is, so one rule
    covers both. Rules: `QUESTION_FACTOR`·k checks with an answer there (a subtheme has two to
    five statements, so one person moves it almost as much as a statement); and the audit of
    the whole family (`_subtheme_family`): this figure with every earlier one of the subtheme
    and every statement of it published in the round, cut into cells of single answers; each
    cell must come from k people and must not pin anyone's answers there to fewer than one
    answer's range (`span` points), for an outsider and for a member who knows their own.
    """
    span = q.scale.max_points - q.scale.min_points
    profile = []
    for subtheme in q.field(field_id).subthemes:
        questions = [x for x in q.field_questions(field_id) if x.subtheme == subtheme.id]
        if not questions:
            continue  # nothing of it applies to this municipality type
        answers = {t for x in questions for t in points[x.id]}
        n = len({_person_id(t) for t in answers})
        reason: Reason | None = None
        if n < QUESTION_FACTOR * k:
            reason = Reason.TOO_FEW
        else:
            reason = _subtheme_family(
                q, field_id, subtheme.id, points, statements, k, previous, answers
            )
        if reason is not None:
            profile.append(
                PublishedSubtheme(
                    subtheme_id=subtheme.id,
                    title=subtheme.title,
                    n=n,
                    mean=None,
                    band=None,
                    withheld_reason=reason,
                )
            )
            continue
        members[_subtheme_key(field_id, subtheme.id)] = tuple(sorted(answers))
        total = sum(sum(points[x.id].values()) for x in questions)
        exact = Fraction(100 * total, len(answers) * span)
        profile.append(
            PublishedSubtheme(
                subtheme_id=subtheme.id,
                title=subtheme.title,
                n=n,
                mean=tenths(exact) / 10,
                band=q.band_for(half_up(exact)),
                withheld_reason=None,
            )
        )
    return tuple(profile)


def _subtheme_family(
    q: Questionnaire,
    field_id: str,
    subtheme_id: str,
    points: Points,
    statements: set[str],
    k: int,
    previous: Sequence[Release],
    candidate: set[str] | None,
) -> Reason | None:
    """None if the subtheme's published sums (with `candidate`, its new figure's answer
    markers, if given) together pin nobody's answers; else the reason.

    The family: every earlier release's figure of the subtheme and of its statements, this
    release's statements among `statements`, and the candidate. All are sums of single answers,
    each counted under its answer marker; an attacker adds and subtracts them, so the audit
    cuts them into cells of answers (`cells`). Every cell must come from `QUESTION_FACTOR`·k
    people, as a statement's figure must: subtheme minus one of its statements is a sum over
    the others' answers, as telling as a statement's own. A changed answer is a new unknown,
    an unchanged one the same in every release. Without a subtheme figure in the family, its
    statements are disjoint sums, each audited on its own already.
    """
    questions = [x.id for x in q.field_questions(field_id) if x.subtheme == subtheme_id]
    key = _subtheme_key(field_id, subtheme_id)
    current = {token: value for x in questions for token, value in points[x].items()}
    history: list[frozenset[str]] = []
    for release in previous:
        if key in release.members:
            history.append(frozenset(release.members[key]))
        history += [
            frozenset(release.members[f"q:{x}"]) for x in questions if f"q:{x}" in release.members
        ]
    figures = list(history)
    figures += [frozenset(points[x]) for x in questions if x in statements]
    if candidate is not None:
        figures.append(frozenset(candidate))
    elif not any(key in r.members for r in previous):
        return None
    span = q.scale.max_points - q.scale.min_points
    for cell in cells(figures):
        people: dict[str, int] = Counter(str(_person_id(token)) for token in cell)
        if len(people) < QUESTION_FACTOR * k:
            return Reason.DIFFERENCING if history else Reason.COMPLEMENT
        if any(token not in current for token in cell):
            continue  # mixes unknowns: only the count rule applies
        totals: dict[str, int] = Counter()
        for token in cell:
            totals[str(_person_id(token))] += current[token]
        ranges = {person: (0, span * count) for person, count in people.items()}
        categories = Counter(ranges.values())
        total = sum(totals.values())
        if _narrowest(total, categories) < span:
            return Reason.EXTREME
        for person in _extremes(totals, totals, key=lambda t: str(ranges[t])):
            rest = Counter(categories)
            rest[ranges[person]] -= 1
            if _narrowest(total - totals[person], rest) < span:
                return Reason.EXTREME
    return None
