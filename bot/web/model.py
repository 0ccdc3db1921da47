"""The page models: what the workshop page, its PDF and a participant's PDF show.

`workshop_page_model` reads exactly one thing, the disclosure layer's `PublishedReport`
(`flows/disclosure/`) — the same object the chat report renders (`GroupDesk.published_report`
for one viewer) — and `own_result_model` one participant's `FieldResult`s. Templates and charts
read nothing but these models, so page, PDF and chat show the same figures by construction.

Rules this adapter keeps:
- no figure is computed here: every number is one the report published, only formatted
  (the change since the last round, band counts, counts per perspective included);
- what the report withholds is said once, with the chat's own sentence for its reason
  (`Reason` → `report_withheld_…` / `report_note_…` in the bot's locale, see `texts.py`);
- nothing the report does not publish appears: no extremes, no spread, no per-field
  perspective hints beyond the report's own perspective notes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from bot.web.texts import WebTexts, load_web_texts
from flows.disclosure import (
    QUESTION_FACTOR,
    PerspectiveNote,
    PublishedField,
    PublishedQuestion,
    PublishedReport,
    Reason,
    said,
    whose,
)
from flows.questionnaire import Questionnaire
from flows.scoring import FieldResult


@dataclass(frozen=True)
class BandView:
    """One of the three bands, for the chart's background and the legend."""

    band_id: str
    label: str
    low: int
    high: int


@dataclass(frozen=True)
class BandCountView:
    label: str
    count: int


@dataclass(frozen=True)
class PerspectiveView:
    label: str
    mean: float


@dataclass(frozen=True)
class CountView:
    """Completed checks of one perspective, where the report names it (k people or more)."""

    label: str
    n: int


@dataclass(frozen=True)
class FieldView:
    """One field's published figures; `mean` None means withheld, `withheld` says why."""

    number: int
    field_id: str
    title: str
    n: int
    mean: float | None
    band_id: str | None
    band_label: str | None
    band_counts: tuple[BandCountView, ...] | None
    perspectives: tuple[PerspectiveView, ...]
    change: float | None
    withheld: str | None


@dataclass(frozen=True)
class SubthemeView:
    """One subtheme's published mean agreement; `mean` None means withheld."""

    title: str
    mean: float | None
    band_id: str | None
    band_label: str | None


@dataclass(frozen=True)
class ProfileView:
    """A field's profile by subtheme (Fairer Zugang und Teilhabe), as the release published it.

    `shown` False: no subtheme has a figure yet, and `notes` says why in one sentence.
    """

    number: int
    field_id: str
    title: str
    subthemes: tuple[SubthemeView, ...]
    shown: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class UnclearView:
    """A statement many skipped: its text and field, never a count."""

    field_title: str
    text: str


@dataclass(frozen=True)
class StatementView:
    """A statement to discuss, with its published mean agreement and its suggestion."""

    field_title: str
    text: str
    suggestion: str
    mean: float


@dataclass(frozen=True)
class WorkshopPage:
    group_name: str
    round: int
    release: int  # 0: no release yet
    date_text: str | None  # the release's date
    completed: int
    shown: bool
    hidden_reason: str | None
    pending_note: str | None  # checks waiting for the next release
    held_back_note: str | None  # why figures may stay withheld for the rest of the round
    perspective_counts: tuple[CountView, ...]
    unnamed_text: str | None  # "weitere Perspektiven 2"
    bands: tuple[BandView, ...]
    fields: tuple[FieldView, ...]
    band_counts_note: str | None  # said once when no field may show its distribution
    perspective_notes: tuple[str, ...]
    discussion: tuple[StatementView, ...]
    priorities: tuple[StatementView, ...]
    statements_note: str | None  # why no statement is evaluated yet
    profiles: tuple[ProfileView, ...]  # fields with subthemes
    unclear: tuple[UnclearView, ...]  # most often skipped first
    unclear_note: str | None  # the rule under the list, or why there is none
    previous_round: int | None  # the round the changes compare with
    legend: tuple[str, ...]


def workshop_page_model(
    report: PublishedReport,
    questionnaire: Questionnaire,
    *,
    group_name: str,
    round: int,
    own: bool = False,
    pending: int = 0,
    held: bool = False,
    texts: WebTexts | None = None,
) -> WorkshopPage:
    """The workshop page for one group and round, from the report as its viewer may see it.

    `report`, `own`, `pending` and `held` are the `ViewerReport` that
    `GroupDesk.published_report(group, viewer)` returns for the chat: the release for this
    viewer, whether the viewer's own check is in the group (their own check never counts
    towards their threshold, and the sentences say so), how many checks wait for the next
    release, and whether there is no next release for now.
    """
    t = texts or load_web_texts()
    k = report.min_group
    bands = tuple(BandView(b.id, b.label, b.min, b.max) for b in questionnaire.bands)
    titles = {f.id: f.title for f in questionnaire.fields}
    fields = tuple(
        _field_view(t, number, field, k, whose(report, own))
        for number, field in enumerate(report.fields, start=1)
    )
    shown_fields = [f for f in fields if f.mean is not None]
    counts = tuple(CountView(c.label, c.n) for c in report.perspective_counts)
    if report.shown:
        hidden_reason = None
        if held:  # a check this release counted cannot be read: no next release to promise
            pending_note: str | None = t.chat("report_on_hold")
        elif pending:
            pending_note = t.chat("report_pending", n=pending, min_group=k)
        else:
            pending_note = None
    else:
        hidden_reason = t.chat(
            f"report_hidden{whose(report, own)}", min_group=k, missing=report.missing
        )
        pending_note = None
    statements_note = None
    if report.shown and not report.divergent and not report.priorities:
        statements_note = t.chat("report_questions_hidden", min_group=QUESTION_FACTOR * k)
    page = WorkshopPage(
        group_name=group_name,
        round=round,
        release=report.release,
        date_text=t.date(report.published_at.date()) if report.published_at else None,
        completed=report.completed,
        shown=report.shown,
        hidden_reason=hidden_reason,
        pending_note=pending_note,
        held_back_note=t.chat("report_held_back") if report.shown and report.held_back else None,
        perspective_counts=counts,
        unnamed_text=t.chat("report_unnamed", n=report.unnamed)
        if counts and report.unnamed
        else None,
        bands=bands,
        fields=fields,
        band_counts_note=t("band_counts_missing")
        if shown_fields and all(f.band_counts is None for f in shown_fields)
        else None,
        perspective_notes=tuple(_perspective_note(t, n, k) for n in report.perspective_notes),
        discussion=tuple(_statement(s, titles) for s in report.divergent),
        priorities=tuple(_statement(s, titles) for s in report.priorities),
        statements_note=statements_note,
        profiles=tuple(
            _profile(t, number, field, k)
            for number, field in enumerate(report.fields, start=1)
            if field.subthemes
        )
        if report.shown
        else (),
        unclear=tuple(UnclearView(titles.get(u.field_id, ""), u.text) for u in report.unclear),
        unclear_note=_unclear_note(t, report) if report.shown else None,
        previous_round=round - 1 if any(f.change is not None for f in shown_fields) else None,
        legend=(),
    )
    return _with_legend(t, page)


def withheld_sentence(t: WebTexts, reason: Reason, k: int, viewer: str) -> str:
    """The chat's sentence for a withheld field (`report_withheld_<said>[<whose>]`)."""
    suffix = viewer if reason is Reason.TOO_FEW else ""
    return t.chat(f"report_withheld_{said(reason)}{suffix}", min_group=k)


def _field_view(t: WebTexts, number: int, field: PublishedField, k: int, viewer: str) -> FieldView:
    if field.mean is None or field.band is None:
        reason = field.withheld_reason or Reason.TOO_FEW
        return FieldView(
            number=number,
            field_id=field.field_id,
            title=field.title,
            n=field.n,
            mean=None,
            band_id=None,
            band_label=None,
            band_counts=None,
            perspectives=(),
            change=None,
            withheld=t("field_withheld", why=withheld_sentence(t, reason, k, viewer)),
        )
    return FieldView(
        number=number,
        field_id=field.field_id,
        title=field.title,
        n=field.n,
        mean=field.mean,
        band_id=field.band.id,
        band_label=field.band.label,
        band_counts=tuple(BandCountView(c.label, c.count) for c in field.band_counts)
        if field.band_counts is not None
        else None,
        perspectives=tuple(
            PerspectiveView(p.label, p.mean) for p in field.by_perspective if p.mean is not None
        ),
        change=field.change,
        withheld=None,
    )


def _profile(t: WebTexts, number: int, field: PublishedField, k: int) -> ProfileView:
    """The subtheme profile with the chat's sentences for what it withholds."""
    reasons = {s.withheld_reason for s in field.subthemes if s.withheld_reason is not None}
    notes = []
    if Reason.TOO_FEW in reasons:
        notes.append(t.chat("report_subthemes_too_few", min_group=QUESTION_FACTOR * k))
    if reasons - {Reason.TOO_FEW}:
        notes.append(t.chat("report_subthemes_protected"))
    return ProfileView(
        number=number,
        field_id=field.field_id,
        title=field.title,
        subthemes=tuple(
            SubthemeView(
                s.title,
                s.mean,
                s.band.id if s.band and s.mean is not None else None,
                s.band.label if s.band and s.mean is not None else None,
            )
            for s in field.subthemes
        ),
        shown=any(s.mean is not None for s in field.subthemes),
        notes=tuple(notes),
    )


def _unclear_note(t: WebTexts, report: PublishedReport) -> str:
    """The list's rule (k skips, no counts), or why there is no list, in the chat's words."""
    needed = QUESTION_FACTOR * report.min_group
    if report.completed < needed:
        return t.chat("report_unclear_hidden", min_group=needed)
    if not report.unclear:
        return t.chat("report_unclear_none", min_group=report.min_group)
    return t.chat("report_unclear_rule", min_group=report.min_group)


def _perspective_note(t: WebTexts, note: PerspectiveNote, k: int) -> str:
    """Why one perspective has no column, once per report, in the chat's words."""
    if note.reason is Reason.COMPLEMENT:
        return t.chat("report_note_complement", label=note.label, others=note.others)
    return t.chat(
        f"report_note_{said(note.reason, perspective=True)}", label=note.label, min_group=k
    )


def _join(t: WebTexts, labels: Sequence[str]) -> str:
    """German enumeration: "A", "A und B", "A, B und C"."""
    if len(labels) <= 1:
        return "".join(labels)
    return t("list_comma").join(labels[:-1]) + t("list_and") + labels[-1]


def _statement(stat: PublishedQuestion, titles: Mapping[str, str]) -> StatementView:
    return StatementView(titles.get(stat.field_id, ""), stat.text, stat.suggestion, stat.mean)


def _with_legend(t: WebTexts, page: WorkshopPage) -> WorkshopPage:
    shown = [f for f in page.fields if f.mean is not None]
    lines = []
    if shown:
        lines.append(t("legend_mean"))
        band_items = [
            t("legend_band_item", label=b.label, min=b.low, max=b.high) for b in page.bands
        ]
        lines.append(t("legend_band", bands=_join(t, band_items)))
        if page.band_counts_note is None:
            lines.append(t("legend_band_counts"))
    if any(f.perspectives for f in shown):
        lines.append(t("legend_perspectives"))
    if page.previous_round is not None:
        lines.append(t("legend_change", round=page.previous_round))
    if page.shown and any(f.withheld for f in page.fields):
        lines.append(t("legend_withheld"))
    if page.discussion or page.priorities:
        lines.append(t("legend_lists"))
    if any(p.shown for p in page.profiles):
        lines.append(t("legend_subthemes"))
    if page.unclear:
        lines.append(t("legend_unclear"))
    return replace(page, legend=tuple(lines))


# -- a participant's own result --------------------------------------------------------------


@dataclass(frozen=True)
class OwnFieldView:
    number: int
    field_id: str
    title: str
    score: int | None
    band_id: str | None
    band_label: str | None
    assessment: str | None
    answered: int
    total: int
    suggestions: tuple[str, ...]
    unclear: tuple[str, ...]


@dataclass(frozen=True)
class OwnResultPage:
    date_text: str
    bands: tuple[BandView, ...]
    fields: tuple[OwnFieldView, ...]
    legend: tuple[str, ...]


def own_result_model(
    results: Sequence[FieldResult],
    questionnaire: Questionnaire,
    *,
    released: date,
    texts: WebTexts | None = None,
) -> OwnResultPage:
    """One person's seven fields as scored by `flows.scoring`; nothing of anyone else."""
    t = texts or load_web_texts()
    bands = tuple(BandView(b.id, b.label, b.min, b.max) for b in questionnaire.bands)
    fields = tuple(
        OwnFieldView(
            number=number,
            field_id=r.field_id,
            title=r.title,
            score=r.score,
            band_id=r.band.id if r.band else None,
            band_label=r.band.label if r.band else None,
            assessment=r.assessment,
            answered=r.answered,
            total=r.total,
            suggestions=r.suggestions,
            unclear=tuple(questionnaire.question(q).text for q in r.skipped_question_ids),
        )
        for number, r in enumerate(results, start=1)
    )
    band_items = [t("legend_band_item", label=b.label, min=b.low, max=b.high) for b in bands]
    legend = (t("own_legend_score"), t("legend_band", bands=_join(t, band_items)))
    return OwnResultPage(date_text=t.date(released), bands=bands, fields=fields, legend=legend)
