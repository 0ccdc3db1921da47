"""The group report as chat text: the coordinator's combined picture, from one release.

Renders nothing but a `PublishedReport` of `flows.disclosure` (the object the workshop page and
the PDF render too): every figure is one the release published, every withheld figure is
explained with the sentence for its `Reason`, said once rather than under every field.
"""

from __future__ import annotations

from bot.app.records import GroupRecord
from bot.ui.texts import Html, Texts
from bot.ui.views import View
from flows.disclosure import (
    QUESTION_FACTOR,
    PerspectiveNote,
    PublishedField,
    PublishedReport,
    Reason,
    said,
    whose,
)


def _number(value: float | None) -> str:
    """German decimal comma, as in the project's own texts."""
    if value is None:
        return "–"
    return f"{value:.1f}".replace(".", ",")


def _signed(value: float) -> str:
    return ("+" if value > 0 else "±" if value == 0 else "−") + _number(abs(value))


def render_report(
    t: Texts,
    group: GroupRecord,
    report: PublishedReport,
    pending: int,
    own: bool = False,
    held: bool = False,
) -> list[View]:
    """The coordinator's combined picture, from published figures only (flows.disclosure).

    `pending` counts checks completed or changed since this release (they enter the next one);
    `own` says that the coordinator took part, so their own check does not count for them.
    `held`: the round stays at this release for now (`GroupDesk._latest_release`).
    """
    k = report.min_group
    counts = [f"{p.label} {p.n}" for p in report.perspective_counts]
    if counts and report.unnamed:
        counts.append(t.plain("report_unnamed", n=report.unnamed))
    perspectives = t("report_perspectives", items=", ".join(counts)) if counts else Html("")
    parts: list[str] = [
        t(
            "report_title",
            name=group.name,
            round=group.current_round,
            completed=report.completed,
            perspectives=perspectives,
        )
    ]
    if not report.shown:
        # Nothing can be shown yet; seven identical "no figures" lines would add nothing.
        key = f"report_hidden{whose(report, own)}"
        parts += [t(key, min_group=k, missing=report.missing), t("report_footer")]
        return [View("\n\n".join(parts))]
    assert report.published_at is not None
    stand = t(
        "report_release",
        number=report.release,
        date=report.published_at.strftime(t.plain("report_date_format")),
    )
    if held:
        # A check of this round cannot be read: no next release, so no promise of one.
        stand = Html(stand + "\n" + t("report_on_hold"))
    elif pending:
        stand = Html(stand + "\n" + t("report_pending", n=pending, min_group=k))
    if report.held_back:
        stand = Html(stand + "\n" + t("report_held_back"))
    parts.append(stand)
    legend = [t("report_legend_mean"), t("report_legend_band"), t("report_legend_counts")]
    if any(f.change is not None for f in report.fields):
        legend.append(t("report_legend_change", round=group.current_round - 1))
    parts.append("\n".join([t("report_legend_title"), *legend]))
    for number, field in enumerate(report.fields, start=1):
        parts.append(_field_text(t, group, number, field, k, whose(report, own)))
        if field.subthemes:
            parts.append(_subthemes_text(t, field, k))
    if report.perspective_notes:
        notes = [_perspective_note(t, note, k) for note in report.perspective_notes]
        parts.append("\n".join([t("report_perspective_notes_title"), *notes]))
    for key, stats in (
        ("report_divergent_title", report.divergent),
        ("report_priorities_title", report.priorities),
    ):
        if not stats:
            continue
        lines = [t(key)]
        lines += [
            t("report_question", text=s.text, mean=_number(s.mean), suggestion=s.suggestion)
            for s in stats
        ]
        parts.append("\n".join(lines))
    if not report.divergent and not report.priorities:
        parts.append(t("report_questions_hidden", min_group=QUESTION_FACTOR * k))
    parts.append(_unclear_text(t, report))
    parts.append(t("report_footer"))
    return [View("\n\n".join(parts))]


def _field_text(
    t: Texts, group: GroupRecord, number: int, field: PublishedField, k: int, viewer: str
) -> Html:
    """One field: mean and band, the band counts, shown perspectives; or why nothing is shown."""
    if field.mean is None or field.band is None:
        reason = field.withheld_reason or Reason.TOO_FEW
        key = f"report_withheld_{said(reason)}"
        if reason is Reason.TOO_FEW:
            key += viewer
        return t("report_field_hidden", number=number, title=field.title, why=t(key, min_group=k))
    change = (
        t("report_change", round=group.current_round - 1, change=_signed(field.change))
        if field.change is not None
        else Html("")
    )
    lines = [
        t(
            "report_field",
            number=number,
            title=field.title,
            mean=_number(field.mean),
            band=field.band.label,
            n=field.n,
            change=change,
        )
    ]
    if field.band_counts is not None:
        items = " · ".join(f"{b.label} {b.count}" for b in field.band_counts)
        lines.append(t("report_band_counts", items=items))
    else:
        lines.append(t("report_band_counts_hidden"))
    shown = [p for p in field.by_perspective if p.mean is not None]
    if shown:
        items = " · ".join(f"{p.label} {_number(p.mean)}" for p in shown)
        lines.append(t("report_by_perspective", items=items))
    return Html("\n".join(lines))


def _subthemes_text(t: Texts, field: PublishedField, k: int) -> Html:
    """A field's profile by subtheme: one line each, and once why some have no figure."""
    if all(s.withheld_reason is Reason.TOO_FEW for s in field.subthemes):
        # Nine lines of "nicht ausgewiesen" would say less than one sentence.
        return t("report_subthemes_none", title=field.title, min_group=QUESTION_FACTOR * k)
    lines = [t("report_subthemes_title", title=field.title)]
    for s in field.subthemes:
        if s.mean is None or s.band is None:
            lines.append(t("report_subtheme_hidden", title=s.title))
        else:
            lines.append(
                t("report_subtheme", title=s.title, mean=_number(s.mean), band=s.band.label)
            )
    reasons = {s.withheld_reason for s in field.subthemes if s.withheld_reason is not None}
    if Reason.TOO_FEW in reasons:
        lines.append(t("report_subthemes_too_few", min_group=QUESTION_FACTOR * k))
    if reasons - {Reason.TOO_FEW}:
        lines.append(t("report_subthemes_protected"))
    return Html("\n".join(lines))


def _unclear_text(t: Texts, report: PublishedReport) -> Html:
    """The statements to clarify, most skipped first, never with a count."""
    needed = QUESTION_FACTOR * report.min_group
    if report.completed < needed:
        return t("report_unclear_hidden", min_group=needed)
    if not report.unclear:
        return t("report_unclear_none", min_group=report.min_group)
    lines = [t("report_unclear_title")]
    lines += [t("report_unclear", text=u.text) for u in report.unclear]
    lines.append(t("report_unclear_rule", min_group=report.min_group))
    return Html("\n".join(lines))


def _perspective_note(t: Texts, note: PerspectiveNote, k: int) -> Html:
    if note.reason is Reason.COMPLEMENT:
        return t("report_note_complement", label=note.label, others=note.others)
    return t(f"report_note_{said(note.reason, perspective=True)}", label=note.label, min_group=k)
