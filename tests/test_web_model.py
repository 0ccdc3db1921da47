"""The page model: the one adapter between the disclosure layer's report and the web renderings.

It must show exactly what `flows.disclosure` published (never an extreme, never a spread), and
explain every withheld figure with the chat report's own sentence for its `Reason` — read here
straight from `bot/locale/de.yaml`, independently of bot/web's loader.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import fields, replace
from pathlib import Path

import pytest
import yaml

from bot.ui.texts import format_plain
from bot.web.model import BandCountView, CountView, FieldView, WorkshopPage, workshop_page_model
from bot.web.render import Renderer
from bot.web.texts import WebTexts, load_web_texts
from flows.aggregation import scored_participants
from flows.disclosure import BandCount, Check, PerspectiveNote, PublishedReport, Reason, said
from tests.web_data import (
    FIVE,
    LATE,
    MUSTERSTADT,
    QUESTIONNAIRE,
    SIXTOWN,
    TINY,
    Published,
    completed_check,
    fake_source,
    published,
)

ROOT = Path(__file__).resolve().parent.parent
T = load_web_texts()
CHAT = yaml.safe_load((ROOT / "bot/locale/de.yaml").read_text(encoding="utf-8"))
WEB = yaml.safe_load((ROOT / "bot/web/texts.de.yaml").read_text(encoding="utf-8"))
_, RESULTS = fake_source()


def page_for(result: Published | PublishedReport, *, round: int = 2) -> WorkshopPage:
    if isinstance(result, PublishedReport):
        result = Published(result, 0, False)
    return workshop_page_model(
        result.report,
        QUESTIONNAIRE,
        group_name="Stadt Musterstadt",
        round=round,
        own=result.own,
        pending=result.pending,
    )


def html_of(page: WorkshopPage) -> str:
    return Renderer().workshop_html(page, css_href=None, pdf_href=None)


def cards(html: str) -> dict[str, str]:
    """Each field card's visible text, keyed by field id."""
    found = re.findall(r'<article class="field" data-field="([^"]+)">(.*?)</article>', html, re.S)
    return {field_id: re.sub(r"<[^>]+>", " ", body) for field_id, body in found}


def pairs(counts: Sequence[BandCountView | BandCount] | None) -> list[tuple[str, int]] | None:
    return None if counts is None else [(c.label, c.count) for c in counts]


def withheld(report: PublishedReport, index: int, reason: Reason) -> PublishedReport:
    """`report` with field `index` withheld for `reason`, as `flows.disclosure` withholds it."""
    changed = list(report.fields)
    changed[index] = replace(
        changed[index],
        mean=None,
        band=None,
        band_counts=None,
        change=None,
        withheld_reason=reason,
        by_perspective=tuple(
            replace(p, mean=None, withheld_reason=reason) for p in changed[index].by_perspective
        ),
    )
    return replace(report, fields=tuple(changed))


def test_only_published_numbers_and_no_extremes() -> None:
    result = RESULTS[MUSTERSTADT]
    report = result.report
    assert not {"low", "high", "spread"} & {f.name for f in fields(FieldView)}
    shown = cards(html_of(page_for(result)))
    assert len(shown) == len(report.fields) == 7
    for number, field in enumerate(report.fields, start=1):
        assert field.mean is not None and field.change is not None
        allowed = {str(number), str(field.n), T.number(field.mean), T.signed(field.change), "1"}
        allowed |= {str(b.count) for b in field.band_counts or ()}
        allowed |= {T.number(p.mean) for p in field.by_perspective if p.mean is not None}
        numbers = set(re.findall(r"[−+]?\d+(?:,\d)?", shown[field.field_id]))
        assert numbers <= allowed, shown[field.field_id]
        scores = [s for _, s in scored_participants(QUESTIONNAIRE, field.field_id, FIVE)]
        assert not ({str(min(scores)), str(max(scores))} - allowed) & numbers


def test_figures_are_the_published_ones() -> None:
    result = RESULTS[MUSTERSTADT]
    page = page_for(result)
    assert (page.release, page.completed, page.shown) == (1, 5, True)
    assert page.date_text == T.date(result.report.published_at.date())
    assert page.previous_round == 1
    for view, field in zip(page.fields, result.report.fields, strict=True):
        assert (view.mean, view.n, view.change) == (field.mean, field.n, field.change)
        assert view.band_label == field.band.label
        published_counts = (
            None
            if field.band_counts is None
            else tuple((b.label, b.count) for b in field.band_counts)
        )
        shown_counts = (
            None
            if view.band_counts is None
            else tuple((b.label, b.count) for b in view.band_counts)
        )
        assert shown_counts == published_counts
    # One field publishes its distribution, the others withhold it (it would pin a score).
    with_counts = [f for f in result.report.fields if f.band_counts is not None]
    assert with_counts and len(with_counts) < len(result.report.fields)
    html = html_of(page)
    item = " · ".join(f"{b.label}: {b.count}" for b in with_counts[0].band_counts or ())
    assert item in cards(html)[with_counts[0].field_id]
    assert T("band_counts_withheld") in html and T("legend_band_counts") in html


def test_perspective_counts_and_notes_as_published() -> None:
    result = RESULTS[MUSTERSTADT]  # Verwaltung 3, Politik 2, 2 checks pending
    page = page_for(result)
    assert page.perspective_counts == (CountView("Verwaltung", 3),)
    assert page.unnamed_text == format_plain(CHAT["report_unnamed"], n=2)
    assert page.perspective_notes == (
        format_plain(CHAT["report_note_complement"], label="Verwaltung", others=2),
        format_plain(CHAT["report_note_small"], label="Politik", min_group=3),
    )
    assert "übrigen 2 Personen" in page.perspective_notes[0]
    assert page.pending_note == format_plain(CHAT["report_pending"], n=len(LATE), min_group=3)
    html = html_of(page)
    assert 'data-perspective-count="Verwaltung"' in html and "data-perspective=" not in html
    for note in page.perspective_notes:
        assert html.count(note) == 1  # once per report, not under every field


def test_perspectives_side_by_side_where_published() -> None:
    result = RESULTS[SIXTOWN]
    page = page_for(result, round=1)
    for view, field in zip(page.fields, result.report.fields, strict=True):
        assert [(p.label, p.mean) for p in view.perspectives] == [
            (p.label, p.mean) for p in field.by_perspective if p.mean is not None
        ]
    assert sum(1 for f in page.fields if len(f.perspectives) == 2) >= 3
    assert page.previous_round is None


def test_statements_with_their_published_means() -> None:
    result = RESULTS[SIXTOWN]
    page = page_for(result, round=1)
    assert result.report.divergent and result.report.priorities
    for views, stats in (
        (page.discussion, result.report.divergent),
        (page.priorities, result.report.priorities),
    ):
        assert [(s.text, s.suggestion, s.mean) for s in views] == [
            (s.text, s.suggestion, s.mean) for s in stats
        ]
    assert page.statements_note is None
    html = html_of(page)
    assert html.count('data-figure="statement-mean"') == len(page.discussion) + len(page.priorities)
    assert T("legend_lists") in html
    # Five checks are too few for any statement: the chat's reason, said once.
    few = page_for(RESULTS[MUSTERSTADT])
    assert few.discussion == few.priorities == ()
    assert few.statements_note == format_plain(CHAT["report_questions_hidden"], min_group=6)
    assert html_of(few).count(few.statements_note) == 1


@pytest.mark.parametrize("reason", list(Reason))
@pytest.mark.parametrize("own", [False, True])
def test_every_withheld_reason_is_the_chats_sentence(reason: Reason, own: bool) -> None:
    """Only "too few" is named; every other reason is one neutral sentence, on page and PDF as
    in the chat: "so close to 0 or 100" would tell what the hidden mean would have shown."""
    report = withheld(RESULTS[SIXTOWN].report, 1, reason)
    page = page_for(Published(report, 0, own), round=1)
    named = "too_few" if reason is Reason.TOO_FEW else "protected"
    assert said(reason) == named
    key = f"report_withheld_{named}" + ("_own" if own and reason is Reason.TOO_FEW else "")
    sentence = format_plain(CHAT[key], min_group=3)
    assert "0 oder 100" not in sentence and "früheren" not in sentence
    assert page.fields[1].withheld == format_plain(WEB["field_withheld"], why=sentence)
    assert page.fields[1].mean is None and page.fields[1].perspectives == ()
    html = html_of(page)
    assert sentence in cards(html)[page.fields[1].field_id]
    assert T("chart_withheld") in html and T("legend_withheld") in html
    # In a later release the page says once why such a figure may stay withheld (as the chat).
    again = replace(report, release=2)
    later = page_for(Published(again, 0, own), round=1)
    held_back = format_plain(CHAT["report_held_back"])
    assert again.held_back or reason is Reason.TOO_FEW
    assert later.held_back_note == (held_back if again.held_back else None)
    assert page.held_back_note is None
    if later.held_back_note:
        assert html_of(later).count(held_back) == 1


@pytest.mark.parametrize("reason", list(Reason))
def test_every_perspective_note_is_the_chats_sentence(reason: Reason) -> None:
    others = [2, 1] if reason is Reason.COMPLEMENT else [None]
    for rest in others:
        note = PerspectiveNote(
            perspective_id="politics", label="Politik", reason=reason, others=rest
        )
        report = replace(RESULTS[SIXTOWN].report, perspective_notes=(note,))
        counted = reason in (Reason.TOO_FEW, Reason.SMALL, Reason.COMPLEMENT)
        key = f"report_note_{reason.value if counted else 'protected'}"
        expected = format_plain(CHAT[key], label="Politik", min_group=3, others=rest)
        assert page_for(report).perspective_notes == (expected,)


def test_a_field_too_few_answered_and_an_extreme_field_are_withheld() -> None:
    first, second = QUESTIONNAIRE.fields[0].id, QUESTIONNAIRE.fields[1].id
    people = [completed_check(s, "administration", i) for i, s in enumerate((41, 42, 43), 1)]
    blank = {q.id for q in QUESTIONNAIRE.field_questions(first)}
    none = {q.id for q in QUESTIONNAIRE.field_questions(second)}

    def edited(check: Check, skip: bool) -> Check:
        answers = {
            q: None if (skip and q in blank) else "none" if q in none else a
            for q, a in check.answers.items()
        }
        return Check(check.perspective, answers, check.check_id)

    group = [edited(people[0], True), *(edited(p, False) for p in people[1:])]
    report = published([group]).report
    assert report.fields[0].withheld_reason is Reason.TOO_FEW
    assert report.fields[1].withheld_reason is Reason.EXTREME  # "Ø 0,0" would pin everyone
    page = page_for(report)
    assert page.fields[0].withheld == format_plain(
        WEB["field_withheld"], why=format_plain(CHAT["report_withheld_too_few"], min_group=3)
    )
    assert page.fields[1].withheld == format_plain(
        WEB["field_withheld"], why=format_plain(CHAT["report_withheld_protected"], min_group=3)
    )
    assert all(f.mean is not None for f in page.fields[2:])


def test_group_of_two_and_a_viewer_who_took_part_show_no_figure() -> None:
    page = page_for(RESULTS[TINY], round=1)
    assert not page.shown and page.release == 0 and page.date_text is None
    assert page.hidden_reason == format_plain(CHAT["report_hidden"], min_group=3, missing=1)
    html = html_of(page)
    assert not re.search(r"\d+,\d", html) and 'data-figure="mean"' not in html
    assert "<svg" not in html and T("perspective_counts_withheld") in html
    # A coordinator who took part in a group of three: their own check does not count for them.
    own = published([FIVE[:3]], viewer=FIVE[0].check_id)
    assert own.own and own.report.missing == 1
    page = page_for(own)
    assert page.hidden_reason == format_plain(CHAT["report_hidden_own"], min_group=3, missing=1)
    assert not re.search(r"\d+,\d", html_of(page))


def test_the_web_texts_hold_no_copy_of_the_chat_sentences() -> None:
    chat = [v for k, v in CHAT.items() if k.startswith("report_") and isinstance(v, str)]
    pieces = {p.strip() for v in chat for p in re.split(r"\{[^}]*\}", v) if len(p.strip()) > 25}
    web = [v for v in WEB.values() if isinstance(v, str)]
    copies = sorted(p for p in pieces if any(p in v for v in web))
    assert copies == []


def test_a_chat_sentence_with_markup_is_refused() -> None:
    texts = WebTexts(WEB, {"report_bold": "<b>fett</b>", "other": "nicht gelesen"})
    with pytest.raises(ValueError, match="HTML"):
        texts.chat("report_bold")
    with pytest.raises(KeyError):
        texts.chat("other")


def test_subtheme_profile_and_unclear_are_the_published_ones() -> None:
    report = RESULTS[SIXTOWN].report
    page = page_for(report, round=1)
    (profile,) = page.profiles
    access = report.field("access")
    assert (profile.field_id, profile.title, profile.number) == ("access", access.title, 3)
    assert [(s.title, s.mean, s.band_label) for s in profile.subthemes] == [
        (s.title, s.mean, s.band.label if s.band else None) for s in access.subthemes
    ]
    assert profile.shown
    withheld_kinds = {s.withheld_reason for s in access.subthemes} - {None}
    expected_notes = []
    if Reason.TOO_FEW in withheld_kinds:
        expected_notes.append(format_plain(CHAT["report_subthemes_too_few"], min_group=6))
    if withheld_kinds - {Reason.TOO_FEW}:
        expected_notes.append(CHAT["report_subthemes_protected"])
    assert list(profile.notes) == expected_notes
    assert [u.text for u in page.unclear] == [u.text for u in report.unclear]
    assert page.unclear_note == format_plain(CHAT["report_unclear_rule"], min_group=3)
    html = html_of(page)
    shown = [s for s in access.subthemes if s.mean is not None]
    assert html.count('data-figure="subtheme-mean"') == len(shown)
    for s in shown:
        assert f'<b data-figure="subtheme-mean">{T.number(s.mean)}</b>' in html
    assert T("legend_subthemes") in html and T("legend_unclear") in html
    assert html.count("data-unclear") == len(report.unclear)


def test_small_groups_have_no_subtheme_figure_and_no_list() -> None:
    five = page_for(RESULTS[MUSTERSTADT])
    (profile,) = five.profiles
    assert not profile.shown and all(s.mean is None for s in profile.subthemes)
    assert profile.notes == (format_plain(CHAT["report_subthemes_too_few"], min_group=6),)
    assert five.unclear == ()
    assert five.unclear_note == format_plain(CHAT["report_unclear_hidden"], min_group=6)
    html = html_of(five)
    assert 'data-figure="subtheme-mean"' not in html and T("legend_subthemes") not in html
    two = page_for(RESULTS[TINY], round=1)
    assert two.profiles == () and two.unclear == () and two.unclear_note is None
