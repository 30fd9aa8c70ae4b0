"""The report as one self-contained HTML page: tables and inline SVG plots, readable without a server.

Every value is escaped by Jinja's autoescaping; the plots are SVG drawn by matplotlib, whose text escapes
as XML (and is not read as mathtext: see ``plots``). A grouped SLO shows its worst groups, as in Markdown.
"""

from __future__ import annotations

import jinja2
from markupsafe import Markup

from slokit.report import markdown, text
from slokit.report.model import Report, shown

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("slokit.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(report: Report) -> str:
    # matplotlib takes seconds to import: only the HTML report pays for it, not every slokit command.
    from slokit.report import plots

    reports, hidden = shown(report.slos)
    slos = [{"r": s, "summary": markdown.summary_cells(s), "burn_down": plots.burn_down(s),
             "sli_over_time": plots.sli_over_time(s)} for s in reports]
    template = _ENV.get_template("report.html.j2")
    return template.render(report=report, slos=slos, hidden=hidden, header=markdown.SUMMARY_HEADER, text=text,
                           svg=Markup)
