"""The types disclosure control takes and gives, and the numbers its rules rest on.

In: a completed check (`Check`) with its stored answers (`Given`). Out: the published figures
(`PublishedReport` and its parts) and the release they belong to (`Release`), plain frozen
dataclasses: the process serving answers never imports pydantic for them. A release is stored
as JSON and shown again unchanged; the store's codec (`bot.store.release_json`) validates it
with pydantic at that boundary only. The rules that fill them are in the package's other
modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flows.aggregation import Participant
from flows.questionnaire import Band, Model, Questionnaire

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


@dataclass(frozen=True)
class Frozen(Model):
    """Base of the published types: immutable, and strict about unknown keys when read back
    (the questionnaire types' `Model` carries pydantic's setting for that): stored JSON with a
    key no field has is refused, as it was while these were pydantic models.

    Tuple-typed fields must be given tuples (a dataclass does not coerce a list), so that a
    report is hashable and equals itself after a JSON round trip.
    """


@dataclass(frozen=True)
class BandCount(Frozen):
    band_id: str
    label: str
    count: int


@dataclass(frozen=True)
class PublishedPerspective(Frozen):
    perspective_id: str
    label: str
    n: int
    mean: float | None
    withheld_reason: Reason | None


@dataclass(frozen=True)
class PublishedSubtheme(Frozen):
    """One subtheme of a field (Bildung, Sprache, ...): the group's mean agreement (0–100)
    over every answer given to the subtheme's statements; `mean` None = withheld."""

    subtheme_id: str
    title: str
    n: int  # checks with at least one answer in the subtheme
    mean: float | None
    band: Band | None
    withheld_reason: Reason | None


@dataclass(frozen=True)
class PublishedUnclear(Frozen):
    """A statement many skipped ("weiß nicht"): to clarify in the workshop. Listed most skipped
    first, never with a count (see `_publish_unclear`)."""

    question_id: str
    field_id: str
    text: str


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class PublishedQuestion(Frozen):
    question_id: str
    field_id: str
    text: str
    suggestion: str
    n: int
    mean: float


@dataclass(frozen=True)
class PerspectiveCount(Frozen):
    perspective_id: str
    label: str
    n: int


@dataclass(frozen=True)
class PerspectiveNote(Frozen):
    """Why one perspective has no column; `others` is the rest for `Reason.COMPLEMENT`."""

    perspective_id: str
    label: str
    reason: Reason
    others: int | None


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
