"""The page model: the one adapter between the group aggregation and the web renderings.

It must show only what the aggregation published (never exact extremes), say why a figure is
withheld, and pick up the figures the disclosure layer is to add (band counts, counts per
perspective, subtheme profile, most-skipped questions) as soon as the report carries them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date

from bot.web.model import FieldView, workshop_page_model
from bot.web.render import Renderer
from bot.web.texts import load_web_texts
from flows.aggregation import FieldSummary, GroupReport, Participant, group_report
from tests.web_data import FIVE, QUESTIONNAIRE, SIX, completed_check

T = load_web_texts()


def page_for(report: GroupReport, previous_round: int | None = None):
    return workshop_page_model(
        report,
        QUESTIONNAIRE,
        group_name="Stadt Musterstadt",
        round=2,
        released=date(2026, 11, 30),
        previous_round=previous_round,
    )


def cards(html: str) -> dict[str, str]:
    """Each field card's visible text, keyed by field id."""
    found = re.findall(r'<article class="field" data-field="([^"]+)">(.*?)</article>', html, re.S)
    return {field_id: re.sub(r"<[^>]+>", " ", body) for field_id, body in found}


def test_no_exact_extremes_and_only_published_numbers() -> None:
    report = group_report(QUESTIONNAIRE, FIVE, previous=SIX)
    assert "low" not in {f.name for f in fields(FieldView)}
    html = Renderer().workshop_html(page_for(report, 1), css_href=None, pdf_href=None)
    assert len(cards(html)) == len(report.fields) == 7
    for summary in report.fields:
        text = cards(html)[summary.field_id]
        numbers = set(re.findall(r"[−+]?\d+(?:,\d)?", text))
        number = str(QUESTIONNAIRE.field_number(summary.field_id) + 1)
        assert numbers <= {number, "1", T.number(summary.mean), T.signed(summary.change)}, text
        assert str(summary.low) not in numbers - {number, "1"}
        assert str(summary.high) not in numbers - {number, "1"}


def test_withheld_field_says_why_and_chart_labels_it() -> None:
    # Three people, but only two answered enough of the first field to have a score there.
    first = {q.id for q in QUESTIONNAIRE.field_questions(QUESTIONNAIRE.fields[0].id)}
    people = [completed_check(s, "administration") for s in (41, 42, 43)]
    blank = Participant(
        people[0].perspective, {k: None if k in first else v for k, v in people[0].answers.items()}
    )
    report = group_report(QUESTIONNAIRE, [blank, *people[1:]])
    page = page_for(report)
    assert page.fields[0].mean is None
    assert page.fields[0].withheld == T("field_withheld_too_few", k=3)
    assert all(f.mean is not None for f in page.fields[1:])
    html = Renderer().workshop_html(page, css_href=None, pdf_href=None)
    assert T("chart_withheld") in html
    assert T("legend_withheld") in html


def test_same_perspective_note_is_said_once() -> None:
    page = page_for(group_report(QUESTIONNAIRE, FIVE))
    assert page.perspectives_note is not None
    assert "Politik" in page.perspectives_note and "übrigen Personen" in page.perspectives_note
    assert all(f.perspective_note is None for f in page.fields)
    assert page_for(group_report(QUESTIONNAIRE, SIX)).perspectives_note is None


# Stand-ins with the shape of flows/disclosure.py's published types (privacy branch).


@dataclass(frozen=True)
class BandCount:
    band_id: str
    label: str
    count: int


@dataclass(frozen=True)
class PublishedPerspective:
    perspective_id: str
    label: str
    n: int
    mean: float | None
    withheld_reason: str | None


@dataclass(frozen=True)
class PublishedField(FieldSummary):
    band_counts: tuple[BandCount, ...] | None = None
    withheld_reason: str | None = None


@dataclass(frozen=True)
class Count:
    perspective_id: str
    label: str
    n: int


@dataclass(frozen=True)
class Note:
    perspective_id: str
    label: str
    reason: str
    others: int | None


@dataclass(frozen=True)
class Subtheme:
    title: str
    mean: float | None


@dataclass(frozen=True)
class PublishedReport(GroupReport):
    perspective_counts: tuple[Count, ...] = ()
    unnamed: int = 0
    perspective_notes: tuple[Note, ...] = ()
    subthemes: tuple[Subtheme, ...] | None = None
    skipped: tuple = ()


BANDS = (
    BandCount("beginning", "am Anfang", 1),
    BandCount("underway", "auf dem Weg", 4),
    BandCount("strong", "gut aufgestellt", 1),
)


def published(base: GroupReport, **changes: object) -> PublishedReport:
    """`base` as the disclosure layer would publish it: band counts, reasons, notes."""
    fields_ = []
    for number, s in enumerate(base.fields):
        values = {f.name: getattr(s, f.name) for f in fields(FieldSummary)}
        values["by_perspective"] = tuple(
            PublishedPerspective(p.perspective_id, p.label, p.n, p.mean, None)
            for p in s.by_perspective
        )
        if number == 1:  # the second field: withheld against differencing
            values.update(mean=None, band=None, change=None)
            fields_.append(PublishedField(**values, withheld_reason="differencing"))
        else:
            fields_.append(PublishedField(**values, band_counts=BANDS if number != 2 else None))
    values = {f.name: getattr(base, f.name) for f in fields(GroupReport)}
    return PublishedReport(**values | {"fields": tuple(fields_)} | changes)


def test_figures_of_the_disclosure_layer_appear_when_published() -> None:
    base = group_report(QUESTIONNAIRE, SIX)
    report = published(
        base,
        perspective_counts=(Count("administration", "Verwaltung", 3),),
        unnamed=3,
        subthemes=(Subtheme("Bildung", 61.2), Subtheme("Wohnen", None)),
        skipped=base.priorities[:2],
    )
    page = page_for(report)
    assert page.perspective_counts == (("Verwaltung", 3), (T("perspective_unnamed"), 3))
    assert page.fields[0].band_counts is not None
    assert [(b.label, b.count) for b in page.fields[0].band_counts] == [
        ("am Anfang", 1),
        ("auf dem Weg", 4),
        ("gut aufgestellt", 1),
    ]
    assert page.fields[1].mean is None
    assert "vorigen Stand" in (page.fields[1].withheld or "")
    assert page.fields[2].band_counts is None  # shown mean, withheld distribution
    assert page.subtheme_field == "Fairer Zugang und Teilhabe"
    assert [s.text for s in page.unclear or ()] == [s.text for s in base.priorities[:2]]
    html = Renderer().workshop_html(page, css_href=None, pdf_href=None)
    assert "am Anfang: 1 · auf dem Weg: 4 · gut aufgestellt: 1" in html
    assert T("subthemes_title") in html and "61,2" in html
    assert T("unclear_title") in html
    assert T("legend_band_counts") in html
    assert T("band_counts_missing") not in html
    assert 'data-perspective-count="Verwaltung"' in html


def test_report_level_perspective_note_replaces_the_per_field_ones() -> None:
    base = group_report(QUESTIONNAIRE, FIVE)  # Verwaltung 3 (complement), Politik 2 (small)
    notes = (
        Note("administration", "Verwaltung", "complement", 2),
        Note("politics", "Politik", "small", None),
    )
    report = published(base, perspective_notes=notes)
    fixed = PublishedReport(
        **{f.name: getattr(report, f.name) for f in fields(PublishedReport)}
        | {
            "fields": tuple(
                PublishedField(
                    **{f.name: getattr(s, f.name) for f in fields(PublishedField)}
                    | {
                        "by_perspective": tuple(
                            PublishedPerspective(
                                p.perspective_id,
                                p.label,
                                p.n,
                                None,
                                "complement" if p.label == "Verwaltung" else "small",
                            )
                            for p in s.by_perspective
                        )
                    }
                )
                for s in report.fields
            )
        }
    )
    page = page_for(fixed)
    assert page.perspectives_note is not None
    assert "Verwaltung wird nicht einzeln ausgewiesen" in page.perspectives_note
    assert "übrigen 2 Personen" in page.perspectives_note
    assert all(f.perspective_note is None for f in page.fields)


def test_sections_without_published_figures_are_left_out() -> None:
    page = page_for(group_report(QUESTIONNAIRE, FIVE))
    assert page.subthemes is None and page.unclear is None and page.perspective_counts is None
    html = Renderer().workshop_html(page, css_href=None, pdf_href=None)
    assert T("subthemes_title") not in html and T("unclear_title") not in html
    assert T("perspective_counts_withheld") in html
