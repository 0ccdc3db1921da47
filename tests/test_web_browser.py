"""The workshop page in a real headless Chromium, served by a running `WorkshopServer`.

The figures are the `PublishedReport`s `flows.disclosure` makes for synthetic completed checks
of the real questionnaire (tests/web_data.py) — the object the chat report renders. The page
must show exactly those, withhold what they withhold (with the chat's sentences), load nothing
from outside 127.0.0.1, log no console error, and fit a projector (1920×1080) and a phone
(390×844). Screenshots go to artifacts/ for a human look.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from bot.web.server import WorkshopServer
from bot.web.texts import load_web_texts
from bot.web.tokens import LinkSigner, derive_secret
from tests.test_web_links import init_data
from tests.web_data import BOT_TOKEN, COORDINATOR, MUSTERSTADT, SIXTOWN, TINY, fake_source

pytestmark = pytest.mark.asyncio(loop_scope="module")

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
T = load_web_texts()
DECIMAL = re.compile(r"\d+,\d")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def served() -> AsyncIterator[tuple[WorkshopServer, dict]]:
    source, results = fake_source()
    server = WorkshopServer(
        source, LinkSigner(derive_secret(BOT_TOKEN)), bot_token=BOT_TOKEN, port=0
    )
    await server.start()
    yield server, results
    await server.stop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        await chromium.close()


class Visit:
    """One browser page that records console errors and every request it makes."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    async def route(self, route) -> None:
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).hostname != "127.0.0.1":
            self.outside.append(url)
            await route.abort()
        else:
            await route.continue_()


async def visit(browser: Browser, url: str, width: int, height: int) -> Visit:
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    seen = Visit(page)
    await context.route("**/*", seen.route)
    # The workshop page has no script: everything it requests is named in its HTML and CSS,
    # so by the load event every request (and any that would leave 127.0.0.1) was made.
    # ("networkidle" would add half a second of waiting to each visit.)
    response = await page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, url
    return seen


async def texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(selector).all_inner_texts()]


def base(server: WorkshopServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def test_page_shows_the_published_figures(served, browser) -> None:
    server, results = served
    result = results[MUSTERSTADT]
    report = result.report
    url = base(server) + server.link_path(MUSTERSTADT, 2, 0)
    for width, height in ((1920, 1080), (390, 844)):
        seen = await visit(browser, url, width, height)
        page = seen.page
        assert await page.locator("[data-figure=completed]").inner_text() == "5"
        assert await page.locator("[data-figure=round]").inner_text() == "2"
        assert await page.locator("[data-figure=release]").inner_text() == str(report.release)
        assert report.published_at is not None
        assert await page.locator("[data-figure=date]").inner_text() == T.date(
            report.published_at.date()
        )
        body = await page.inner_text("body")
        assert T("dialogue_note") in body
        assert f"Seitdem sind {result.pending} Selbstchecks hinzugekommen" in body
        for field in report.fields:
            card = page.locator(f"[data-field={field.field_id}]")
            assert field.mean is not None and field.band is not None
            assert await card.locator("[data-figure=mean]").inner_text() == T.number(field.mean)
            assert await card.locator("[data-figure=band]").inner_text() == field.band.label
            assert await card.locator("[data-figure=n]").inner_text() == str(field.n)
            assert field.change is not None
            assert await card.locator("[data-figure=change]").inner_text() == T.signed(field.change)
            counts = card.locator("[data-figure=band-counts]")
            if field.band_counts is None:
                assert await counts.count() == 0
            else:
                assert await counts.inner_text() == " · ".join(
                    f"{b.label}: {b.count}" for b in field.band_counts
                )
            # exact extremes of a small set are never shown
            assert "Spanne" not in await card.inner_text()
        # The chart plots the same means (its labels are real SVG text).
        chart_text = await page.locator("svg.chart").first.text_content()
        visible_chart = page.locator("svg.chart:visible")
        assert await visible_chart.count() == 1
        for field in report.fields:
            assert field.mean is not None and T.number(field.mean) in chart_text
        # Verwaltung (3) is hidden by the complementary rule, Politik (2) as too small; the
        # counts name Verwaltung only, the rest together.
        assert await page.locator("[data-perspective]").count() == 0
        note = await page.locator("[data-note=perspectives]").inner_text()
        assert "Verwaltung wird nicht einzeln ausgewiesen" in note
        assert "übrigen 2 Personen" in note and "Politik" in note
        assert await texts(page, "[data-perspective-count]") == [
            *(f"{c.label} {c.n}" for c in report.perspective_counts),
            f"weitere Perspektiven {report.unnamed}",
        ]
        # Five checks are too few for any statement's figure: said once, as in the chat.
        assert await page.locator("[data-statement]").count() == 0
        assert (
            "Einzelne Aussagen werden erst ab 6 Antworten"
            in await page.locator("[data-note=statements]").inner_text()
        )
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"page scrolls sideways at {width}px"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=ARTIFACTS / f"workshop-{width}x{height}.png", full_page=True)
        await page.screenshot(path=ARTIFACTS / f"workshop-{width}x{height}-first-screen.png")
        assert seen.errors == []
        assert seen.outside == [] and len(seen.requests) >= 2  # page and its stylesheet
        await page.context.close()


async def test_perspectives_and_statements_where_published(served, browser) -> None:
    server, results = served
    report = results[SIXTOWN].report
    seen = await visit(browser, base(server) + server.link_path(SIXTOWN, 1, 0), 1920, 1080)
    side_by_side = 0
    for field in report.fields:
        card = seen.page.locator(f"[data-field={field.field_id}]")
        shown = list(
            zip(
                await texts(card, "[data-perspective]"),
                await texts(card, "[data-figure=perspective-mean]"),
                strict=True,
            )
        )
        expected = [
            (f"{p.label} {T.number(p.mean)}", T.number(p.mean))
            for p in field.by_perspective
            if p.mean is not None
        ]
        assert shown == expected
        side_by_side += len(shown) == 2
    assert side_by_side >= 3
    for kind, stats in (("discussion", report.divergent), ("priority", report.priorities)):
        assert stats
        items = seen.page.locator(f"[data-statement={kind}]")
        assert await texts(seen.page, f"[data-statement={kind}] .statement") == [
            s.text for s in stats
        ]
        assert await texts(items, "[data-figure=statement-mean]") == [
            T.number(s.mean) for s in stats
        ]
    assert seen.errors == [] and seen.outside == []
    await seen.page.screenshot(
        path=ARTIFACTS / "workshop-perspectives-1920x1080.png", full_page=True
    )
    await seen.page.context.close()


async def test_group_of_two_shows_no_figure(served, browser) -> None:
    server, _ = served
    seen = await visit(browser, base(server) + server.link_path(TINY, 1, 0), 390, 844)
    body = await seen.page.inner_text("body")
    assert "Zahlen erscheinen erst ab 3 abgeschlossenen Selbstchecks – es fehlt noch einer" in body
    assert await seen.page.locator("[data-figure=mean], svg, [data-perspective]").count() == 0
    assert not DECIMAL.search(body)
    assert seen.errors == [] and seen.outside == []
    await seen.page.screenshot(path=ARTIFACTS / "workshop-group-of-2-390x844.png", full_page=True)
    await seen.page.context.close()


async def test_mini_app_inside_telegram_reaches_the_page(served, browser) -> None:
    """Telegram opens the Mini App with initData in the fragment; the page's script posts it."""
    server, results = served
    url = f"{base(server)}/app/{MUSTERSTADT}/2#tgWebAppData=" + _quote(init_data(COORDINATOR))
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    seen = Visit(page)
    await context.route("**/*", seen.route)
    await page.goto(url)
    await page.wait_for_url(re.compile(r"/w/[^/]+$"))
    await page.wait_for_load_state("networkidle")
    first = results[MUSTERSTADT].report.fields[0]
    mean = first.mean
    assert mean is not None
    card = page.locator(f"[data-field={first.field_id}]")
    assert await card.locator("[data-figure=mean]").inner_text() == T.number(mean)
    assert seen.errors == [] and seen.outside == []
    await context.close()


async def test_mini_app_address_outside_telegram_explains_itself(served, browser) -> None:
    server, _ = served
    seen = await visit(browser, f"{base(server)}/app/{MUSTERSTADT}/2", 390, 844)
    assert await seen.page.locator("#outside").is_visible()
    assert "nur innerhalb von Telegram" in await seen.page.inner_text("body")
    assert seen.errors == [] and seen.outside == []
    await seen.page.context.close()


async def test_refusal_is_a_german_page_in_the_browser(served, browser) -> None:
    server, _ = served
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    response = await page.goto(base(server) + server.link_path(MUSTERSTADT, 2, 0)[:-3] + "abc")
    assert response is not None and response.status == 404
    assert "Dieser Link ist ungültig" in await page.inner_text("body")
    await page.screenshot(path=ARTIFACTS / "workshop-refused-390x844.png", full_page=True)
    await context.close()


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


async def test_subtheme_profile_and_what_to_clarify_as_published(served, browser) -> None:
    server, results = served
    report = results[SIXTOWN].report
    access = report.field("access")
    assert any(s.mean is not None for s in access.subthemes) and report.unclear
    url = base(server) + server.link_path(SIXTOWN, 1, 0)
    for width, height in ((1920, 1080), (390, 844)):
        seen = await visit(browser, url, width, height)
        page = seen.page
        profile = page.locator("[data-profile=access]")
        assert await profile.locator("h2").inner_text() == "Fairer Zugang und Teilhabe nach Themen"
        for subtheme in access.subthemes:
            item = profile.locator(f'[data-subtheme="{subtheme.title}"]')
            if subtheme.mean is None:
                assert await item.locator("[data-figure=subtheme-mean]").count() == 0
                assert await item.locator("[data-figure=subtheme-withheld]").count() == 1
                continue
            assert subtheme.band is not None
            mean = await item.locator("[data-figure=subtheme-mean]").inner_text()
            assert mean == T.number(subtheme.mean)
            band = await item.locator("[data-figure=subtheme-band]").inner_text()
            assert band == subtheme.band.label
        # The profile's chart plots the same means; on a phone the list stands in for it.
        charts = profile.locator("svg.chart")
        assert await charts.count() == 1
        assert await charts.is_visible() == (width > 760)
        chart_text = await charts.text_content() or ""
        for subtheme in access.subthemes:
            if subtheme.mean is not None:
                assert T.number(subtheme.mean) in chart_text
        if any(s.mean is None for s in access.subthemes):
            assert await profile.locator("[data-note=subthemes]").count() >= 1
        # "Zu klären": the published statements in the published order, and no count.
        assert await texts(page, "[data-unclear] .statement") == [u.text for u in report.unclear]
        rule = await page.locator("[data-note=unclear]").inner_text()
        assert "mindestens 3 Personen übersprungen" in rule
        for item in await texts(page, "[data-unclear]"):
            assert not re.search(r"\d+ ?(Personen|mal|×)", item)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"page scrolls sideways at {width}px"
        await page.screenshot(
            path=ARTIFACTS / f"workshop-profile-{width}x{height}.png", full_page=True
        )
        assert seen.errors == [] and seen.outside == []
        await page.context.close()


async def test_small_groups_show_no_subtheme_figure_and_no_list(served, browser) -> None:
    server, results = served
    five = results[MUSTERSTADT].report
    assert all(s.mean is None for s in five.field("access").subthemes) and not five.unclear
    seen = await visit(browser, base(server) + server.link_path(MUSTERSTADT, 2, 0), 1920, 1080)
    profile = seen.page.locator("[data-profile=access]")
    assert await profile.locator("[data-figure=subtheme-mean], svg").count() == 0
    note = await profile.locator("[data-note=subthemes]").inner_text()
    assert "erst ausgewertet, wenn mindestens 6 Selbstchecks dort Antworten enthalten" in note
    assert await seen.page.locator("[data-unclear]").count() == 0
    assert (
        "erst ab 6 abgeschlossenen Selbstchecks"
        in await seen.page.locator("[data-note=unclear]").inner_text()
    )
    await seen.page.context.close()
    seen = await visit(browser, base(server) + server.link_path(TINY, 1, 0), 390, 844)
    assert await seen.page.locator("[data-profile], [data-unclear]").count() == 0
    await seen.page.context.close()
