"""Releases: when a round may have a new report, and building it from all the rules.

`next_release` gates (k checks added, changed or removed since the last release, the round
open, its municipality type unchanged); `build_release` publishes everything the fields,
statements, subthemes and "zu klären" allow against the earlier releases. Also the report
before the first release (`nothing_yet`), and the releases of a round with a deleted person's
links gone (`forget`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from flows.aggregation import known_perspective
from flows.disclosure.fields import _notes, _publish_field, _withheld_field
from flows.disclosure.markers import _answer_points, _person_id, _tokens, _upgraded
from flows.disclosure.model import (
    MARKERS,
    Check,
    PerspectiveCount,
    PublishedReport,
    Reason,
    Release,
)
from flows.disclosure.questions import _publish_questions
from flows.disclosure.subthemes import _publish_subthemes
from flows.disclosure.unclear import _publish_unclear
from flows.questionnaire import Questionnaire


def changed_checks(
    q: Questionnaire,
    previous: Release | None,
    checks: Sequence[Check],
    unchanged: Collection[int] = (),
) -> int:
    """Checks added, removed or with changed answers since `previous` (all of them if None).

    `unchanged`: check ids missing from `checks` that nobody removed (their questionnaire
    version cannot be read just now), so they are not counted as removed."""
    return len(_changed(q, previous, checks) - set(unchanged))


def _changed(q: Questionnaire, previous: Release | None, checks: Sequence[Check]) -> set[int]:
    """The ids of checks added, removed or changed since `previous`.

    A check counts as changed when a marker it was counted under then is not among its markers
    now, that is when a stored answer it was counted with has changed (never because the
    group's questionnaire reads the same answers differently, see `Given`).
    """
    if previous is None:
        return {c.check_id for c in checks}
    (previous,) = _upgraded(q, [previous], checks)
    counted: dict[int, set[str]] = {}
    for tokens in (*previous.members.values(), *previous.band_members.values()):
        for token in tokens:
            counted.setdefault(_person_id(token), set()).add(token)
    before = set(previous.check_ids)
    now = {c.check_id for c in checks}
    current = _tokens(q, [c for c in checks if c.check_id in before])
    changed = {
        check_id
        for check_id, markers in current.items()
        if not counted.get(check_id, set()) <= markers.all()
    }
    return (now - before) | (before - now) | changed


def next_release(
    q: Questionnaire,
    previous: Sequence[Release],
    checks: Sequence[Check],
    k: int,
    now: datetime,
    *,
    round_closed: bool = False,
    previous_round: PublishedReport | None = None,
    viewers: Collection[int] = (),
) -> Release | None:
    """The next release over `checks`, or None while publishing one is not allowed.

    A first release needs `k` checks; a later one `k` checks added, changed or removed since the
    last besides those of `viewers` (the checks of coordinators who took part: one of them
    could subtract their own, so a difference of `k` including theirs would be `k` − 1 others
    for them, and `for_viewers` would have to withhold it for the rest of the round). A closed
    round gets none: its last release is final; nor does a round whose releases were made with
    another municipality type than `q`'s (the type is fixed once a round has a release: a
    re-read of every check under other questions is no change of anybody's answers).
    `previous_round` is the earlier round's last release, for the change per field.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    last = previous[-1] if previous else None
    if round_closed and last is not None:
        return None
    kind = _type_of(q)
    if any(r.municipality_type not in (None, kind) for r in previous):
        return None
    if len(checks) < k or len(_changed(q, last, checks) - set(viewers)) < k:
        return None
    return build_release(q, previous, checks, k, now, previous_round=previous_round)


def _type_of(q: Questionnaire) -> str | None:
    return q.municipality_type.id if q.municipality_type else None


def build_release(
    q: Questionnaire,
    previous: Sequence[Release],
    checks: Sequence[Check],
    k: int,
    now: datetime,
    *,
    previous_round: PublishedReport | None = None,
) -> Release:
    """Publish everything `checks` allow against the earlier releases `previous` (no gating)."""
    previous = _upgraded(q, previous, checks)
    members: dict[str, tuple[str, ...]] = {}
    band_members: dict[str, tuple[str, ...]] = {}
    tokens = _tokens(q, checks)
    points = _answer_points(q, checks, tokens)
    divergent, priorities = _publish_questions(q, checks, points, k, previous, members)
    statements = {s.question_id for s in (*divergent, *priorities)}
    fields = tuple(
        replace(
            _publish_field(
                q, f.id, checks, tokens, k, previous, previous_round, members, band_members
            ),
            subthemes=_publish_subthemes(q, f.id, points, statements, k, previous, members),
        )
        for f in q.fields
    )
    counts = Counter(known_perspective(q, c) for c in checks)
    named = tuple(
        PerspectiveCount(perspective_id=p.id, label=p.label, n=counts[p.id])
        for p in q.perspectives
        if counts[p.id] >= k
    )
    report = PublishedReport(
        release=len(previous) + 1,
        published_at=now,
        completed=len(checks),
        min_group=k,
        missing=max(0, k - len(checks)),
        perspective_counts=named,
        unnamed=len(checks) - sum(p.n for p in named),
        perspective_notes=_notes(fields),
        fields=fields,
        divergent=divergent,
        priorities=priorities,
        unclear=_publish_unclear(q, checks, tokens, k, previous, members),
    )
    return Release(
        number=len(previous) + 1,
        published_at=now,
        check_ids=tuple(sorted(c.check_id for c in checks)),
        members=members,
        band_members=band_members,
        report=report,
        municipality_type=_type_of(q),
        markers=MARKERS,
    )


def forget(
    releases: Sequence[Release], check_id: int, placeholder: int, fresh: Callable[[], str]
) -> list[Release]:
    """The releases of one round with every link to `check_id` gone, figures unchanged.

    Used when a person deletes their data: their id in `check_ids` becomes `placeholder` (not a
    check id, so the deletion still counts as one removed check for `next_release`), and each of
    their tokens becomes "<placeholder>:<fresh()>" — the same new token for the same old one in
    every release, so the cells the audit computes across releases stay exactly as they were.
    """
    mine = f"{check_id}:"
    renamed: dict[str, str] = {}

    def token(old: str) -> str:
        if not old.startswith(mine):
            return old
        return renamed.setdefault(old, f"{placeholder}:{fresh()}")

    def scrub(groups: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {key: tuple(token(t) for t in tokens) for key, tokens in groups.items()}

    return [
        replace(
            release,
            check_ids=tuple(sorted(placeholder if c == check_id else c for c in release.check_ids)),
            members=scrub(release.members),
            band_members=scrub(release.band_members),
        )
        for release in releases
    ]


def nothing_yet(
    q: Questionnaire, completed: int, k: int, *, for_participants: bool = False
) -> PublishedReport:
    """The report before the first release: counts only. With `for_participants` (a
    coordinator took part) figures need one check more: k besides theirs."""
    return PublishedReport(
        release=0,
        published_at=None,
        completed=completed,
        min_group=k,
        missing=max(0, k - completed + int(for_participants)),
        for_participants=for_participants,
        perspective_counts=(),
        unnamed=completed,
        perspective_notes=(),
        fields=tuple(_withheld_field(q, f.id, 0, (), Reason.TOO_FEW) for f in q.fields),
        divergent=(),
        priorities=(),
    )
