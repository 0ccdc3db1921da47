"""The PDFs, read back with poppler: the workshop PDF over HTTP, and a participant's own PDF.

pdftotext must find every field and the published report's figures (flows.disclosure),
pdftoppm must render pages that are not blank, and a participant's PDF must hold their answers
and nobody else's.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from bot.web.documents import own_result_pdf, workshop_page, workshop_pdf
from bot.web.model import WorkshopPage
from bot.web.render import Renderer
from bot.web.server import WorkshopServer
from bot.web.texts import load_web_texts
from bot.web.tokens import LinkSigner, derive_secret
from flows.scoring import assess_all
from tests.web_data import (
    BOT_TOKEN,
    FIVE,
    MUSTERSTADT,
    QUESTIONNAIRE,
    RELEASED,
    SIXTOWN,
    TINY,
    fake_source,
)

T = load_web_texts()
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def pdf_text(pdf: Path) -> str:
    """The PDF's text with line breaks and hyphenation undone, as one searchable line."""
    raw = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # A line may end after a compound's hyphen ("Social-Media-" / "Kanälen"): keep it joined.
    return " ".join(re.sub(r"-\n+(?=\w)", "-", raw).split())


def assert_pages_not_blank(pdf: Path, tmp_path: Path) -> int:
    prefix = tmp_path / pdf.stem
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(prefix)], check=True)
    pages = sorted(tmp_path.glob(f"{pdf.stem}-*.pgm"))
    assert pages
    for page in pages:
        with Image.open(page) as image:
            histogram = image.histogram()
            dark = sum(histogram[:200])  # pixels clearly darker than paper
            assert dark > 0.01 * image.width * image.height, f"{page.name} looks blank"
    return len(pages)


@pytest.fixture
async def served() -> AsyncIterator[tuple[WorkshopServer, dict, aiohttp.ClientSession]]:
    source, results = fake_source()
    server = WorkshopServer(
        source, LinkSigner(derive_secret(BOT_TOKEN)), bot_token=BOT_TOKEN, port=0
    )
    await server.start()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as client:
        yield server, results, client
    await server.stop()


async def download(client: aiohttp.ClientSession, path: str, target: Path) -> Path:
    async with client.get(path + ".pdf") as response:
        assert response.status == 200
        assert response.content_type == "application/pdf"
        target.write_bytes(await response.read())
    return target


async def test_workshop_pdf_has_every_field_and_figure(served, tmp_path: Path) -> None:
    server, results, client = served
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = await download(
        client, server.link_path(MUSTERSTADT, 2, 0), ARTIFACTS / "workshop-musterstadt.pdf"
    )
    text = pdf_text(pdf)
    report = results[MUSTERSTADT].report
    assert "Stadt Musterstadt · Runde 2" in text  # the footer
    assert re.search(r"Seite 1 von \d", text)
    assert T("dialogue_note") in text
    for field in report.fields:
        assert field.title in text
        assert field.mean is not None and field.change is not None and field.band is not None
        # title, mean and band label as the field's card shows them, in that order
        card = re.escape(field.title) + r" " + re.escape(T.number(field.mean))
        assert re.search(card + r" " + re.escape(field.band.label), text), field.title
        assert T.signed(field.change) in text
        if field.band_counts is not None:
            items = " · ".join(f"{b.label}: {b.count}" for b in field.band_counts)
            assert items in text
    assert any(f.band_counts is not None for f in report.fields)
    assert not re.search(r"(Verwaltung|Politik) \d+,\d", text)  # no perspective figure
    assert "Verwaltung 3" in text and f"weitere Perspektiven {report.unnamed}" in text
    assert "Verwaltung wird nicht einzeln ausgewiesen, weil sonst Rückschlüsse auf die" in text
    assert "übrigen 2 Personen möglich wären" in text
    assert "Einzelne Aussagen werden erst ab 6 Antworten" in text
    assert assert_pages_not_blank(pdf, tmp_path) >= 2
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True)
    assert "DejaVu" in fonts.stdout  # embedded, with every German character:
    assert all(c in text for c in "äöüßÖ„“–")


async def test_pdf_with_perspectives_and_statements(served, tmp_path: Path) -> None:
    server, results, client = served
    pdf = await download(client, server.link_path(SIXTOWN, 1, 0), tmp_path / "six.pdf")
    text = pdf_text(pdf)
    report = results[SIXTOWN].report
    shown = 0
    for field in report.fields:
        for perspective in field.by_perspective:
            if perspective.mean is not None:
                shown += 1
                assert f"{perspective.label} {T.number(perspective.mean)}" in text
    assert shown >= 6
    for stat in report.divergent + report.priorities:
        assert " ".join(stat.suggestion.split()) in text
        assert T.number(stat.mean) in text
    assert report.divergent and report.priorities


async def test_pdf_of_a_group_of_two_shows_no_figure(served, tmp_path: Path) -> None:
    server, _, client = served
    pdf = await download(client, server.link_path(TINY, 1, 0), tmp_path / "two.pdf")
    text = pdf_text(pdf)
    assert "Zahlen erscheinen erst ab 3 abgeschlossenen Selbstchecks – es fehlt noch einer" in text
    assert not re.search(r"\d+,\d", text)
    assert "Handlungsfelder auf einen Blick" not in text
    assert_pages_not_blank(pdf, tmp_path)


async def test_document_for_telegram_equals_the_served_pdf(served, tmp_path: Path) -> None:
    """`/workshop pdf` sends `workshop_pdf(data)`: the same text as the page's "Als PDF"."""
    server, _, client = served
    data = await server.source.page_data(MUSTERSTADT, 2)
    assert data is not None
    sent = tmp_path / "sent.pdf"
    sent.write_bytes(await workshop_pdf(data, Renderer()))  # rendered anew, not the kept one
    served_pdf = await download(client, server.link_path(MUSTERSTADT, 2, 0), tmp_path / "w.pdf")
    assert pdf_text(sent) == pdf_text(served_pdf)


async def test_weasyprint_reads_every_style_rule(served, caplog: pytest.LogCaptureFixture) -> None:
    """An ignored CSS declaration means the PDF looks other than the stylesheet says.

    (WeasyPrint also notes that it skips the phone layout's `screen and (max-width: …)` block:
    a screen-only rule, skipped in print by design.)
    """
    server, _, _ = served
    data = await server.source.page_data(SIXTOWN, 1)
    assert data is not None
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        assert (await workshop_pdf(data, Renderer())).startswith(b"%PDF")  # a real layout
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")]
    assert [m for m in messages if "media type" not in m] == []


async def test_participant_pdf_holds_only_their_own_answers(tmp_path: Path) -> None:
    mine, theirs = FIVE[0], FIVE[1]
    results = assess_all(QUESTIONNAIRE, mine.answers)
    pdf = tmp_path / "mine.pdf"
    pdf.write_bytes(await own_result_pdf(results, QUESTIONNAIRE, released=RELEASED))
    (ARTIFACTS / "own-result.pdf").write_bytes(pdf.read_bytes())
    text = pdf_text(pdf)
    assert "Mein Ergebnis" in text and "Seite 1 von" in text
    for result in results:
        assert result.title in text
        if result.score is not None:
            assert T("own_score", score=result.score) in text
            assert result.band is not None and result.band.label in text
        for question_id in result.skipped_question_ids:
            assert " ".join(QUESTIONNAIRE.question(question_id).text.split()) in text
    assert any(r.skipped_question_ids for r in results)
    their_results = assess_all(QUESTIONNAIRE, theirs.answers)
    # Another person's scores appear nowhere (unless one of mine happens to be the same value).
    own_scores = {r.score for r in results}
    only_theirs = {r.score for r in their_results if r.score is not None} - own_scores
    assert only_theirs
    for score in only_theirs:
        assert T("own_score", score=score) not in text
    only_theirs_skipped = {q for r in their_results for q in r.skipped_question_ids} - {
        q for r in results for q in r.skipped_question_ids
    }
    assert only_theirs_skipped
    for question_id in only_theirs_skipped:
        assert " ".join(QUESTIONNAIRE.question(question_id).text.split()) not in text
    assert "Stadt Musterstadt" not in text
    assert_pages_not_blank(pdf, tmp_path)


async def test_pdf_shows_the_subtheme_profile_and_what_to_clarify(served, tmp_path: Path) -> None:
    server, results, client = served
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = await download(client, server.link_path(SIXTOWN, 1, 0), ARTIFACTS / "workshop-six.pdf")
    text = pdf_text(pdf)
    report = results[SIXTOWN].report
    assert "Fairer Zugang und Teilhabe nach Themen" in text
    shown = 0
    for subtheme in report.field("access").subthemes:
        if subtheme.mean is None:
            continue
        shown += 1
        assert subtheme.band is not None
        # the list under the chart: title, mean, band
        line = f"{subtheme.title} {T.number(subtheme.mean)} {subtheme.band.label}"
        assert line in text, line
    assert shown >= 5
    clarify = text.split("Zu klären", 1)[1]
    position = 0
    for item in report.unclear:
        found = clarify.find(" ".join(item.text.split()), position)
        assert found >= position, item.text
        position = found
    assert "mindestens 3 Personen übersprungen" in clarify
    assert assert_pages_not_blank(pdf, tmp_path) >= 3


async def test_pdf_of_five_shows_no_subtheme_figure(served, tmp_path: Path) -> None:
    server, results, client = served
    pdf = await download(client, server.link_path(MUSTERSTADT, 2, 0), tmp_path / "five.pdf")
    text = pdf_text(pdf)
    profile = text.split("Fairer Zugang und Teilhabe nach Themen", 1)[1].split("Zu klären", 1)[0]
    assert "erst ausgewertet, wenn mindestens 6 Selbstchecks dort Antworten enthalten" in profile
    for subtheme in results[MUSTERSTADT].report.field("access").subthemes:
        assert subtheme.mean is None
    assert not re.search(r"\d+,\d", profile)
    assert "Welche Aussagen oft übersprungen wurden, zeigt der Bericht erst ab 6" in text


class CountingRenderer(Renderer):
    """A real renderer that counts WeasyPrint layouts of workshop PDFs."""

    def __init__(self) -> None:
        super().__init__()
        self.layouts = 0

    def _workshop_pdf(self, page: WorkshopPage) -> bytes:
        self.layouts += 1
        return super()._workshop_pdf(page)


async def test_a_release_is_laid_out_once_however_many_download_it(tmp_path: Path) -> None:
    """At a workshop many people open "Als PDF" at once: the same release is laid out once,
    every download gets the same document, and another group's PDF is laid out anew."""
    renderer = CountingRenderer()
    source, _ = fake_source()
    signer = LinkSigner(derive_secret(BOT_TOKEN))
    server = WorkshopServer(source, signer, bot_token=BOT_TOKEN, port=0, renderer=renderer)
    await server.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{server.port}") as client:
            path = server.link_path(SIXTOWN, 1, 0)
            downloads = [await download(client, path, tmp_path / f"six-{n}.pdf") for n in range(4)]
            assert renderer.layouts == 1
            assert len({pdf.read_bytes() for pdf in downloads}) == 1
            other = await download(
                client, server.link_path(MUSTERSTADT, 2, 0), tmp_path / "muster.pdf"
            )
            assert renderer.layouts == 2
            assert "Stadt Musterstadt · Runde 2" in pdf_text(other)
            assert "Stadt Musterstadt" not in pdf_text(downloads[0])
    finally:
        await server.stop()


async def test_only_the_last_few_documents_are_kept() -> None:
    """Memory stays bounded however many releases are viewed, and what the page says besides
    the release (here: the group's name, renamed) is part of the key."""
    renderer = CountingRenderer()
    renderer.DOCUMENTS_KEPT = 1
    source, _ = fake_source()
    data = await source.page_data(TINY, 1)
    assert data is not None
    page = workshop_page(data, renderer)
    renamed = dataclasses.replace(data, group_name=data.group_name + " (neu)")
    later = workshop_page(renamed, renderer)
    assert renderer.workshop_pdf(page) == renderer.workshop_pdf(page)
    assert renderer.layouts == 1
    renderer.workshop_pdf(later)  # another page: laid out, and the older one dropped
    assert renderer.layouts == 2
    renderer.workshop_pdf(page)
    assert renderer.layouts == 3
