"""The page models: what the workshop page, its PDF and a participant's PDF show.

`workshop_page_model` is the only code in the web transport that reads the group aggregation
(`flows.aggregation.GroupReport`); `own_result_model` the only one that reads a participant's
`FieldResult`s. Templates and charts read nothing but these models. The adapter reads today's
`GroupReport` and, attribute for attribute, the `PublishedReport` of flows/disclosure.py (band
counts, withheld reasons, perspective counts and notes), so switching the source of the figures
to the disclosure layer changes nothing here.

Rules this adapter keeps, whatever the report offers:
- no figure is computed here: every number is one the aggregation published, only formatted;
- exact lowest/highest scores are never shown (with few people they reveal individual scores);
- a figure the report does not give (None, or an attribute it does not have yet) is shown as
  withheld, with the reason in plain words; sections whose figures the aggregation does not
  provide at all (subtheme profile, most-skipped questions) are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bot.web.texts import WebTexts, load_web_texts
from flows.aggregation import FieldSummary, GroupReport, QuestionStat
from flows.questionnaire import Questionnaire
from flows.scoring import FieldResult

# What flows/disclosure.py's PublishedReport adds to the shape of GroupReport; read when present,
# so this one adapter serves both (GroupReport has none of them: all count as withheld).
_BAND_COUNTS = "band_counts"  # field: items with .label, .count; None = distribution withheld
_WITHHELD = "withheld_reason"  # field, perspective: a reason code (too_few, small, complement, …)
_PERSPECTIVE_COUNTS = "perspective_counts"  # report: items with .label, .n (only where allowed)
_UNNAMED = "unnamed"  # report: people of smaller or no perspectives, together
_PERSPECTIVE_NOTES = "perspective_notes"  # report: items with .label, .reason, .others
_SUBTHEMES = "subthemes"  # report: items with .title and .mean (None = withheld)
_UNCLEAR = "skipped"  # report: question items, most often skipped first


@dataclass(frozen=True)
class BandView:
    """One of the three bands, for the chart's background and the legend."""

    band_id: str
    label: str
    low: int
    high: int


@dataclass(frozen=True)
class BandCount:
    label: str
    count: int


@dataclass(frozen=True)
class PerspectiveView:
    label: str
    mean: float


@dataclass(frozen=True)
class FieldView:
    """One field's published figures; `mean` None means withheld, `withheld` says why."""

    number: int
    field_id: str
    title: str
    mean: float | None
    band_id: str | None
    band_label: str | None
    band_counts: tuple[BandCount, ...] | None
    perspectives: tuple[PerspectiveView, ...]
    perspective_note: str | None
    change: float | None
    withheld: str | None


@dataclass(frozen=True)
class StatementView:
    """A statement to discuss, with the suggestion that goes with it; no figures."""

    field_title: str
    text: str
    suggestion: str


@dataclass(frozen=True)
class SubthemeView:
    title: str
    mean: float | None


@dataclass(frozen=True)
class WorkshopPage:
    group_name: str
    round: int
    date_text: str
    completed: int
    shown: bool
    hidden_reason: str | None
    perspective_counts: tuple[tuple[str, int], ...] | None
    bands: tuple[BandView, ...]
    fields: tuple[FieldView, ...]
    perspectives_note: str | None
    subtheme_field: str | None
    subthemes: tuple[SubthemeView, ...] | None
    discussion: tuple[StatementView, ...]
    priorities: tuple[StatementView, ...]
    unclear: tuple[StatementView, ...] | None
    previous_round: int | None
    legend: tuple[str, ...]


def workshop_page_model(
    report: GroupReport,
    questionnaire: Questionnaire,
    *,
    group_name: str,
    round: int,
    released: date,
    previous_round: int | None = None,
    texts: WebTexts | None = None,
) -> WorkshopPage:
    """The workshop page for one group and round, from the figures the aggregation published."""
    t = texts or load_web_texts()
    bands = tuple(BandView(b.id, b.label, b.min, b.max) for b in questionnaire.bands)
    report_notes = _published(report, _PERSPECTIVE_NOTES) or ()
    said_once = {(n.label, str(n.reason)) for n in report_notes}
    fields = tuple(
        _field_view(t, number, summary, report.min_group, said_once)
        for number, summary in enumerate(report.fields, start=1)
    )
    perspectives_note = " ".join(_report_note(t, n, report.min_group) for n in report_notes)
    notes = {f.perspective_note for f in fields if f.mean is not None}
    if not report_notes and len(notes) == 1 and None not in notes and len(fields) > 1:
        # The same note under every field is noise; say it once for all.
        perspectives_note = notes.pop()
        fields = tuple(_without_note(f) for f in fields)
    titles = {f.id: f.title for f in questionnaire.fields}
    counts = _published(report, _PERSPECTIVE_COUNTS)
    perspective_counts = None
    if counts is not None:
        perspective_counts = tuple((c.label, c.n) for c in counts)
        if counts and _published(report, _UNNAMED):
            perspective_counts += ((t("perspective_unnamed"), report.unnamed),)
    subthemes = _published(report, _SUBTHEMES)
    unclear = _published(report, _UNCLEAR)
    has_change = previous_round is not None and any(f.change is not None for f in fields)
    page = WorkshopPage(
        group_name=group_name,
        round=round,
        date_text=t.date(released),
        completed=report.completed,
        shown=report.shown,
        hidden_reason=None
        if report.shown
        else t("group_hidden", min_group=report.min_group, missing=report.missing),
        perspective_counts=perspective_counts,
        bands=bands,
        fields=fields,
        perspectives_note=perspectives_note or None,
        # The field with subthemes (Fairer Zugang und Teilhabe) gets their profile.
        subtheme_field=next((f.title for f in questionnaire.fields if f.subthemes), None)
        if subthemes is not None
        else None,
        subthemes=tuple(SubthemeView(s.title, s.mean) for s in subthemes)
        if subthemes is not None
        else None,
        discussion=tuple(_statement(s, titles) for s in report.divergent),
        priorities=tuple(_statement(s, titles) for s in report.priorities),
        unclear=tuple(_statement(s, titles) for s in unclear) if unclear is not None else None,
        previous_round=previous_round if has_change else None,
        legend=(),
    )
    return _with_legend(t, page)


def _published(source: object, name: str) -> Any:
    """A figure the aggregation may not publish yet; None means "not given", never zero."""
    return getattr(source, name, None)


def _field_view(
    t: WebTexts,
    number: int,
    summary: FieldSummary,
    min_group: int,
    said_once: set[tuple[str, str]],
) -> FieldView:
    if summary.mean is None or summary.band is None:
        reason = _published(summary, _WITHHELD) or "too_few"
        return FieldView(
            number=number,
            field_id=summary.field_id,
            title=summary.title,
            mean=None,
            band_id=None,
            band_label=None,
            band_counts=None,
            perspectives=(),
            perspective_note=None,
            change=None,
            withheld=t.first(f"field_withheld_{reason}", "field_withheld_too_few", k=min_group),
        )
    counts = _published(summary, _BAND_COUNTS)
    shown = tuple(
        PerspectiveView(p.label, p.mean) for p in summary.by_perspective if p.mean is not None
    )
    hidden: dict[str, list[str]] = {}
    for p in summary.by_perspective:
        if p.mean is None:
            # GroupReport gives no reason: a perspective of k or more was hidden for the rest.
            reason = _published(p, _WITHHELD) or ("small" if p.n < min_group else "complement")
            if (p.label, str(reason)) not in said_once:
                hidden.setdefault(str(reason), []).append(p.label)
    notes = [
        t.first(
            f"perspectives_hidden_{reason}",
            "perspectives_hidden_small",
            labels=_join(t, labels),
            k=min_group,
        )
        for reason, labels in hidden.items()
    ]
    return FieldView(
        number=number,
        field_id=summary.field_id,
        title=summary.title,
        mean=summary.mean,
        band_id=summary.band.id,
        band_label=summary.band.label,
        band_counts=tuple(BandCount(c.label, c.count) for c in counts)
        if counts is not None
        else None,
        perspectives=shown,
        perspective_note=" ".join(notes) or None,
        change=summary.change,
        withheld=None,
    )


def _report_note(t: WebTexts, note: Any, min_group: int) -> str:
    """A perspective note the disclosure layer made once for the whole report."""
    if str(note.reason) == "complement" and note.others:
        key = "one" if note.others == 1 else "others"
        return t(f"perspectives_hidden_complement_{key}", labels=note.label, others=note.others)
    return t.first(
        f"perspectives_hidden_{note.reason}",
        "perspectives_hidden_small",
        labels=note.label,
        k=min_group,
    )


def _without_note(view: FieldView) -> FieldView:
    return replace(view, perspective_note=None)


def _join(t: WebTexts, labels: Sequence[str]) -> str:
    """German enumeration: "A", "A und B", "A, B und C"."""
    if len(labels) <= 1:
        return "".join(labels)
    return t("list_comma").join(labels[:-1]) + t("list_and") + labels[-1]


def _statement(stat: QuestionStat, titles: Mapping[str, str]) -> StatementView:
    # Only the statement and its suggestion: per-question figures of small groups would let
    # individual answers be worked out, and the order already says where to start.
    return StatementView(titles.get(stat.field_id, ""), stat.text, stat.suggestion)


def _with_legend(t: WebTexts, page: WorkshopPage) -> WorkshopPage:
    shown = [f for f in page.fields if f.mean is not None]
    lines = []
    if shown:
        lines.append(t("legend_mean"))
        band_items = [
            t("legend_band_item", label=b.label, min=b.low, max=b.high) for b in page.bands
        ]
        lines.append(t("legend_band", bands=_join(t, band_items)))
    if any(f.band_counts is not None for f in shown):
        lines.append(t("legend_band_counts"))
    if any(f.perspectives for f in shown):
        lines.append(t("legend_perspectives"))
    if page.previous_round is not None:
        lines.append(t("legend_change", round=page.previous_round))
    if page.shown and any(f.withheld for f in page.fields):
        lines.append(t("legend_withheld"))
    if page.discussion or page.priorities:
        lines.append(t("legend_lists"))
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
