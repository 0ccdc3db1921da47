"""Charts as inline SVG, drawn by matplotlib (Agg, object API: no pyplot state, no display).

One horizontal bar per field on the 0–100 scale, over background zones for the three bands.
The zones differ by pattern and grey level and are labelled, bars carry their number, so the
chart reads the same in black and white and without colour vision. A chart only plots values it
is given; withheld values are labelled as such instead of being drawn.
"""

from __future__ import annotations

import io
import re
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from markupsafe import Markup

from bot.web.model import BandView

# Lighter to darker and three distinct patterns: tells the bands apart without colour. Sparse
# dots ("." rather than ".."): each dot is a Bézier circle, and the dense pattern made the SVG
# 80 KB and doubled the time WeasyPrint takes to draw a chart into the PDF.
_ZONE_STYLES = (("#f4f4f4", ""), ("#e4e4e4", "."), ("#d2d2d2", "//"))
_BAR = "#1d3557"
_LOCK = threading.Lock()  # matplotlib's rcParams are process-global


@dataclass(frozen=True)
class ChartRow:
    label: str
    value: float | None
    value_text: str | None  # the value as the page prints it (German decimals)
    missing_text: str  # shown instead of a bar when the value is withheld


@dataclass(frozen=True)
class Layout:
    """Wide for projector and A4, narrow (labels above the bars) for phones."""

    name: str
    width: float
    height_per_row: float
    font_size: float
    labels_above: bool
    band_wrap: int | None = None  # characters per line of a band's label over its zone


WIDE = Layout("wide", 11.0, 0.42, 11.0, False)
# On a phone a band is about an inch wide: its label breaks between words.
NARROW = Layout("narrow", 4.0, 0.95, 12.0, True, band_wrap=8)
# On A4 the field names take half the width: "gut aufgestellt" is wider than its zone.
PRINT = Layout("print", 7.4, 0.5, 9.5, False, band_wrap=11)
PRINT_COMPACT = Layout("print", 7.4, 0.36, 9.5, False, band_wrap=11)  # nine subthemes


def bar_chart(
    rows: Sequence[ChartRow],
    bands: Sequence[BandView],
    *,
    axis_label: str,
    title: str,
    layout: Layout = WIDE,
    chart_id: str = "chart",
) -> Markup:
    """An SVG element (no XML prologue) ready to be placed into the HTML page.

    Cached: a release never changes, so every visit of its page (a projector reloading, the
    Mini App, the PDF) draws the same charts; matplotlib takes a fifth of a second for each.
    """
    return _chart(tuple(rows), tuple(bands), axis_label, title, layout, chart_id)


def clear_chart_cache() -> None:
    """For measurements of a cold render (`bench.web`)."""
    _chart.cache_clear()


@lru_cache(maxsize=64)
def _chart(
    rows: tuple[ChartRow, ...],
    bands: tuple[BandView, ...],
    axis_label: str,
    title: str,
    layout: Layout,
    chart_id: str,
) -> Markup:
    # Imported on the first chart (two thirds of a second): a bot that serves workshop pages
    # starts without waiting for matplotlib, as does every process that never draws one.
    import matplotlib

    matplotlib.use("Agg")
    with (
        _LOCK,
        matplotlib.rc_context(
            {
                "svg.fonttype": "none",  # real text: searchable, selectable, sharp when zoomed
                "svg.hashsalt": f"{chart_id}-{layout.name}",  # stable, unique ids per inline SVG
                "font.family": "DejaVu Sans",
                "font.size": layout.font_size,
                "hatch.color": "#8a8a8a",
                "hatch.linewidth": 0.8,
            }
        ),
    ):
        svg = _draw(rows, bands, axis_label, layout)
    svg = svg[svg.index("<svg") :]
    # Let CSS size the chart; the viewBox keeps its proportions.
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", svg, count=1)
    svg = svg.replace(
        "<svg", f'<svg class="chart chart-{layout.name}" role="img" aria-label="{_attr(title)}"', 1
    )
    return Markup(svg)


def _draw(
    rows: Sequence[ChartRow], bands: Sequence[BandView], axis_label: str, layout: Layout
) -> str:
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    n = len(rows)
    height = 0.9 + layout.height_per_row * n
    figure = Figure(figsize=(layout.width, height))
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    ys = list(range(n - 1, -1, -1))  # first field at the top
    edges = [b.low for b in bands] + [100]
    for (low, high), band, (grey, hatch) in zip(pairwise(edges), bands, _ZONE_STYLES, strict=False):
        axes.axvspan(low, high, facecolor=grey, linewidth=0)
        if hatch:
            # The pattern on its own, transparent between the marks: where a PDF viewer joins
            # two pattern tiles, the zone's grey shows instead of a white seam.
            axes.axvspan(low, high, fill=False, hatch=hatch, edgecolor="#8a8a8a", linewidth=0)
        axes.text(
            (low + high) / 2,
            1.01,
            textwrap.fill(band.label, layout.band_wrap, break_long_words=False)
            if layout.band_wrap
            else band.label,
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontweight="bold",
            fontsize=layout.font_size * (0.85 if layout.labels_above else 1),
            linespacing=1.0,
        )
    for y, row in zip(ys, rows, strict=True):
        if layout.labels_above:
            label = axes.text(
                0.8,
                y + 0.27,
                textwrap.fill(row.label, 30),
                ha="left",
                va="bottom",
                fontsize=layout.font_size * 0.92,
                linespacing=1.05,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.85},
            )
            label.set_in_layout(False)  # wrapped to the axes' width; must not shrink them
        if row.value is None:
            axes.text(1.5, y, row.missing_text, ha="left", va="center", style="italic")
            continue
        axes.barh(y, row.value, height=0.42 if layout.labels_above else 0.55, color=_BAR)
        inside = row.value > 85
        axes.text(
            row.value - 1.5 if inside else row.value + 1.5,
            y,
            row.value_text or "",
            ha="right" if inside else "left",
            va="center",
            fontweight="bold",
            color="white" if inside else "black",
            bbox=None if inside else {"facecolor": "white", "edgecolor": "none", "pad": 1.5},
        )
    axes.set_xlim(0, 100)
    axes.set_ylim(-0.6, n - 0.4 + (0.35 if layout.labels_above else 0))
    axes.set_xticks([0, 20, 40, 60, 80, 100])
    axes.set_xlabel(axis_label)
    if layout.labels_above:
        axes.set_yticks([])
    else:
        axes.set_yticks(ys, [row.label for row in rows])
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    return buffer.getvalue()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
