"""What of a field is published: its score's mean, band, band counts and perspectives.

A field's figures are sums of field scores (one per check, under the check's field marker):
audited together with the field's figures in earlier releases (`_audit`), its n as a count
(`_absence_audit`), its band counts on their own (`_band_counts`). A perspective that would
break the audit is dropped, smallest first, until the rest passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

from flows.aggregation import (
    half_up,
    known_perspective,
    scored_participants,
    tenths,
    visible_perspectives,
)
from flows.disclosure.audit import _absence_audit, _audit, _extremes, _narrowest
from flows.disclosure.markers import Markers
from flows.disclosure.model import (
    FIELD_PROTECTION,
    BandCount,
    Check,
    PerspectiveNote,
    PublishedField,
    PublishedPerspective,
    PublishedReport,
    Reason,
    Release,
)
from flows.questionnaire import Questionnaire


def _publish_field(
    q: Questionnaire,
    field_id: str,
    checks: Sequence[Check],
    tokens: Mapping[int, Markers],
    k: int,
    previous: Sequence[Release],
    previous_round: PublishedReport | None,
    members: dict[str, tuple[str, ...]],
    band_members: dict[str, tuple[str, ...]],
) -> PublishedField:
    scored = scored_participants(q, field_id, checks)
    n = len(scored)
    present = {known_perspective(q, c) for c, _ in scored}
    perspectives = [p.id for p in q.perspectives if p.id in present]
    if n < k:
        return _withheld_field(q, field_id, n, _counts(q, scored, perspectives), Reason.TOO_FEW)
    value = {tokens[c.check_id].field[field_id]: s for c, s in scored}
    whole = frozenset(value)
    groups = {
        pid: [
            tokens[c.check_id].field[field_id] for c, _ in scored if known_perspective(q, c) == pid
        ]
        for pid in perspectives
    }
    visible = visible_perspectives(perspectives, groups, n, k)
    history = [
        tokens
        for release in previous
        for key, tokens in release.members.items()
        if _same_quantity(key, field_id)
    ]
    reasons: dict[str, Reason] = {}
    while True:
        candidate = [whole, *(frozenset(groups[p]) for p in visible)]
        failure = _audit(history, candidate, value, 0, 100, k, FIELD_PROTECTION)
        if failure is None or not visible:
            break
        # Drop the smallest shown perspective (the later one on a tie) and try again.
        shown = [p for p in perspectives if p in visible]
        dropped = min(reversed(shown), key=lambda p: len(groups[p]))
        visible.discard(dropped)
        reasons[dropped] = failure
    population = frozenset(tokens[c.check_id].field[field_id] for c in checks)
    if failure is None:
        failure = _absence_audit(
            [r.members[f"p:{field_id}"] for r in previous if f"p:{field_id}" in r.members],
            population,
            population - whole,
            k,
        )
    if failure is not None:
        return _withheld_field(q, field_id, n, _counts(q, scored, perspectives), failure)
    members[field_id] = tuple(sorted(whole))
    members[f"p:{field_id}"] = tuple(sorted(population))
    for pid in visible:
        members[f"{field_id}/{pid}"] = tuple(sorted(groups[pid]))
    exact = Fraction(sum(value.values()), n)
    mean_tenths = tenths(exact)
    band_counts = _band_counts(q, field_id, value, k, previous)
    if band_counts is not None:
        band_members[field_id] = tuple(sorted(whole))
    change = None
    if previous_round is not None:
        before = previous_round.field(field_id).mean if q.has_field(field_id) else None
        if before is not None:
            change = (mean_tenths - round(before * 10)) / 10
    by_perspective = []
    for pid in perspectives:
        size = len(groups[pid])
        if pid in visible:
            mean = tenths(Fraction(sum(value[t] for t in groups[pid]), size)) / 10
            reason = None
        else:
            mean = None
            reason = reasons.get(pid) or (Reason.SMALL if size < k else Reason.COMPLEMENT)
        by_perspective.append(
            PublishedPerspective(
                perspective_id=pid, label=_label(q, pid), n=size, mean=mean, withheld_reason=reason
            )
        )
    return PublishedField(
        field_id=field_id,
        title=q.field(field_id).title,
        n=n,
        mean=mean_tenths / 10,
        band=q.band_for(half_up(exact)),
        band_counts=band_counts,
        by_perspective=tuple(by_perspective),
        change=change,
        withheld_reason=None,
    )


def _same_quantity(key: str, field_id: str) -> bool:
    """Figures of one field's score: the field itself and its perspectives."""
    return key == field_id or key.startswith(f"{field_id}/")


def _counts(
    q: Questionnaire, scored: Sequence[tuple[Check, int]], perspectives: Sequence[str]
) -> tuple[tuple[str, int], ...]:
    return tuple(
        (pid, sum(1 for c, _ in scored if known_perspective(q, c) == pid)) for pid in perspectives
    )


def _withheld_field(
    q: Questionnaire,
    field_id: str,
    n: int,
    counts: Iterable[tuple[str, int]],
    reason: Reason,
) -> PublishedField:
    return PublishedField(
        field_id=field_id,
        title=q.field(field_id).title,
        n=n,
        mean=None,
        band=None,
        band_counts=None,
        by_perspective=tuple(
            PublishedPerspective(
                perspective_id=pid, label=_label(q, pid), n=size, mean=None, withheld_reason=reason
            )
            for pid, size in counts
        ),
        change=None,
        withheld_reason=reason,
    )


def _band_counts(
    q: Questionnaire,
    field_id: str,
    value: Mapping[str, int],
    k: int,
    previous: Sequence[Release],
) -> tuple[BandCount, ...] | None:
    """Counts per band, unless they (with the mean) pin a score or a band, now or by difference.

    Counts are shown only where at least two bands hold two people or more: otherwise everyone's
    band follows (all in one band), or does for the one who knows their own. So never below 4.

    Against an earlier release the attacker subtracts counts and sums; that isolates the new
    people only if the earlier ones are all still there unchanged, so a non-nested earlier
    release with published counts keeps them withheld (the difference would mix unknowns).
    """
    band_of = {token: q.band_for(score) for token, score in value.items()}
    observations = [set(value)]
    for release in previous:
        earlier = release.band_members.get(field_id)
        if earlier is None:
            continue
        if not set(earlier) <= set(value):
            return None
        observations.append(set(value) - set(earlier))
    for group in observations:
        if not group:
            continue
        if len(group) < k:
            return None
        categories = {(b.min, b.max): 0 for b in q.bands}
        for token in group:
            categories[(band_of[token].min, band_of[token].max)] += 1
        # Everyone in one band tells each person's band; so must "all but me" to a member.
        if sum(1 for count in categories.values() if count >= 2) < 2:
            return None
        total = sum(value[t] for t in group)
        if _narrowest(total, categories) < FIELD_PROTECTION:
            return None
        for token in _extremes(group, value, key=lambda t: band_of[t].id):
            # Someone in the group who knows their own score.
            band = (band_of[token].min, band_of[token].max)
            rest = dict(categories)
            rest[band] -= 1
            if _narrowest(total - value[token], rest) < FIELD_PROTECTION:
                return None
    return tuple(
        BandCount(band_id=b.id, label=b.label, count=sum(1 for t in value if band_of[t] == b))
        for b in q.bands
    )


def _notes(fields: Sequence[PublishedField]) -> tuple[PerspectiveNote, ...]:
    """One note per perspective without a column in a shown field: the first field's reason."""
    notes: dict[str, PerspectiveNote] = {}
    for field in fields:
        if field.mean is None:
            continue
        for p in field.by_perspective:
            if p.mean is None and p.withheld_reason is not None and p.perspective_id not in notes:
                others = field.n - p.n if p.withheld_reason is Reason.COMPLEMENT else None
                notes[p.perspective_id] = PerspectiveNote(
                    perspective_id=p.perspective_id,
                    label=p.label,
                    reason=p.withheld_reason,
                    others=others,
                )
    return tuple(notes.values())


def _label(q: Questionnaire, perspective_id: str) -> str:
    perspective = q.perspective(perspective_id)
    return perspective.label if perspective else perspective_id
