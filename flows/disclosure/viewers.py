"""The one view every rendering shows: a release as the coordinators who took part may see it.

A coordinator who took part knows their own answers; `for_viewers` withholds whatever that
would let them work out of others. `whose` and `said` tell a rendering which sentence to give
for a missing or withheld figure, the same for chat, page and PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace

from flows.disclosure.audit import cells
from flows.disclosure.fields import _notes, _same_quantity, _withheld_field
from flows.disclosure.markers import _person_id
from flows.disclosure.model import PublishedReport, Reason, Release
from flows.disclosure.releases import nothing_yet
from flows.questionnaire import Questionnaire


def for_viewers(
    q: Questionnaire, history: Sequence[Release], viewers: Collection[int]
) -> PublishedReport:
    """The round's latest release as every one of `viewers` may see it (their check ids).

    A coordinator who took part knows their own answers and can subtract them. So every figure
    must leave `k` others besides each viewer in every group of people the audit separates
    across the round's releases (`cells`): a viewer in a cell of the difference between two
    releases learns the sum of the others in it. Several viewers (the coordinators who took
    part: the workshop page and the PDF are shown to all of them) are checked one by one, and
    a figure any one of them may not see is withheld for all (they do not pool their answers;
    coordinators who do are sock puppets, see docs/privacy.md). Earlier releases count with
    every figure they published, whoever saw them. Withholding more is always safe: it only
    removes published sums.
    """
    release = history[-1]
    report = release.report
    k = report.min_group
    inside = {v for v in viewers if v in release.check_ids}
    if not inside:
        return report
    if report.completed - 1 < k:
        return nothing_yet(q, report.completed, k, for_participants=True)

    def figures(match: Callable[[str], bool], *latest: Iterable[str]) -> list[frozenset[str]]:
        earlier = [
            frozenset(tokens)
            for r in history[:-1]
            for key, tokens in r.members.items()
            if match(key)
        ]
        return [*earlier, *(frozenset(t) for t in latest)]

    def others_enough(groups: Iterable[frozenset[str]]) -> bool:
        for cell in cells(groups):
            people = {_person_id(t) for t in cell}
            if people & inside and len(people) - 1 < k:
                return False
        return True

    def field_enough(field_id: str, *latest: Iterable[str]) -> bool:
        return others_enough(figures(lambda key: _same_quantity(key, field_id), *latest))

    fields = []
    for field in report.fields:
        field_id = field.field_id
        whole = release.members.get(field_id, ())
        if field.mean is None or not {_person_id(t) for t in whole} & inside:
            fields.append(field)
            continue
        population = f"p:{field_id}"
        if len(whole) - 1 < k or not others_enough(
            figures(population.__eq__, release.members.get(population, ()))
        ):
            # The subthemes stay: each cell of theirs holds 2k people, so k besides a viewer.
            withheld = _withheld_field(q, field_id, field.n, (), Reason.TOO_FEW)
            fields.append(replace(withheld, subthemes=field.subthemes))
            continue
        groups = {
            p.perspective_id: release.members.get(f"{field_id}/{p.perspective_id}", ())
            for p in field.by_perspective
            if p.mean is not None
        }
        visible = list(groups)
        while visible and not field_enough(field_id, whole, *(groups[p] for p in visible)):
            # Drop the smallest shown perspective (the later one on a tie), as the release does.
            visible.remove(min(reversed(visible), key=lambda p: len(groups[p])))
        if not field_enough(field_id, whole, *(groups[p] for p in visible)):
            withheld = _withheld_field(q, field_id, field.n, (), Reason.OWN)
            fields.append(replace(withheld, subthemes=field.subthemes))
            continue
        perspectives = tuple(
            p
            if p.mean is None or p.perspective_id in visible
            else replace(p, mean=None, withheld_reason=Reason.OWN)
            for p in field.by_perspective
        )
        fields.append(replace(field, by_perspective=perspectives))

    def answers_enough(key: str) -> bool:
        return others_enough(figures(key.__eq__, release.members.get(key, ())))

    return replace(
        report,
        for_participants=True,
        fields=tuple(fields),
        perspective_notes=_notes(fields),
        divergent=tuple(s for s in report.divergent if answers_enough(f"q:{s.question_id}")),
        priorities=tuple(s for s in report.priorities if answers_enough(f"q:{s.question_id}")),
        unclear=tuple(u for u in report.unclear if answers_enough(f"z:{u.question_id}")),
    )


def whose(report: PublishedReport, own: bool) -> str:
    """The suffix of the "not yet" and "too few" sentences: "_own" for a viewer who took part
    (their own check does not count for them), "_coordination" where a coordinator who took
    part is why one check more is needed, "" otherwise."""
    if own:
        return "_own"
    return "_coordination" if report.for_participants else ""


def said(reason: Reason, *, perspective: bool = False) -> str:
    """Which sentence a rendering gives for a withheld figure: the locale key's suffix.

    Only reasons that rest on counts everybody sees are named: too few checks, and for a
    perspective too few people in it or too few in the rest (with their number). Every other
    reason (extreme, differencing, the viewer's own answers) gets one neutral sentence: "too
    close to 0 or 100" would tell what the hidden mean would have shown, "compared with an
    earlier report" that some few changed since. The same for chat, page and PDF.
    """
    if reason is Reason.TOO_FEW:
        return "too_few"
    if perspective and reason in (Reason.SMALL, Reason.COMPLEMENT):
        return reason.value
    return "protected"
