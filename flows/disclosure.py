"""Disclosure control: what of a group's completed checks may be published, to whom, and when.

Every group figure a person sees (the chat report, the workshop page, the PDF) is taken from a
`PublishedReport`, and only this module makes one. The rules and their reasons are written up in
`docs/privacy.md`; in short:

- A *release* is a report over a frozen set of completed checks (`Release`). A later release
  exists only when at least `k` checks were added, changed or removed since the last one
  (`next_release`), so two releases never differ by one person. A closed round gets no new
  release: its picture stays as the workshop saw it.
- Every figure rests on at least `k` checks (`k` = `GROUP_MIN_SIZE`); a perspective's mean is also
  withheld while the rest of the field would be fewer than `k` (complementary suppression).
- Differencing: the attacker may subtract any two published sums of the same quantity, across
  all releases. Every such subtraction yields a union of *cells* (people who were counted in
  exactly the same published figures); every cell must hold at least `k` people, otherwise the
  figure that would create the smaller cell is withheld. A changed field counts as a new person
  (the old and the new answers are different unknowns), a removed check as a cell of its own.
- No extreme values of small sets: no minimum, maximum or spread is ever published. The spread
  of a field is shown as counts per band (the questionnaire's own bands), only where no
  individual score follows from mean and counts — also for someone who knows their own score
  (interval audit, see `_narrowest`) — and only where two bands hold two people each, so that
  nobody's band follows either (never below 4 checks). A mean so close to 0 or 100 that every
  score is pinned (e.g. "Ø 0,0": all answered "trifft nicht zu") is withheld too.
- Per-question figures need `QUESTION_FACTOR`·`k` answers and show the mean only (never a mean
  with a spread, which yields the answers' multiset for small n), and never when the answers
  — or all but one of them — are unanimous.
- The viewer: a coordinator who took part knows their own answers. A figure is shown to a
  viewer only if at least `k` checks besides the viewer's own are in it (`for_viewer`).
- A field's subtheme profile (`PublishedSubtheme`): each subtheme's mean agreement over all
  its answers, from `QUESTION_FACTOR`·k checks with an answer there, audited together with the
  subtheme's statements and earlier releases as one family of answer sums, cut into cells of
  single answers (`_subtheme_family`): subtheme minus statement must not pin anyone either.
- What to clarify (`PublishedUnclear`): the statements most often skipped, in order only, never
  with a count; each skipped by at least k of at least 2k, audited as if its count were public.

The published types are plain, immutable pydantic models, so a release can be stored as JSON and
shown again unchanged (`Release.model_dump_json()` / `Release.model_validate_json()`):

- `PublishedReport` — one release as a viewer may see it: `release` (number, 0 = none yet),
  `published_at`, `completed` (checks in the release), `min_group` (k), `missing` (checks still
  needed before any figure appears), `perspective_counts` (only perspectives with at least k
  people), `unnamed` (people in smaller or no perspectives, together), `perspective_notes` (why a
  perspective is not shown, once per report), `fields`, `divergent`, `priorities`, `unclear`.
- `PublishedField(field_id, title, n, mean, band, band_counts, by_perspective, change,
  withheld_reason, subthemes)` — `mean`/`band` None = withheld, `withheld_reason` says why;
  `band_counts` None = the distribution is withheld while the mean is shown (it would pin a
  score).
- `PublishedPerspective(perspective_id, label, n, mean, withheld_reason)`.
- `PublishedQuestion(question_id, field_id, text, suggestion, n, mean)` — mean on 0–100.
- `BandCount(band_id, label, count)`.
- `PublishedSubtheme(subtheme_id, title, n, mean, band, withheld_reason)`,
  `PublishedUnclear(question_id, field_id, text)`.

Withheld reasons are codes (`Reason`); renderings turn them into sentences from their locale.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from flows.aggregation import (
    ExactQuestionStat,
    Participant,
    answer_points,
    exact_question_stat,
    half_up,
    known_perspective,
    rank_questions,
    scored_participants,
    tenths,
    visible_perspectives,
)
from flows.questionnaire import Band, Questionnaire
from flows.scoring import SKIPPED

H = TypeVar("H", bound=Hashable)

QUESTION_FACTOR = 2
"""Per-question figures need this many times `k` answers: one answer moves them far more."""

FIELD_PROTECTION = 10
"""No field score may be narrowed to an interval of fewer than this many points (of 100)."""

QUESTION_PROTECTION = 1
"""No answer may be pinned: at least two options must stay possible for everyone."""

TOP = 5
"""Discussion points and priorities per report: enough for one workshop session."""


class Reason(StrEnum):
    """Why a figure is withheld; each has one plain sentence in the renderings' locale."""

    TOO_FEW = "too_few"  # fewer than k checks (besides the viewer's own) with a score here
    SMALL = "small"  # the perspective itself has fewer than k people
    COMPLEMENT = "complement"  # showing it would reveal the remaining fewer than k people
    DIFFERENCING = "differencing"  # compared with an earlier release it would isolate < k
    EXTREME = "extreme"  # so uniform or so close to 0/100 that individual scores would follow
    OWN = "own"  # this viewer could work out others from their own answers


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BandCount(Frozen):
    band_id: str
    label: str
    count: int


class PublishedPerspective(Frozen):
    perspective_id: str
    label: str
    n: int
    mean: float | None
    withheld_reason: Reason | None


class PublishedSubtheme(Frozen):
    """One subtheme of a field (Bildung, Sprache, ...): the group's mean agreement (0–100)
    over every answer given to the subtheme's statements; `mean` None = withheld."""

    subtheme_id: str
    title: str
    n: int  # checks with at least one answer in the subtheme
    mean: float | None
    band: Band | None
    withheld_reason: Reason | None


class PublishedUnclear(Frozen):
    """A statement many skipped ("weiß nicht"): to clarify in the workshop. Listed most skipped
    first, never with a count (see `_publish_unclear`)."""

    question_id: str
    field_id: str
    text: str


class PublishedField(Frozen):
    field_id: str
    title: str
    n: int
    mean: float | None
    band: Band | None
    band_counts: tuple[BandCount, ...] | None
    by_perspective: tuple[PublishedPerspective, ...]
    change: float | None
    withheld_reason: Reason | None
    subthemes: tuple[PublishedSubtheme, ...] = ()  # () for fields without subthemes; older
    # releases, stored before subtheme profiles existed, read back with none


class PublishedQuestion(Frozen):
    question_id: str
    field_id: str
    text: str
    suggestion: str
    n: int
    mean: float


class PerspectiveCount(Frozen):
    perspective_id: str
    label: str
    n: int


class PerspectiveNote(Frozen):
    """Why one perspective has no column; `others` is the rest for `Reason.COMPLEMENT`."""

    perspective_id: str
    label: str
    reason: Reason
    others: int | None


class PublishedReport(Frozen):
    release: int
    published_at: datetime | None
    completed: int
    min_group: int
    missing: int
    perspective_counts: tuple[PerspectiveCount, ...]
    unnamed: int
    perspective_notes: tuple[PerspectiveNote, ...]
    fields: tuple[PublishedField, ...]
    divergent: tuple[PublishedQuestion, ...]
    priorities: tuple[PublishedQuestion, ...]
    unclear: tuple[PublishedUnclear, ...] = ()  # most often skipped first; none in older releases

    @property
    def shown(self) -> bool:
        return self.missing == 0

    def field(self, field_id: str) -> PublishedField:
        return next(f for f in self.fields if f.field_id == field_id)


class Release(Frozen):
    """A published report over a frozen set of checks, with what later releases must respect.

    `members` maps each published figure ("<field>", "<field>/<perspective>", "q:<question>") to
    the opaque tokens of the checks counted in it; `band_members` the same for fields whose band
    counts were published. A token is "<check id>:<digest of that field's answers>", so a changed
    field is a new unknown. Deleting a person (`forget`) replaces their tokens by random ones:
    the audit structure stays, the link to the person goes.
    """

    number: int
    published_at: datetime
    check_ids: tuple[int, ...]
    members: dict[str, tuple[str, ...]]
    band_members: dict[str, tuple[str, ...]]
    report: PublishedReport


@dataclass(frozen=True)
class Check(Participant):
    """One completed check: `check_id` is stable (the session), answers are the current ones."""

    check_id: int


# -- releases --------------------------------------------------------------------------------


def changed_checks(q: Questionnaire, previous: Release | None, checks: Sequence[Check]) -> int:
    """Checks added, removed or with changed answers since `previous` (all of them if None).

    A check counts as changed when a field it was counted in then has other answers now.
    """
    if previous is None:
        return len(checks)
    counted: dict[int, set[str]] = {}
    for tokens in (*previous.members.values(), *previous.band_members.values()):
        for token in tokens:
            counted.setdefault(int(token.split(":", 1)[0]), set()).add(token)
    before = set(previous.check_ids)
    now = {c.check_id for c in checks}
    current = _tokens(q, [c for c in checks if c.check_id in before])
    changed = {
        check_id
        for check_id, tokens in current.items()
        if not counted.get(check_id, set()) <= set(tokens.values())
    }
    return len(now - before) + len(before - now) + len(changed)


def next_release(
    q: Questionnaire,
    previous: Sequence[Release],
    checks: Sequence[Check],
    k: int,
    now: datetime,
    *,
    round_closed: bool = False,
    previous_round: PublishedReport | None = None,
) -> Release | None:
    """The next release over `checks`, or None while publishing one is not allowed.

    A first release needs `k` checks; a later one `k` checks added, changed or removed since the
    last (fewer would let the difference of two releases single someone out). A closed round
    gets none: its last release is final. `previous_round` is the earlier round's last release,
    for the change per field.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    last = previous[-1] if previous else None
    if round_closed and last is not None:
        return None
    if len(checks) < k or changed_checks(q, last, checks) < k:
        return None
    return build_release(q, previous, checks, k, now, previous_round=previous_round)


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
    members: dict[str, tuple[str, ...]] = {}
    band_members: dict[str, tuple[str, ...]] = {}
    tokens = _tokens(q, checks)
    points = _answer_points(q, checks, tokens)
    divergent, priorities = _publish_questions(q, checks, points, k, previous, members)
    statements = {s.question_id for s in (*divergent, *priorities)}
    fields = tuple(
        _publish_field(
            q, f.id, checks, tokens, k, previous, previous_round, members, band_members
        ).model_copy(
            update={
                "subthemes": _publish_subthemes(q, f.id, points, statements, k, previous, members)
            }
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
        release.model_copy(
            update={
                "check_ids": tuple(
                    sorted(placeholder if c == check_id else c for c in release.check_ids)
                ),
                "members": scrub(release.members),
                "band_members": scrub(release.band_members),
            }
        )
        for release in releases
    ]


def nothing_yet(q: Questionnaire, completed: int, k: int) -> PublishedReport:
    """The report before the first release: counts only."""
    return PublishedReport(
        release=0,
        published_at=None,
        completed=completed,
        min_group=k,
        missing=max(0, k - completed),
        perspective_counts=(),
        unnamed=completed,
        perspective_notes=(),
        fields=tuple(_withheld_field(q, f.id, 0, (), Reason.TOO_FEW) for f in q.fields),
        divergent=(),
        priorities=(),
    )


def for_viewer(q: Questionnaire, release: Release, viewer: int | None) -> PublishedReport:
    """The release as `viewer` (a check id, or None) may see it: k besides their own check.

    A coordinator who took part can subtract their own answers; so every figure they are in needs
    `k` others. Withholding more for one viewer is always safe: it only removes published sums.
    """
    report = release.report
    k = report.min_group
    if viewer is None or viewer not in release.check_ids:
        return report
    if report.completed - 1 < k:
        return nothing_yet(q, report.completed, k).model_copy(
            update={"missing": k - (report.completed - 1)}
        )
    mine = f"{viewer}:"

    def with_viewer(key: str) -> set[str]:
        tokens = set(release.members.get(key, ()))
        return tokens if any(t.startswith(mine) for t in tokens) else set()

    fields = []
    for field in report.fields:
        whole = with_viewer(field.field_id)
        if field.mean is None or not whole:
            fields.append(field)
            continue
        if len(whole) - 1 < k:
            # The subthemes stay: each rests on 2k checks, so on k besides the viewer's own.
            withheld = _withheld_field(q, field.field_id, field.n, (), Reason.TOO_FEW)
            fields.append(withheld.model_copy(update={"subthemes": field.subthemes}))
            continue
        groups = {
            p.perspective_id: set(release.members.get(f"{field.field_id}/{p.perspective_id}", ()))
            for p in field.by_perspective
            if p.mean is not None
        }
        # The viewer's own perspective needs k others; so does the rest they would then be in.
        visible = {
            pid
            for pid, g in groups.items()
            if len(g) - 1 >= k or not any(t.startswith(mine) for t in g)
        }
        rest = whole - set().union(*(groups[pid] for pid in visible))
        if any(t.startswith(mine) for t in rest) and 0 < len(rest) - 1 < k:
            visible = set()
        perspectives = tuple(
            p
            if p.mean is None or p.perspective_id in visible
            else p.model_copy(update={"mean": None, "withheld_reason": Reason.OWN})
            for p in field.by_perspective
        )
        fields.append(field.model_copy(update={"by_perspective": perspectives}))
    return report.model_copy(update={"fields": tuple(fields), "perspective_notes": _notes(fields)})


# -- fields ----------------------------------------------------------------------------------


def _digest(q: Questionnaire, check: Check, field_id: str) -> str:
    """Identifies one check's answers in one field, so a change there is a new unknown."""
    answers = "|".join(
        [field_id, *(str(check.answers.get(x.id)) for x in q.field_questions(field_id))]
    )
    return hashlib.sha256(answers.encode()).hexdigest()[:12]


def _tokens(q: Questionnaire, checks: Sequence[Check]) -> dict[int, dict[str, str]]:
    """check id -> field id -> "<check id>:<digest>", computed once per release."""
    return {
        c.check_id: {f.id: f"{c.check_id}:{_digest(q, c, f.id)}" for f in q.fields} for c in checks
    }


def _publish_field(
    q: Questionnaire,
    field_id: str,
    checks: Sequence[Check],
    tokens: Mapping[int, Mapping[str, str]],
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
    value = {tokens[c.check_id][field_id]: s for c, s in scored}
    whole = frozenset(value)
    groups = {
        pid: [tokens[c.check_id][field_id] for c, _ in scored if known_perspective(q, c) == pid]
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
    if failure is not None:
        return _withheld_field(q, field_id, n, _counts(q, scored, perspectives), failure)
    members[field_id] = tuple(sorted(whole))
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


# -- questions -------------------------------------------------------------------------------


Points = Mapping[str, Mapping[str, int]]
"""question id -> check token -> points above the scale's lowest, for every answer given."""


def _answer_points(
    q: Questionnaire, checks: Sequence[Check], tokens: Mapping[int, Mapping[str, str]]
) -> dict[str, dict[str, int]]:
    """Every answer of the release as `Points`: skipped and "entfällt" give none."""
    return {
        question.id: {
            tokens[c.check_id][question.field]: points
            for c in checks
            if (points := answer_points(q, question, c)) is not None
        }
        for question in q.questions
    }


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


# -- subthemes and what to clarify -----------------------------------------------------------


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
        people = {t for x in questions for t in points[x.id]}
        n = len(people)
        reason: Reason | None = None
        if n < QUESTION_FACTOR * k:
            reason = Reason.TOO_FEW
        else:
            reason = _subtheme_family(
                q, field_id, subtheme.id, points, statements, k, previous, people
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
        members[_subtheme_key(field_id, subtheme.id)] = tuple(sorted(people))
        total = sum(sum(points[x.id].values()) for x in questions)
        answers = sum(len(points[x.id]) for x in questions)
        exact = Fraction(100 * total, answers * span)
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


Answer = tuple[str, str]
"""One answer as the audit of a subtheme sees it: (check token, question id)."""


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
    """None if the subtheme's published sums (with `candidate`, its new figure's checks, if
    given) together pin nobody's answers; else the reason.

    The family: every earlier release's figure of the subtheme and of its statements, this
    release's statements among `statements`, and the candidate. All are sums of single
    answers; an attacker adds and subtracts them, so the audit cuts them into cells of
    answers (`cells`). A stale check (changed or removed since) is one unknown per figure.
    Without a subtheme figure in the family, its statements are disjoint sums, each audited
    on its own already.
    """
    questions = [x.id for x in q.field_questions(field_id) if x.subtheme == subtheme_id]
    key = _subtheme_key(field_id, subtheme_id)
    current = {t for x in questions for t in points[x]}

    def answers_of(tokens: Iterable[str]) -> frozenset[Answer]:
        found: set[Answer] = set()
        for token in tokens:
            if token in current:
                found.update((token, x) for x in questions if token in points[x])
            else:
                found.add((token, "*"))
        return frozenset(found)

    history: list[frozenset[Answer]] = []
    for release in previous:
        if key in release.members:
            history.append(answers_of(release.members[key]))
        history += [
            frozenset((t, x) for t in release.members[f"q:{x}"])
            for x in questions
            if f"q:{x}" in release.members
        ]
    figures = list(history)
    figures += [frozenset((t, x) for t in points[x]) for x in questions if x in statements]
    if candidate is not None:
        figures.append(answers_of(candidate))
    elif not any(key in r.members for r in previous):
        return None
    span = q.scale.max_points - q.scale.min_points
    for cell in cells(figures):
        people: dict[str, int] = Counter(token for token, _ in cell)
        if len(people) < k:
            return Reason.DIFFERENCING if history else Reason.COMPLEMENT
        if any(x == "*" or token not in points[x] for token, x in cell):
            continue  # mixes unknowns: only the count rule applies
        totals: dict[str, int] = Counter()
        for token, x in cell:
            totals[token] += points[x][token]
        ranges = {token: (0, span * count) for token, count in people.items()}
        categories = Counter(ranges.values())
        total = sum(totals.values())
        if _narrowest(total, categories) < span:
            return Reason.EXTREME
        for token in _extremes(totals, totals, key=lambda t: str(ranges[t])):
            rest = Counter(categories)
            rest[ranges[token]] -= 1
            if _narrowest(total - totals[token], rest) < span:
                return Reason.EXTREME
    return None


def _publish_unclear(
    q: Questionnaire,
    checks: Sequence[Check],
    tokens: Mapping[int, Mapping[str, str]],
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
            tokens[c.check_id][question.field]: int(c.answers[question.id] is SKIPPED)
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


# -- the audit -------------------------------------------------------------------------------


def cells(groups: Iterable[Iterable[H]]) -> list[frozenset[H]]:
    """The finest pieces that sums over `groups` can be cut into by adding and subtracting.

    Two people are in the same cell when they are counted in exactly the same published groups;
    every sum an attacker can form from the groups is a sum over whole cells, so a cell of one
    is that person's own value.
    """
    listed = [frozenset(g) for g in groups]
    signature: dict[H, list[int]] = {}
    for index, group in enumerate(listed):
        for token in group:
            signature.setdefault(token, []).append(index)
    pieces: dict[tuple[int, ...], set[H]] = {}
    for token, where in signature.items():
        pieces.setdefault(tuple(where), set()).add(token)
    return [frozenset(p) for p in pieces.values()]


def _audit(
    history: Sequence[Iterable[str]],
    candidate: Sequence[frozenset[str]],
    value: Mapping[str, int],
    low: int,
    high: int,
    k: int,
    protection: int,
) -> Reason | None:
    """None if `candidate` may be published next to `history`; else the reason it may not.

    Each cell must hold at least `k` people; and within each cell whose values are all current,
    the cell's sum must not pin anyone's value to fewer than `protection` points — neither for an
    outsider nor for a member who knows their own value.
    """
    for cell in cells([*history, *candidate]):
        if len(cell) < k:
            return Reason.DIFFERENCING if history else Reason.COMPLEMENT
        if not all(token in value for token in cell):
            continue
        total = sum(value[t] for t in cell)
        if _narrowest(total, {(low, high): len(cell)}) < protection:
            return Reason.EXTREME
        for token in _extremes(cell, value, key=lambda _: ""):
            if _narrowest(total - value[token], {(low, high): len(cell) - 1}) < protection:
                return Reason.EXTREME
    return None


def _extremes(
    group: Iterable[str], value: Mapping[str, int], key: Callable[[str], str]
) -> set[str]:
    """Per `key` class, the members with the lowest and the highest value.

    For fixed counts, the width `_narrowest` gives is concave in the total, so over all members
    who might subtract their own value the narrowest result comes from one of these two.
    """
    lowest: dict[str, str] = {}
    highest: dict[str, str] = {}
    for token in group:
        kind = key(token)
        if kind not in lowest or value[token] < value[lowest[kind]]:
            lowest[kind] = token
        if kind not in highest or value[token] > value[highest[kind]]:
            highest[kind] = token
    return {*lowest.values(), *highest.values()}


def _narrowest(total: int, categories: Mapping[tuple[int, int], int]) -> int:
    """Width of the tightest interval an attacker gets for one person from a sum and counts.

    `categories` maps a value range (inclusive) to how many people are in it. A person in range
    [lo, hi] has a value v with lo <= v <= hi, and the others must make up `total - v` within
    their own ranges, so v >= total - (sum of the others' highs) and v <= total - (sum of their
    lows). An empty group pins nobody.
    """
    people = sum(categories.values())
    if people == 0:
        return max(hi - lo for lo, hi in categories) if categories else 10**9
    lows = sum(lo * c for (lo, _), c in categories.items())
    highs = sum(hi * c for (_, hi), c in categories.items())
    widths = []
    for (lo, hi), count in categories.items():
        if count == 0:
            continue
        least = max(lo, total - (highs - hi))
        most = min(hi, total - (lows - lo))
        widths.append(most - least)
    return min(widths)
