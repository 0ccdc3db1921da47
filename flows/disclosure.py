"""Disclosure control: what of a group's completed checks may be published, to whom, and when.

Every group figure a person sees (the chat report, the workshop page, the PDF) is taken from a
`PublishedReport`, and only this module makes one. The rules and their reasons are written up in
`docs/privacy.md`; in short:

- A *release* is a report over a frozen set of completed checks (`Release`). A later release
  exists only when at least `k` checks were added, changed or removed since the last one
  (`next_release`), besides those of coordinators who took part, so two releases never differ
  by one person. A closed round gets no new release: its picture stays as the workshop saw it;
  nor does a round in another municipality type than its releases were made with.
- What changed is told by *markers* made from the stored answers only (`Given`, `_markers`):
  one per check and field, one per stored answer. Neither the group's type nor an admin's
  reload of the questionnaire changes them; only a changed answer does.
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
- The viewers: a coordinator who took part knows their own answers. A figure is shown only if
  every cell (across the round's releases) that holds a coordinator who took part holds `k`
  others too, for each of them (`for_viewers`); chat, page and PDF all show that one view.
- A withheld figure says why only where the reason is a count everybody sees (`said`); every
  other reason gets one neutral sentence.
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
  score). `n` is audited as a count of "has a score here" (`_absence_audit`).
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
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
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

MARKERS = 2
"""The marker format of new releases (`Release.markers`); see `_markers` and `_upgraded`."""


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
    for_participants: bool = False  # reduced for coordinators who took part (`for_viewers`)

    @property
    def shown(self) -> bool:
        return self.missing == 0

    @property
    def held_back(self) -> bool:
        """Whether a later release of the round withholds a figure for more than too few checks.

        Then the report says once why such figures may stay withheld for the rest of the round
        (a change or a deletion since an earlier release leaves a group of its own behind that
        no later release may expose) and that a new round helps: the same words whatever the
        reason, which `said` keeps neutral.
        """
        if self.release < 2:
            return False
        return any(
            (f.mean is None and f.withheld_reason not in (None, Reason.TOO_FEW))
            or any(s.withheld_reason not in (None, Reason.TOO_FEW) for s in f.subthemes)
            for f in self.fields
        )

    def field(self, field_id: str) -> PublishedField:
        return next(f for f in self.fields if f.field_id == field_id)


class Release(Frozen):
    """A published report over a frozen set of checks, with what later releases must respect.

    `members` maps each published figure to the opaque tokens (*markers*, see `_markers`) of
    what was counted in it: "<field>" and "<field>/<perspective>" a check's field marker each;
    "p:<field>" every check of the release (whether it has a score there is published as the
    field's n); "q:<question>", "z:<question>" and "s:<field>/<subtheme>" one answer marker per
    answer counted. `band_members` the same for fields whose band counts were published. A
    marker is "<check id>:<digest of the stored answers it stands for>", so a changed answer is
    a new unknown and an unchanged one never is. Deleting a person (`forget`) replaces their
    markers by random ones: the audit structure stays, the link to the person goes.
    `municipality_type` is the type the release was made with (None: typeless, or stored
    before it was recorded): a round's releases are all made with one type.
    """

    number: int
    published_at: datetime
    check_ids: tuple[int, ...]
    members: dict[str, tuple[str, ...]]
    band_members: dict[str, tuple[str, ...]]
    report: PublishedReport
    municipality_type: str | None = None
    markers: int = 1  # 1: stored before answer markers (one marker per check and field)


@dataclass(frozen=True)
class Given:
    """A check's answers as they are stored, with the questionnaire version they were given on.

    The markers the audit compares across releases are made from these, never from the answers
    as the group's questionnaire reads them: a type change or an admin's reload re-reads every
    check (other questions, other option ids) although nobody changed an answer, and a marker
    that changed with them would make every check look changed, unlocking a release whose
    difference to the last one singles a person out.
    """

    answers: Mapping[str, str | None]
    questionnaire: Questionnaire


@dataclass(frozen=True)
class Check(Participant):
    """One completed check: `check_id` is stable (the session), answers are the current ones
    as the release's questionnaire reads them; `given` the stored answers (None: `answers` are
    the stored ones, on the release's questionnaire)."""

    check_id: int
    given: Given | None = None


@dataclass(frozen=True)
class Markers:
    """One check's markers: per field (its field figures) and per question (answer figures)."""

    field: Mapping[str, str]
    answer: Mapping[str, str]

    def all(self) -> set[str]:
        return {*self.field.values(), *self.answer.values()}


# -- releases --------------------------------------------------------------------------------


def changed_checks(q: Questionnaire, previous: Release | None, checks: Sequence[Check]) -> int:
    """Checks added, removed or with changed answers since `previous` (all of them if None)."""
    return len(_changed(q, previous, checks))


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
            fields.append(withheld.model_copy(update={"subthemes": field.subthemes}))
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
            fields.append(withheld.model_copy(update={"subthemes": field.subthemes}))
            continue
        perspectives = tuple(
            p
            if p.mean is None or p.perspective_id in visible
            else p.model_copy(update={"mean": None, "withheld_reason": Reason.OWN})
            for p in field.by_perspective
        )
        fields.append(field.model_copy(update={"by_perspective": perspectives}))

    def answers_enough(key: str) -> bool:
        return others_enough(figures(key.__eq__, release.members.get(key, ())))

    return report.model_copy(
        update={
            "for_participants": True,
            "fields": tuple(fields),
            "perspective_notes": _notes(fields),
            "divergent": tuple(s for s in report.divergent if answers_enough(f"q:{s.question_id}")),
            "priorities": tuple(
                s for s in report.priorities if answers_enough(f"q:{s.question_id}")
            ),
            "unclear": tuple(u for u in report.unclear if answers_enough(f"z:{u.question_id}")),
        }
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


# -- fields ----------------------------------------------------------------------------------


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


def _markers(
    q: Questionnaire,
    check: Check,
    fields_of: Mapping[str, str] | None = None,
    answers: dict[tuple[str, str | None], str] | None = None,
) -> Markers:
    """The check's markers, from its stored answers only (`Given`).

    A field marker stands for the stored answers to every question its own version puts in the
    field, for every municipality type (so neither the group's type nor a reload changes it); an
    answer marker for one stored answer (question and option), so that editing one answer
    changes only that answer's marker and the field's, and an unchanged answer stays the same
    unknown in every release. A marker changes only with a stored answer; where the group's
    questionnaire then scores the same answers differently, the audit treats old and new value
    as one unknown, which lets it publish less, never more.
    """
    given = check.given or Given(check.answers, q)
    if fields_of is None:
        fields_of = _fields_of(given.questionnaire)
    if answers is None:
        answers = {}
    by_field: dict[str, list[str]] = {}
    for question_id, value in sorted(given.answers.items()):
        field_id = fields_of.get(question_id)
        if field_id is not None:
            by_field.setdefault(field_id, []).append(f"{question_id}={value}")
    prefix = f"{check.check_id}:"
    marks = {}
    # Every stored answer, also those the current type does not ask: a release counted them,
    # and an answer nobody changed must not look changed. The digest of one answer does not
    # depend on the check (the prefix names it), so it is computed once per release for all.
    for pair in given.answers.items():
        digest = answers.get(pair)
        if digest is None:
            digest = answers[pair] = _digest("a", *pair)
        marks[pair[0]] = prefix + digest
    return Markers(
        field={f.id: prefix + _digest("f", f.id, *by_field.get(f.id, ())) for f in q.fields},
        answer=marks,
    )


def _fields_of(questionnaire: Questionnaire) -> dict[str, str]:
    """question id -> field id in the whole document (every municipality type)."""
    return {x.id: x.field for x in questionnaire.document.questions}


def _tokens(q: Questionnaire, checks: Sequence[Check]) -> dict[int, Markers]:
    """check id -> its markers, computed once per release."""
    maps: dict[int, dict[str, str]] = {}
    answers: dict[tuple[str, str | None], str] = {}
    tokens = {}
    for c in checks:
        own = c.given.questionnaire if c.given else q
        fields_of = maps.get(id(own.document))
        if fields_of is None:
            fields_of = maps[id(own.document)] = _fields_of(own)
        tokens[c.check_id] = _markers(q, c, fields_of, answers)
    return tokens


def _upgraded(
    q: Questionnaire, history: Sequence[Release], checks: Sequence[Check]
) -> list[Release]:
    """`history` with the markers of releases stored before answer markers (format 1) read in
    today's format, where they stand for answers the checks still have.

    Format 1 had one marker per check and field, a digest of the field's answers as `q` reads
    them. Where a check's field still gives that digest, its answers there are unchanged: the
    old marker becomes the check's field marker, or in an answer figure the answer markers of
    the answers it counted. A marker nothing matches any more stays as it is, an unknown of
    its own (so a round begun before answer markers never counts its unchanged checks as new).
    """
    if all(r.markers >= MARKERS for r in history):
        return list(history)
    tokens = _tokens(q, checks)
    legacy: dict[str, tuple[Check, str]] = {}
    for c in checks:
        for f in q.fields:
            answers = [str(c.answers.get(x.id)) for x in q.field_questions(f.id)]
            legacy[f"{c.check_id}:{_digest(f.id, *answers)}"] = (c, f.id)

    def read(key: str, token: str) -> tuple[str, ...]:
        found = legacy.get(token)
        if found is None:
            return (token,)
        check, field_id = found
        markers = tokens[check.check_id]
        kind, _, rest = key.partition(":")
        if kind in ("q", "z"):
            return (markers.answer[rest],) if rest in markers.answer else (token,)
        if kind == "s":
            subtheme = rest.split("/", 1)[1]
            return tuple(
                markers.answer[x.id]
                for x in q.field_questions(field_id)
                if x.subtheme == subtheme and answer_points(q, x, check) is not None
            )
        return (markers.field[field_id],)

    def upgrade(groups: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {
            key: tuple(sorted({new for old in olds for new in read(key, old)}))
            for key, olds in groups.items()
        }

    return [
        r
        if r.markers >= MARKERS
        else r.model_copy(
            update={
                "members": upgrade(r.members),
                "band_members": upgrade(r.band_members),
                "markers": MARKERS,
            }
        )
        for r in history
    ]


def _person_id(token: str) -> int:
    """The check a marker belongs to (a negative placeholder once its person was deleted)."""
    return int(token.split(":", 1)[0])


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


# -- questions -------------------------------------------------------------------------------


Points = Mapping[str, Mapping[str, int]]
"""question id -> answer marker -> points above the scale's lowest, for every answer given."""


def _answer_points(
    q: Questionnaire, checks: Sequence[Check], tokens: Mapping[int, Markers]
) -> dict[str, dict[str, int]]:
    """Every answer of the release as `Points`: skipped and "entfällt" give none."""
    return {
        question.id: {
            tokens[c.check_id].answer[question.id]: points
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


def _absence_audit(
    history: Sequence[Iterable[str]], population: frozenset[str], absent: frozenset[str], k: int
) -> Reason | None:
    """None if a field's n (checks with a score, of the release's `population`) may be shown.

    n is a published count of the yes/no "has a score here", so across releases the attacker
    gets it for every cell of the populations (e.g. "the three newcomers all have none": they
    skipped the field). Every cell needs `k` checks, and in a cell of current checks not all,
    nor all but one, may be without a score (`absent`). Having a score is what a field figure
    stands on anyway, so only its absence is protected.
    """
    for cell in cells([*history, population]):
        if len(cell) < k:
            return Reason.DIFFERENCING if history else Reason.COMPLEMENT
        if not cell <= population:
            continue  # mixes unknowns: only the count rule applies
        missing = len(cell & absent)
        if missing and missing >= len(cell) - 1:
            return Reason.DIFFERENCING if history else Reason.EXTREME
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
