"""The report's pictures, drawn by matplotlib (Agg backend, no display) as inline SVG.

Per SLO: the error budget remaining over the period (the burn-down, with the zero line) and the SLI over
time against the objective. Buckets without traffic are gaps in the line, not 100 %. The x axis is the
period itself (not what matplotlib would widen a single point to), and points carry markers, so that one
bucket of data is a visible dot. Titles hold names and label values, drawn as plain text, never mathtext.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, the same output on every machine

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from slokit.report import text as words
from slokit.report.model import Point, SLOReport

matplotlib.rcParams["svg.hashsalt"] = "slokit"  # stable element ids, so two runs give the same SVG
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller and searchable


def _xy(points: Sequence[Point], scale: float = 100.0) -> tuple[Any, list[float]]:
    """Matplotlib dates and percentages; None (no traffic) becomes NaN, which matplotlib leaves as a gap."""
    x = mdates.date2num([p.time for p in points])  # type: ignore[no-untyped-call]
    return x, [math.nan if p.value is None else p.value * scale for p in points]


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG goes inside HTML


def _axes(s: SLOReport, title: str, ylabel: str) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=(7.5, 2.6), dpi=96)
    ax.set_title(f"{s.service} / {words.slo_name(s)}: {title}", fontsize=10, loc="left", parse_math=False)
    period = mdates.date2num([s.burn_down[0].time, s.burn_down[-1].time])  # type: ignore[no-untyped-call]
    ax.set_xlim(period[0], period[1])
    ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(True, alpha=0.3)
    locator = mdates.AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.tick_params(labelsize=8)
    return fig, ax


def _dots(x: Any) -> dict[str, Any]:
    """A dot on every point, smaller where there are many, so that a lone point of data shows."""
    return {"marker": ".", "markersize": 5 if len(x) <= 62 else 2}


def burn_down(s: SLOReport) -> str:
    """Error budget remaining (% of the SLO window's budget) at each bucket of the period."""
    fig, ax = _axes(s, f"error budget remaining ({s.window} window)", "% of budget")
    x, y = _xy(s.burn_down)
    ax.plot(x, y, color="#1f77b4", linewidth=1.6, **_dots(x), label="budget left")
    ax.axhline(0, color="#d62728", linewidth=1, linestyle="--", label="exhausted")
    ax.legend(fontsize=8, loc="lower left")
    return _svg(fig)


def sli_over_time(s: SLOReport) -> str:
    """SLI per bucket against the objective."""
    fig, ax = _axes(s, "SLI over time", "good events %")
    x, y = _xy(s.sli_over_time)
    ax.plot(x, y, color="#2ca02c", linewidth=1.4, **_dots(x), label="SLI")
    ax.axhline(s.objective * 100, color="#ff7f0e", linewidth=1, linestyle="--", label="objective")
    ax.legend(fontsize=8, loc="lower left")
    return _svg(fig)
