"""Render times of the workshop page and its PDF for a large group (`python -m bench.web`).

The group's report is what the chat report shows too: a release of `flows.disclosure` over
synthetic completed checks (`next_release`, with the previous round's release for the changes,
then `for_viewers`); its time is printed on its own. What is timed as page and PDF is the web
transport's own work: page model, charts and HTML for the page, the same plus WeasyPrint for
the PDF. The first render of each
is reported separately, because it includes loading matplotlib's and WeasyPrint's fonts once.
The timed renders are cold (the chart cache emptied before each, as for a new release); a
visit of a release whose charts are already drawn is printed as "cached".
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.app.ports import ViewerReport
from bot.store.content import DEFAULT_QUESTIONNAIRE
from bot.web.charts import clear_chart_cache
from bot.web.documents import workshop_page
from bot.web.render import Renderer
from bot.web.source import WorkshopData
from flows.disclosure import Check, for_viewers, next_release
from flows.loading import parse_questionnaire

PAGE_TARGET = 1.0
PDF_TARGET = 3.0
K = 3  # GROUP_MIN_SIZE's default


@dataclass(frozen=True)
class WebTimes:
    participants: int
    release: float  # flows.disclosure: the release the page shows (not the web's work)
    page_first: float
    page: float  # median of the repeated renders
    pdf_first: float
    pdf: float
    pdf_bytes: int
    page_cached: float  # the same release again: its charts are drawn already
    pdf_cached: float

    @property
    def ok(self) -> bool:
        return self.page < PAGE_TARGET and self.pdf < PDF_TARGET


def measure_web(participants: int = 1_000, repeats: int = 3, seed: int = 1) -> WebTimes:
    q = parse_questionnaire(DEFAULT_QUESTIONNAIRE.read_text(encoding="utf-8"), "bench")
    rng = random.Random(seed)
    options = [o.id for o in q.scale.options]
    perspectives = [p.id for p in q.perspectives]
    checks = [
        Check(
            perspectives[i % len(perspectives)],
            {x.id: None if rng.random() < 0.05 else rng.choice(options) for x in q.questions},
            i + 1,
        )
        for i in range(participants)
    ]
    now = datetime.now(UTC)
    earlier = next_release(q, [], checks[: participants // 2], K, now - timedelta(days=90))
    assert earlier is not None
    began = time.perf_counter()
    release = next_release(q, [], checks, K, now, previous_round=earlier.report)
    assert release is not None
    report = for_viewers(q, [release], ())
    disclosure = time.perf_counter() - began
    renderer = Renderer()
    data = WorkshopData("Stadt Benchhausen", 2, q, ViewerReport(report))

    def page() -> str:
        return renderer.workshop_html(
            workshop_page(data, renderer), css_href="../static/workshop.css", pdf_href="x.pdf"
        )

    def pdf() -> bytes:
        return renderer.workshop_pdf(workshop_page(data, renderer))

    page_times, pdf_times, size = [], [], 0
    for _ in range(repeats + 1):
        clear_chart_cache()
        began = time.perf_counter()
        page()
        page_times.append(time.perf_counter() - began)
    began = time.perf_counter()
    page()
    page_cached = time.perf_counter() - began
    for _ in range(repeats + 1):
        clear_chart_cache()
        renderer.forget_documents()
        began = time.perf_counter()
        size = len(pdf())
        pdf_times.append(time.perf_counter() - began)
    began = time.perf_counter()
    pdf()
    pdf_cached = time.perf_counter() - began
    return WebTimes(
        participants=participants,
        release=disclosure,
        page_first=page_times[0],
        page=statistics.median(page_times[1:]),
        pdf_first=pdf_times[0],
        pdf=statistics.median(pdf_times[1:]),
        pdf_bytes=size,
        page_cached=page_cached,
        pdf_cached=pdf_cached,
    )


def describe(times: WebTimes) -> str:
    return (
        f"{times.participants:,} completed checks (disclosure release {times.release:.3f} s): "
        f"page {times.page:.3f} s (first {times.page_first:.3f} s, target < {PAGE_TARGET:g} s), "
        f"PDF {times.pdf:.3f} s (first {times.pdf_first:.3f} s, target < {PDF_TARGET:g} s), "
        f"{times.pdf_bytes / 1024:.0f} KiB; the same release again (charts and PDF kept): "
        f"page {times.page_cached:.3f} s, PDF {times.pdf_cached:.3f} s"
    )


if __name__ == "__main__":
    measured = measure_web(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000)
    print(describe(measured))
    print("PASS" if measured.ok else "MISS")
