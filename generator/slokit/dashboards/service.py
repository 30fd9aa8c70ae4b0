"""One dashboard per service: a row per SLO, then the panels a person watches during a rollout.

Everything is derived from the model: a panel exists because an SLI or a guardrail asks for it (no
cache SLO, no cache panel), and every threshold line is a level from the spec (the objective, or an
alert's level coloured by its severity), so the picture and the alerts cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePosixPath
from typing import Any

import grafanalib.core as G

from slokit import burnrate, series
from slokit.dashboards import grafana, queries
from slokit.dashboards.overview import overview_url
from slokit.links import dashboard_title, dashboard_uid, runbook_url
from slokit.promql import quote
from slokit.series import OBJECTIVE, SERVICE_LABEL, SLO_LABEL
from slokit.spec.model import SLO, CacheMisses, Guardrail, HttpErrors, HttpLatency, RatioQueries, Service
from slokit.spec.units import format_factor, format_number, format_percent

#: Severity ranks and their colours: the more severe level wins where two meet.
OK, TARGET, TICKET, PAGE = 0, 1, 2, 3
COLOURS = {OK: "green", TARGET: "yellow", TICKET: "orange", PAGE: "red"}
_SEVERITY_RANK = {"ticket": TICKET, "page": PAGE}

ROW_HEIGHT = 7
#: Rows of a grouped SLO's worst-groups table.
WORST_GROUPS = 10
ROLLOUT_WIDTH, ROLLOUT_HEIGHT = 8, 8


@dataclass(frozen=True)
class Level:
    """A line on a panel: where it is, how bad crossing it is, and what it means to a reader."""

    value: float
    rank: int
    text: str


def severity_steps(levels: Sequence[Level], *, higher_is_worse: bool) -> list[dict[str, Any]]:
    """Threshold steps colouring each band by the most severe level it has crossed."""
    if not levels:
        return grafana.thresholds(COLOURS[OK])
    points = sorted({lv.value for lv in levels})

    def colour(crossed: list[Level]) -> str:
        return COLOURS[max((lv.rank for lv in crossed), default=OK)]

    if higher_is_worse:
        steps = [(p, colour([lv for lv in levels if lv.value <= p])) for p in points]
        return grafana.thresholds(COLOURS[OK], steps)
    steps = [(p, colour([lv for lv in levels if lv.value > p])) for p in points]
    return grafana.thresholds(colour(list(levels)), steps)


def describe_levels(levels: Sequence[Level]) -> str:
    if not levels:
        return ""
    parts = [f"{lv.text} ({COLOURS[lv.rank]})" for lv in sorted(levels, key=lambda lv: (lv.value, lv.rank))]
    return " Dashed lines: " + "; ".join(parts) + "."


def _guardrail_text(g: Guardrail) -> str:
    extra = ", rollback trigger" if g.rollback else ""
    return f"{g.severity} alert: {g.key.replace('_', ' ')} {g.level_text} over {g.window} for {g.for_}{extra}"


def _good_orientation(slo: SLO) -> bool:
    """Whether the rollout panel shows the good share (hit rate) rather than the bad share."""
    return isinstance(slo.sli, CacheMisses) or (isinstance(slo.sli, RatioQueries) and slo.sli.good is not None)


def ratio_levels(slo: SLO, *, good: bool) -> list[Level]:
    """The objective and every ratio guardrail, expressed on the panel's scale (bad or good share)."""
    if good:
        out = [Level(float(slo.objective), TARGET, f"objective {format_percent(slo.objective)}")]
    else:
        text = f"error budget {format_percent(slo.error_budget)}" if slo.has_budget else "objective 100 %"
        out = [Level(float(slo.error_budget), TARGET, text)]
    for g in slo.alerts:
        if g.kind == "quantile_above":
            continue
        bad = g.threshold if g.kind == "error_ratio_above" else 1 - g.threshold
        out.append(Level(float(1 - bad if good else bad), _SEVERITY_RANK[g.severity], _guardrail_text(g)))
    return out


def latency_levels(slo: SLO) -> list[Level]:
    out: list[Level] = []
    if isinstance(slo.sli, HttpLatency):
        out.append(Level(slo.sli.threshold.seconds, TARGET, f"SLI threshold {slo.sli.threshold}"))
    for g in slo.alerts:
        if g.kind == "quantile_above" and g.latency is not None:
            out.append(Level(g.latency.seconds, _SEVERITY_RANK[g.severity], _guardrail_text(g)))
    return out


def status_text(status: str) -> str:
    """``5..`` reads as ``5xx``; other regexes are shown as written."""
    return status.replace(".", "x") if re.fullmatch(r"[0-9.]{3}", status) else status


def _scope(sli: HttpErrors | HttpLatency) -> str:
    parts = [p for p in (sli.method, sli.route) if p]
    return f" ({' '.join(parts)})" if parts else ""


def ratio_title(slo: SLO, *, good: bool) -> str:
    sli = slo.sli
    if isinstance(sli, HttpErrors):
        what = f"{status_text(sli.status)} ratio{_scope(sli)}"
    elif isinstance(sli, HttpLatency):
        what = f"share slower than {sli.threshold}{_scope(sli)}"
    elif isinstance(sli, CacheMisses):
        what = f"cache hit rate ({sli.cache})"
    else:
        what = "good ratio" if good else "error ratio"
    return f"{slo.name}: {what}"


def _quantile_label(q: Fraction) -> str:
    return f"p{format_number(q * 100)}"


class _Builder:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.layout = grafana.Layout()
        self.panels: list[G.Panel] = []
        taken = {grafana.DATASOURCE_VAR}
        self.label_vars: dict[str, str] = {}
        for label in queries.spec_labels([service]):
            var = queries.variable_name(label, taken)
            taken.add(var)
            self.label_vars[label] = var
        #: Grouping labels of grouped SLOs: a variable each, whose values come from the per-group series.
        self.group_labels = sorted({g for slo in service.slos for g in slo.group_by} - set(self.label_vars))
        for label in self.group_labels:
            var = queries.variable_name(label, taken)
            taken.add(var)
            self.label_vars[label] = var

    def slo_vars(self, slo: SLO) -> dict[str, str]:
        """The variables that filter ``slo``'s series: every spec label's, but a grouping label's only for the
        SLOs grouped by it (the others have no such label: choosing a market must not blank them)."""
        return {label: var for label, var in self.label_vars.items()
                if label not in self.group_labels or label in slo.group_by}

    def runbook(self, slo: SLO) -> list[dict[str, Any]]:
        return [grafana.link(f"Runbook: {slo.name}", runbook_url(self.service, slo))]

    def slo_row(self, slo: SLO) -> None:
        s, lv = self.service, self.slo_vars(slo)
        window = slo.window
        objective = format_percent(slo.objective)
        self.panels.append(grafana.row(f"{slo.name}: {objective} over {window}", self.layout.row()))
        links = self.runbook(slo)
        # A grouped SLO's stats show its worst group; the table below lists the groups, worst first.
        worst, most, of = ("min", "max", " (worst group)") if slo.group_by else ("", "", "")
        good_now = grafana.target(f"{worst}({queries.sli(s, slo, lv, window)})" if worst else
                                  queries.sli(s, slo, lv, window), "A", "SLI")
        self.panels.append(grafana.stat(
            f"SLI ({window}){of}", [good_now], self.layout.place(5, ROW_HEIGHT), unit="percentunit", decimals=3,
            steps=severity_steps([Level(float(slo.objective), PAGE, "objective")], higher_is_worse=False),
            description=f"Share of good events over the last {window}; the objective is {objective}. "
                        f"{slo.description}".strip(),
            links=links,
        ))
        if slo.has_budget:
            self.budget_panels(slo, links, worst, most, of)
        else:  # objective 100 %: no budget series are recorded (they would divide by zero)
            self.panels.append(grafana.text(
                "Error budget", f"**No error budget**: the objective is {objective}, so every bad event misses "
                f"the SLO. There are no burn-rate alerts; the SLI and the guardrails are shown.",
                self.layout.place(10, ROW_HEIGHT)))
        self.panels.append(grafana.timeseries(
            "SLI over time",
            [grafana.target(queries.sli(s, slo, lv, queries.SHORT_WINDOW), "A",
                            group_legend(slo, f"SLI ({queries.SHORT_WINDOW})")),
             grafana.target(queries.sli(s, slo, lv, queries.BURN_WINDOW), "B",
                            group_legend(slo, f"SLI ({queries.BURN_WINDOW})"))],
            self.layout.place(9, ROW_HEIGHT), unit="percentunit", decimals=3,
            steps=severity_steps([Level(float(slo.objective), PAGE, "objective")], higher_is_worse=False),
            description=f"Share of good events over sliding {queries.SHORT_WINDOW} and {queries.BURN_WINDOW} "
                        f"windows. Dashed line: the objective {objective}.",
            links=links,
        ))
        if slo.group_by:
            self.panels.append(self.worst_groups(slo, links))

    def budget_panels(self, slo: SLO, links: list[dict[str, Any]], worst: str, most: str, of: str) -> None:
        """Budget remaining and the current burn rate: only for an SLO with an error budget (a grouped SLO's
        worst group: ``worst``/``most`` are min/max then, and ``of`` says so in the titles)."""
        s, lv, window = self.service, self.slo_vars(slo), slo.window
        budget = queries.budget_remaining(s, slo, lv)
        self.panels.append(grafana.gauge(
            f"Error budget remaining ({window}){of}",
            [grafana.target(f"{worst}({budget})" if worst else budget, "A", "budget remaining")],
            self.layout.place(5, ROW_HEIGHT), unit="percentunit", decimals=1, min_=0, max_=1,
            steps=grafana.thresholds("red", [(0, "orange"), (0.25, "yellow"), (0.5, "green")]),
            description=f"Share of the {window} error budget ({format_percent(slo.error_budget)} of events) "
                        "not yet spent. Red: spent; orange: under 25 %; yellow: under 50 %.",
            links=links,
        ))
        self.panels.append(self.burn_rate_stat(slo, links, most))

    def worst_groups(self, slo: SLO, links: list[dict[str, Any]]) -> G.Table:
        """The groups of a grouped SLO with the lowest SLI over its window, one row each."""
        sli = queries.sli(self.service, slo, self.slo_vars(slo), slo.window)
        hidden = {"Time": True, SERVICE_LABEL: True, SLO_LABEL: True}
        return grafana.table(
            f"Worst groups by {', '.join(slo.group_by)} (SLI over {slo.window})",
            [grafana.target(f"bottomk({WORST_GROUPS}, {sli})", "A", instant=True, table=True)],
            self.layout.place(24, ROW_HEIGHT),
            transformations=[{"id": "organize", "options": {"excludeByName": hidden,
                                                            "renameByName": {"Value": "SLI"}}}],
            overrides=[{"matcher": {"id": "byName", "options": "SLI"},
                        "properties": [{"id": "unit", "value": "percentunit"}, {"id": "decimals", "value": 3}]}],
            sort_by="SLI",
            description=f"The {WORST_GROUPS} groups with the lowest share of good events over {slo.window}; "
                        f"each group has its own budget and alerts (objective {format_percent(slo.objective)}).",
        )

    def burn_rate_stat(self, slo: SLO, links: list[dict[str, Any]], most: str = "") -> G.Stat:

        active, _ = burnrate.plan(slo)
        levels = [
            Level(float(t.factor), _SEVERITY_RANK[t.tier.severity],
                  f"{t.tier.severity} at {format_factor(t.factor)}x over {t.tier.long}/{t.tier.short}")
            for t in active
        ]
        if levels:
            tiers = "; ".join(lv.text for lv in levels)
            what = f"Alert tiers (each over its own long and short window): {tiers}."
        else:
            levels = [Level(1.0, TARGET, "1x spends exactly the budget")]
            what = "Burn-rate alerts are off for this SLO; above 1x the budget runs out before the window ends."
        burn = queries.burn_rate(self.service, slo, self.slo_vars(slo))
        return grafana.stat(
            f"Burn rate ({queries.BURN_WINDOW})" + (" (worst group)" if most else ""),
            [grafana.target(f"{most}({burn})" if most else burn, "A", "burn rate")],
            self.layout.place(5, ROW_HEIGHT), unit="suffix:x", decimals=2,
            steps=severity_steps(levels, higher_is_worse=True),
            description=f"How fast the error budget burns now: the {queries.BURN_WINDOW} error ratio divided by "
                        f"the error budget (1x spends it exactly over {slo.window}). {what}",
            links=links,
        )

    def rollout(self) -> None:
        s = self.service
        http_slos = [slo for slo in s.slos if isinstance(slo.sli, HttpErrors | HttpLatency)]
        self.panels.append(grafana.row("Rollout", self.layout.row()))
        if http_slos:
            self.panels.append(grafana.timeseries(
                "Request rate", [grafana.target(queries.request_rate(s), "A", "requests/s")],
                self.layout.place(ROLLOUT_WIDTH, ROLLOUT_HEIGHT), unit="reqps", steps=grafana.thresholds("green"),
                description=f"Requests per second over {queries.SHORT_WINDOW}, all routes, as the middleware "
                            "counts them. A drop during a rollout can hide errors: check it first.",
                links=[lk for slo in http_slos for lk in self.runbook(slo)],
            ))
        for slo in s.slos:
            latency_guardrails = [g for g in slo.alerts if g.kind == "quantile_above"]
            if isinstance(slo.sli, HttpLatency) or latency_guardrails:
                self.latency_panel(slo, latency_guardrails)
            ratio_guardrails = [g for g in slo.alerts if g.kind != "quantile_above"]
            if not isinstance(slo.sli, HttpLatency) or ratio_guardrails:
                self.ratio_panel(slo, ratio_guardrails)

    def latency_panel(self, slo: SLO, guardrails: list[Guardrail]) -> None:
        """One line per quantile and window the guardrails compare (p95 over 5m when there are none)."""
        levels = latency_levels(slo)
        pairs = sorted({(g.quantile, g.window) for g in guardrails if g.quantile is not None}) or [
            (Fraction(95, 100), queries.SHORT_WINDOW)]
        windows = {w for _, w in pairs}
        targets = [
            grafana.target(queries.latency_quantile(self.service, slo, q, w, self.slo_vars(slo)), _ref(i),
                           group_legend(slo, _quantile_label(q) + (f" ({w})" if len(windows) > 1 else "")))
            for i, (q, w) in enumerate(pairs)
        ]
        names = " / ".join(dict.fromkeys(_quantile_label(q) for q, _ in pairs))
        scope = _scope(slo.sli) if isinstance(slo.sli, HttpErrors | HttpLatency) else ""
        self.panels.append(grafana.timeseries(
            f"{slo.name}: {names} latency{scope}", targets,
            self.layout.place(ROLLOUT_WIDTH, ROLLOUT_HEIGHT), unit="s",
            steps=severity_steps(levels, higher_is_worse=True),
            description=f"Request duration quantiles over {', '.join(str(w) for w in sorted(windows))}, "
                        "from the histogram buckets, as the latency alerts compute them." + describe_levels(levels),
            links=self.runbook(slo),
            soft_min=0, soft_max=max((lv.value for lv in levels), default=None),
        ))

    def ratio_panel(self, slo: SLO, guardrails: list[Guardrail]) -> None:
        """The SLI's share over 5m and over every window a guardrail compares, with its levels."""
        good = _good_orientation(slo)
        levels = ratio_levels(slo, good=good)
        windows = sorted({queries.SHORT_WINDOW, *(g.window for g in guardrails)})
        query = queries.sli if good else queries.window_error_ratio
        targets = [grafana.target(query(self.service, slo, self.slo_vars(slo), w), _ref(i), group_legend(slo, str(w)))
                   for i, w in enumerate(windows)]
        share = "good" if good else "bad"
        self.panels.append(grafana.timeseries(
            ratio_title(slo, good=good), targets,
            self.layout.place(ROLLOUT_WIDTH, ROLLOUT_HEIGHT), unit="percentunit", decimals=2,
            steps=severity_steps(levels, higher_is_worse=not good),
            description=f"Share of {share} events over {', '.join(str(w) for w in windows)}, as the alerts "
                        "compute it." + describe_levels(levels),
            links=self.runbook(slo),
            soft_min=0 if not good else None,
            soft_max=max(lv.value for lv in levels) if not good else 1,
        ))


def group_legend(slo: SLO, text: str) -> str:
    """A line's legend; a grouped SLO's lines (one per group) are named by their group: ``market={{market}}: 5m``."""
    if not slo.group_by:
        return text
    return ", ".join(f"{g}={{{{{g}}}}}" for g in slo.group_by) + f": {text}"


def _ref(i: int) -> str:
    return chr(ord("A") + i)


def label_variables(service: Service, label_vars: dict[str, str], group_labels: Sequence[str] = ()
                    ) -> list[G.Template]:
    """A variable per spec label and grouping label, with the values the recorded series carry for this service
    (grouping labels are only on the per-group series, not on the metadata)."""
    sel = f"{OBJECTIVE}{{{SERVICE_LABEL}={quote(service.name)}}}"
    groups = f"{series.error_ratio(queries.SHORT_WINDOW)}{{{SERVICE_LABEL}={quote(service.name)}}}"
    return [grafana.label_variable(var, label, f"label_values({groups if label in group_labels else sel}, {label})")
            for label, var in label_vars.items()]


def build(service: Service) -> dict[str, Any]:
    """The service's dashboard model (bare, as file provisioning reads it)."""
    b = _Builder(service)
    for slo in service.slos:
        b.slo_row(slo)
    b.rollout()
    description = service.description or f"SLOs of {service.name}"
    board = grafana.dashboard(
        uid=dashboard_uid(service),
        title=dashboard_title(service),
        description=f"{description} (owner: {service.owner}). Generated by slokit from "
                    f"{PurePosixPath(service.source).name}; edits here are overwritten by the next push.",
        tags=["slokit", "slo", f"service:{service.name}", f"team:{service.owner}"],
        panels=b.panels,
        variables=[grafana.datasource_variable(), *label_variables(service, b.label_vars, b.group_labels)],
        links=[
            grafana.dashboard_link_to("SLO overview", overview_url(service.grafana_url)),
            grafana.dashboard_list_link("SLO dashboards", ["slokit"]),
        ],
        time_from="now-24h",
    )
    return grafana.render(board)
