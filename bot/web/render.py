"""One Jinja2 template set, rendered to HTML for the browser and, through WeasyPrint, to PDF.

The page and the PDF come from the same template and the same page model: what the workshop
sees on the projector is what people take home. WeasyPrint is used because it turns HTML and
CSS (including @page rules for A4, page numbers and footers) into PDF with real text and the
SVG charts as vectors, so no second layout exists for print. Only local files are ever loaded:
the URL fetcher refuses anything that is not the bundled stylesheet.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.web.charts import NARROW, PRINT, PRINT_COMPACT, WIDE, ChartRow, bar_chart
from bot.web.model import OwnResultPage, WorkshopPage
from bot.web.texts import WebTexts, load_web_texts

WEB_DIR = Path(__file__).resolve().parent
STYLESHEET = WEB_DIR / "static" / "workshop.css"


def _css_string(value: str) -> str:
    """Escape a value for a double-quoted CSS string (the PDF footer)."""
    return "".join(c if c.isalnum() or c in " .,:;–-·()„“" else f"\\{ord(c):06x}" for c in value)


def _as_image(svg: Markup) -> Markup:
    """The chart as an <img> for WeasyPrint, which draws it (text included) as vectors.

    Inline SVG would make WeasyPrint read matplotlib's SVG style attributes as HTML CSS and
    warn about every one; as an image, its SVG renderer reads them as SVG.
    """
    encoded = base64.b64encode(str(svg).encode()).decode()
    return Markup('<img class="chart" alt="" src="data:image/svg+xml;base64,{}">').format(encoded)


class Renderer:
    """Turns page models into HTML and PDF; safe to share, holds no per-request state.

    The last few workshop PDFs are kept (`DOCUMENTS_KEPT`), keyed by their page model: a
    release never changes, and at a workshop many people download the same PDF at once (the
    page's "Als PDF", `/workshop pdf`), which WeasyPrint would otherwise lay out anew for each,
    half a second or more of CPU every time. A changed page (new release, other viewer, more
    pending checks) is a different key, so nothing stale is ever served.
    """

    DOCUMENTS_KEPT = 8

    def __init__(self, texts: WebTexts | None = None) -> None:
        self.t = texts or load_web_texts()
        self._documents: OrderedDict[WorkshopPage, bytes] = OrderedDict()
        self._documents_lock = threading.Lock()  # PDFs are rendered in worker threads
        self._env = Environment(
            loader=FileSystemLoader(WEB_DIR / "templates"),
            autoescape=select_autoescape(["j2", "html"], default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["number"] = self.t.number
        self._env.filters["signed"] = self.t.signed
        self._env.filters["css_string"] = _css_string
        self._env.globals["t"] = self.t

    # -- the workshop page -------------------------------------------------------------------

    def workshop_html(
        self, page: WorkshopPage, *, css_href: str | None, pdf_href: str | None
    ) -> str:
        return self._env.get_template("workshop.html.j2").render(
            page=page,
            charts=self._workshop_charts(page, narrow=True),
            css_href=css_href,
            pdf_href=pdf_href,
            pdf=False,
            footer=None,
        )

    def workshop_pdf(self, page: WorkshopPage) -> bytes:
        with self._documents_lock:
            kept = self._documents.get(page)
            if kept is not None:
                self._documents.move_to_end(page)
                return kept
        pdf = self._workshop_pdf(page)
        with self._documents_lock:
            self._documents[page] = pdf
            while len(self._documents) > self.DOCUMENTS_KEPT:
                self._documents.popitem(last=False)
        return pdf

    def forget_documents(self) -> None:
        """For measurements of a cold render (`bench.web`)."""
        with self._documents_lock:
            self._documents.clear()

    def _workshop_pdf(self, page: WorkshopPage) -> bytes:
        html = self._env.get_template("workshop.html.j2").render(
            page=page,
            charts=self._workshop_charts(page, narrow=False),
            css_href=None,
            pdf_href=None,
            pdf=True,
            footer=self.t("footer", group=page.group_name, round=page.round),
        )
        return self._pdf(html)

    def _workshop_charts(self, page: WorkshopPage, *, narrow: bool) -> dict[str, Markup | None]:
        """The overview chart, and one per shown subtheme profile ("profile-<field id>").

        `narrow`: for the browser, with the overview also in the phone layout.
        """
        if not page.shown:
            return {"wide": None, "narrow": None}
        charts = self._overview_charts(page, narrow=narrow)
        for profile in page.profiles:
            if not profile.shown:
                continue
            rows = [
                ChartRow(
                    s.title,
                    s.mean,
                    self.t.number(s.mean) if s.mean is not None else None,
                    self.t("profile_withheld"),
                )
                for s in profile.subthemes
            ]
            common = {
                "axis_label": self.t("chart_profile_axis"),
                "title": self.t("profile_title", title=profile.title),
                "chart_id": f"profile-{profile.field_id}",
            }
            key = f"profile-{profile.field_id}"
            if narrow:
                # On a phone the list under the chart (every figure with its band) stands in
                # for it: a narrow chart would cost a fifth of a second more for each page.
                charts[key] = bar_chart(rows, page.bands, layout=WIDE, **common)
            else:
                charts[key] = _as_image(bar_chart(rows, page.bands, layout=PRINT_COMPACT, **common))
        return charts

    def _overview_charts(self, page: WorkshopPage, *, narrow: bool) -> dict[str, Markup | None]:
        rows = [
            ChartRow(
                f"{f.number}. {f.title}",
                f.mean,
                self.t.number(f.mean) if f.mean is not None else None,
                self.t("chart_withheld"),
            )
            for f in page.fields
        ]
        common = {
            "axis_label": self.t("chart_axis"),
            "title": self.t("overview_title"),
            "chart_id": "fields",
        }
        if narrow:
            return {
                "wide": bar_chart(rows, page.bands, layout=WIDE, **common),
                "narrow": bar_chart(rows, page.bands, layout=NARROW, **common),
            }
        return {
            "wide": _as_image(bar_chart(rows, page.bands, layout=PRINT, **common)),
            "narrow": None,
        }

    # -- a participant's own result ----------------------------------------------------------

    def own_result_html(self, page: OwnResultPage, *, css_href: str | None) -> str:
        return self._own(page, css_href=css_href, pdf=False)

    def own_result_pdf(self, page: OwnResultPage) -> bytes:
        return self._pdf(self._own(page, css_href=None, pdf=True))

    def _own(self, page: OwnResultPage, *, css_href: str | None, pdf: bool) -> str:
        rows = [
            ChartRow(
                f"{f.number}. {f.title}",
                float(f.score) if f.score is not None else None,
                str(f.score) if f.score is not None else None,
                self.t("chart_own_missing"),
            )
            for f in page.fields
        ]
        chart = bar_chart(
            rows,
            page.bands,
            axis_label=self.t("chart_own_axis"),
            title=self.t("own_title"),
            chart_id="own",
            layout=PRINT if pdf else WIDE,
        )
        return self._env.get_template("own_result.html.j2").render(
            page=page,
            charts={"wide": _as_image(chart) if pdf else chart},
            css_href=css_href,
            pdf=pdf,
            footer=self.t("own_footer", date=page.date_text) if pdf else None,
        )

    # -- small pages -------------------------------------------------------------------------

    def error_html(self, status: int, message: str, hint: str | None, css_href: str) -> str:
        return self._env.get_template("error.html.j2").render(
            status=status, message=message, hint=hint, css_href=css_href, pdf=False, footer=None
        )

    def app_html(self, *, action: str, nonce: str, css_href: str) -> str:
        return self._env.get_template("app.html.j2").render(
            action=action, nonce=nonce, css_href=css_href, pdf=False, footer=None
        )

    # -- PDF ---------------------------------------------------------------------------------

    def _pdf(self, html: str) -> bytes:
        # Imported here: WeasyPrint loads Pango at import, which only PDF rendering needs.
        from weasyprint import CSS, HTML, URLFetcher

        class LocalOnly(URLFetcher):  # type: ignore[misc]
            """Nothing outside the bundled stylesheet may end up in (or leak from) a PDF."""

            def fetch(self, url: str, headers: object = None) -> object:
                if url == STYLESHEET.as_uri() or url.startswith("data:image/svg+xml;base64,"):
                    return super().fetch(url, headers)
                raise ValueError(f"refusing to load {url!r}: the PDF uses only bundled files")

        fetcher = LocalOnly()
        pdf: bytes = HTML(string=html, base_url=str(WEB_DIR), url_fetcher=fetcher).write_pdf(
            stylesheets=[CSS(filename=str(STYLESHEET), url_fetcher=fetcher)]
        )
        return pdf


@cache
def shared_renderer() -> Renderer:
    """The one renderer of the process, so the web server and `/workshop pdf` share the charts
    and documents already made."""
    return Renderer()
