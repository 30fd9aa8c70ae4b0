"""The report as Markdown, for repositories and wikis: a summary table, then a section per SLO (per group of
a grouped SLO, the worst first, at most ``GROUPS_SHOWN``, the others counted).

Text from the specs and from Prometheus (descriptions, names, label values) is escaped (``text.md``): only
the report's own structure is Markdown, so a description cannot add a heading, hide the rest of the report
in an HTML comment, or bring a tag that runs script where the Markdown is rendered.
"""

from __future__ import annotations

from slokit.report import text
from slokit.report.model import Report, SLOReport, shown


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(text.md(c) for c in cells) + " |"


SUMMARY_HEADER = ["service", "SLO", "objective", "SLI (period)", "SLI (window)", "budget left", "consumed",
                  "alerts", "verdict"]


def summary_cells(s: SLOReport) -> list[str]:
    return [s.service, text.slo_name(s), text.pct(s.objective), text.pct(s.period_sli),
            f"{text.pct(s.window_sli)} ({s.window})", text.budget(s.budget_remaining_end),
            text.budget(s.budget_consumed), text.alert_count(s), s.verdict]


def _slo_section(s: SLOReport) -> list[str]:
    about = text.md(f"{s.reason}." + (f" {s.description}" if s.description else ""))
    out = [f"### {text.md(s.service)} / {text.md(text.slo_name(s))}: {s.verdict}", "", about, "",
           _row(["field", "value"]), _row(["---", "---"])]
    fields = [
        ("objective", f"{text.pct(s.objective)} over {s.window} ({s.sli_kind} SLI)"),
        ("SLI over the period", f"{text.pct(s.period_sli)} ({text.events(s.period_bad_events)} bad of "
                                f"{text.events(s.period_events)} events)"),
        ("SLI over the SLO window", f"{text.pct(s.window_sli)} ({text.events(s.window_bad_events)} bad of "
                                    f"{text.events(s.window_events)} events)"),
        ("error budget left at the start", text.budget(s.budget_remaining_start)),
        ("error budget left at the end", text.budget(s.budget_remaining_end)),
        ("error budget consumed in the period", text.budget(s.budget_consumed)),
        ("error budget in events", text.event_budget(s)),
        ("burn rate over the period", text.NO_DATA if s.period_burn_rate is None else f"{s.period_burn_rate:.2f}x"),
        ("data", f"{s.source} series"),
        ("coverage", text.coverage(s)),
    ]
    out += [_row([k, v]) for k, v in fields]
    out += ["", "Alerts that fired:", ""]
    if s.alerts:
        out += [_row(["alert", "severity", "labels", "first", "last", "times"]), _row(["---"] * 6)]
        out += [_row([a.alertname, a.severity, text.alert_labels(a, s.group_by), text.when(a.first), text.when(a.last),
                      str(a.episodes)]) for a in s.alerts]
    else:
        out.append("none")
    out += ["", "Worst hours:", ""]
    if s.worst_hours:
        out += [_row(["hour (UTC)", "SLI", "bad events", "events"]), _row(["---"] * 4)]
        out += [_row([f"{text.when(h.start)} to {h.end:%H:%M}", text.pct(h.sli), text.events(h.bad_events),
                      text.events(h.events)]) for h in s.worst_hours]
    else:
        out.append("none: no bad events")
    return [*out, ""]


def render(report: Report) -> str:
    p = report.period
    slos, hidden = shown(report.slos)
    lines = [
        f"# SLO report: {p.title}",
        "",
        f"{text.when(p.start)} to {text.when(p.end)} UTC, from {text.md(report.prometheus)}, generated "
        f"{text.when(report.generated_at)} UTC. Verdict: **{report.verdict}** "
        f"({report.count('met')} met, {report.count('at risk')} at risk, {report.count('breached')} breached, "
        f"{report.count('no data')} no data).",
        "",
        _row(SUMMARY_HEADER),
        _row(["---"] * len(SUMMARY_HEADER)),
        *(_row(summary_cells(s)) for s in slos),
        "",
        *(f"{text.md(text.hidden(h))}." for h in hidden),
        *([""] if hidden else []),
        "## SLOs",
        "",
    ]
    for s in slos:
        lines += _slo_section(s)
    return "\n".join(lines).rstrip() + "\n"
