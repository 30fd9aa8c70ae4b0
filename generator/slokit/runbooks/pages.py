"""The runbook pages: one per SLO, an index per service and one for all services.

Pages follow the prometheus-operator runbooks (meaning, impact, diagnosis, mitigation) with what an SLO
adds: the budget arithmetic of each alert and an urgency table. Everything an on-call engineer needs to
act is computed here from the model; the templates only lay it out. The output is deterministic (no
dates), so regenerating an unchanged spec changes no file.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import jinja2

from slokit import burnrate, links, promql
from slokit.artifacts import Artifacts, Options
from slokit.catalog import AlertDef, alerts_for, excludes_rollback
from slokit.rules import build as rules
from slokit.rules.sli import sli_queries, sli_ratio, zero_filled
from slokit.runbooks import mdtext, queries
from slokit.series import ROLLBACK_LABEL, SERVICE_LABEL, SEVERITY_LABEL, SLO_LABEL
from slokit.spec.model import SLO, CacheMisses, HttpErrors, HttpLatency, RatioQueries, Receiver, Service
from slokit.spec.units import Duration, format_factor, format_number, format_percent

INDEX = "README.md"
_HOUR_MS = 3600 * 1000
_DAY_MS = 24 * _HOUR_MS
_MINUTE_MS = 60 * 1000


def span(d: Duration) -> str:
    """``2d2h (50h)``: days read well for long spans, hours compare well between alerts."""
    text = str(d)
    if d.ms >= _DAY_MS and d.ms % _HOUR_MS == 0 and d.ms % _DAY_MS:
        return f"{text} ({d.ms // _HOUR_MS}h)"
    return text


def _round_minutes(ms: Fraction | float) -> Duration:
    minutes = round(ms / _MINUTE_MS)
    return Duration(minutes * _MINUTE_MS) if minutes else Duration(round(ms))


def budget_text(slo: SLO) -> str:
    """The error budget as a share of events; "none" for an objective of 100 %, never "0%"."""
    return format_percent(slo.error_budget) if slo.has_budget else "none (objective 100 %)"


def exhaustion_at(slo: SLO, bad_ratio: Fraction) -> Duration | None:
    """How long the SLO window's budget lasts when ``bad_ratio`` of events fail (None: it outlasts the window,
    or there is no budget to last)."""
    if bad_ratio <= slo.error_budget or not slo.has_budget:
        return None
    return _round_minutes(slo.window.ms * slo.error_budget / bad_ratio)


@dataclass(frozen=True)
class AlertView:
    alert: AlertDef
    #: The section's first line: what to do.
    do_first: str
    urgency: str
    fires_when: str
    #: Time until the whole budget is gone at the rate that fires the alert (None: not a budget rate).
    budget_gone: str | None
    #: Queries that show the alert's condition now.
    checks: tuple[queries.Query, ...]
    #: The alert's identifying labels, as matchers for Alertmanager or a silence.
    labels: str


def _view(service: Service, slo: SLO, a: AlertDef, do_first: str, fires: str, gone: str | None,
          checks: tuple[queries.Query, ...]) -> AlertView:
    ids = {"alertname": a.name, SERVICE_LABEL: service.name, SLO_LABEL: slo.name, SEVERITY_LABEL: a.severity,
           **a.labels}
    extra = []
    if excludes_rollback(a, alerts_for(service, slo)):  # a rollback twin carries all these labels and more
        extra.append(promql.matcher(ROLLBACK_LABEL, "true", "!="))
    labels = promql.selector(ids, extra)
    return AlertView(a, do_first, _urgency(a), fires, gone, checks, labels)


def _urgency(a: AlertDef) -> str:
    if a.rollback:
        return "now: roll back" if a.severity == "page" else "today: stop the rollout"
    return "now: minutes matter" if a.severity == "page" else "working hours: within a day"


def _burn_view(service: Service, slo: SLO, a: AlertDef) -> AlertView:
    assert a.tier is not None
    t = a.tier
    budget = format_percent(slo.error_budget)
    gone = span(t.exhaustion)
    if a.severity == "page":
        do_first = (f"Users are failing now, and at this rate the whole {slo.window} budget is gone in {gone}: "
                    "if a deploy, flag or config change started it, roll that back first, then diagnose.")
    else:
        do_first = (f"The budget is draining (at this rate {t.spending(slo.window)}): during working hours, "
                    "find the cause with the diagnosis queries and get a fix scheduled.")
    fires = (f"the error ratio is above {format_percent(t.threshold)} ({format_factor(t.factor)}x the "
             f"{budget} error budget) over both the last {t.tier.long} and the last {t.tier.short}; "
             f"by then {format_percent(t.tier.budget_share)} of the {slo.window} budget is spent")
    if slo.min_events > 0:
        fires += f", and only with at least {slo.min_events} events in {t.tier.long} (low traffic stays quiet)"
    checks = tuple(
        queries.Query(f"Burn rate over {w} (fires above {format_factor(t.factor)} on both)",
                      f"{queries.error_ratio_now(service, slo, w)} / {format_number(slo.error_budget)}")
        for w in (t.tier.long, t.tier.short)
    )
    return _view(service, slo, a, do_first, fires, gone, checks)


def ratio_now(service: Service, slo: SLO, window: Duration) -> str:
    """The bad-event ratio over ``window`` as the guardrail alert reads it: recorded when the rules record it."""
    if window in rules.ratio_windows(slo):
        return queries.error_ratio_now(service, slo, window)
    return rules.raw_ratio(service, slo, window)


def _gone_text(slo: SLO, bad_ratio: Fraction) -> str:
    if not slo.has_budget:
        return "no error budget (objective 100 %): the first bad event misses the SLO"
    gone = exhaustion_at(slo, bad_ratio)
    return span(gone) if gone is not None else f"more than the {slo.window} window (below the budget rate)"


def _guardrail_view(service: Service, slo: SLO, a: AlertDef) -> AlertView:
    g = a.guardrail
    assert g is not None
    w = g.window
    held = f"for {g.for_}" if g.for_.ms else "at a single evaluation"
    gone: str | None = None
    if g.kind == "quantile_above":
        q = g.quantile if g.quantile is not None else Fraction(0)
        pnn = g.key.removesuffix("_above")
        fires = (f"the {pnn} latency over {w} stays above {g.level_text} {held}: more than "
                 f"{format_percent(1 - q)} of requests take longer than {g.level_text}")
        checks: tuple[queries.Query, ...] = (
            queries.Query(f"{pnn} latency over {w} now", rules.quantile_query(service, slo, q, w)),
        )
    elif g.kind == "error_ratio_above":
        fires = f"the error ratio over {w} is above {g.level_text} {held}"
        gone = _gone_text(slo, g.threshold)
        checks = (queries.Query(f"Error ratio over {w} now", ratio_now(service, slo, w)),)
    else:
        fires = f"the good ratio over {w} is below {g.level_text} {held}"
        gone = _gone_text(slo, 1 - g.threshold)
        checks = (queries.Query(f"Good ratio over {w} now", f"1 - (\n{ratio_now(service, slo, w)}\n)"),)
    if g.description:
        fires += f". {mdtext.inline(g.description)}"
    if a.rollback:
        do_first = ("Rollback trigger: stop the progressive rollout and roll back to the previous version now; "
                    "diagnose afterwards.")
    elif a.severity == "page":
        do_first = ("Users are affected now: roll back a recent change if there is one, or shed load; then "
                    "diagnose.")
    else:
        do_first = ("During working hours, find the cause with the diagnosis queries and fix it before it "
                    "becomes a page.")
    return _view(service, slo, a, do_first, fires, gone, checks)


def _absent_view(service: Service, slo: SLO, a: AlertDef) -> AlertView:
    up = f"up{promql.selector(service.selector)}"
    do_first = ("The SLO is blind and its burn-rate alerts cannot fire: check that the service is up and "
                "scraped, and that its metric names match the spec.")
    fires = f"none of the SLI's series exist for {slo.absent_for}"
    checks = (queries.Query("Is the service scraped? (0 or nothing: no)", up),)
    return _view(service, slo, a, do_first, fires, None, checks)


def alert_views(service: Service, slo: SLO) -> list[AlertView]:
    views = []
    for a in alerts_for(service, slo):
        if a.kind == "burn_rate":
            views.append(_burn_view(service, slo, a))
        elif a.kind == "guardrail":
            views.append(_guardrail_view(service, slo, a))
        else:
            views.append(_absent_view(service, slo, a))
    return views


def _sli_words(service: Service, slo: SLO) -> tuple[str, str]:
    """What counts as a bad event and as an event at all, in Markdown."""
    sli = slo.sli
    m = service.metrics
    if isinstance(sli, HttpErrors | HttpLatency):
        scope = "requests"
        if sli.method is not None:
            scope = f"{mdtext.code(sli.method)} requests"
        if sli.route is not None:
            scope += f" to {mdtext.code(sli.route)}"
        if isinstance(sli, HttpErrors):
            return f"{scope} answered with a status matching {mdtext.code(sli.status)}", f"all {scope}"
        return f"{scope} slower than {sli.threshold}", f"all {scope}"
    if isinstance(sli, CacheMisses):
        return (f"misses of the cache {mdtext.code(sli.cache)} ({mdtext.code(m.cache_lookups_total)})",
                "all its lookups")
    assert isinstance(sli, RatioQueries)
    if sli.bad is not None:
        return "events counted by the spec's `bad` query", "events counted by its `total` query"
    return "events not counted by the spec's `good` query", "events counted by its `total` query"


def _impact(service: Service, slo: SLO) -> str:
    sli = slo.sli
    if isinstance(sli, HttpErrors):
        what = "Users get failed requests"
    elif isinstance(sli, HttpLatency):
        what = f"Users wait longer than {sli.threshold} for responses"
    elif isinstance(sli, CacheMisses):
        what = (f"Lookups miss the cache {mdtext.code(sli.cache)} and fall through to the slower source: "
                "higher latency and more load on the backend")
    else:
        what = "Bad events of this SLI reach users"
    if not slo.has_budget:
        return (f"{what}. The objective is 100 %, so there is no error budget: every bad event misses the SLO "
                f"for the {slo.window} window, and risky changes should wait until it recovers.")
    return (f"{what}. Every bad event spends error budget; once the {slo.window} budget "
            f"({format_percent(slo.error_budget)} of events) is gone, the SLO is missed and risky changes "
            "should wait until it recovers.")


def _mitigation_hint(slo: SLO) -> str:
    """One lever specific to the kind of SLI, after the generic ones."""
    sli = slo.sli
    if isinstance(sli, HttpLatency):
        return ("**Slow dependency:** if one downstream (database, API, queue) is slow, cut its timeout, serve "
                "a degraded answer or turn the dependent feature off.")
    if isinstance(sli, CacheMisses):
        return ("**Cache:** after a flush or a deploy the cache refills by itself; if misses stay high, check "
                "the cache backend, its size and eviction, and warm it if you can.")
    if isinstance(sli, HttpErrors):
        return ("**Failing dependency:** if the errors come from one downstream, fail over, serve a degraded "
                "answer or turn the dependent feature off.")
    return "**Failing dependency:** if the bad events come from one downstream, fail over or degrade."


def dashboard(service: Service) -> str:
    """A Markdown link to the service's dashboard; without Grafana's URL in the spec, its title and path."""
    title, url = links.dashboard_title(service), links.dashboard_url(service)
    if service.grafana_url:
        return mdtext.link(title, url)
    return f"**{mdtext.inline(title)}** ({mdtext.code(url)} on your Grafana)"


@dataclass(frozen=True)
class Escalation:
    team: str
    page: str
    ticket: str


def _receiver_text(receiver: Receiver | None, severity: str) -> str:
    if receiver is None or (receiver.pagerduty is None and receiver.slack is None):
        return (f"nobody. The spec has no `routing.{severity}`, so Alertmanager sends them to a placeholder "
                f"receiver; add `routing.{severity}` to the spec.")
    parts = []
    if receiver.pagerduty is not None:
        parts.append("the team's PagerDuty service")
    if receiver.slack is not None:
        parts.append(f"Slack {mdtext.code(receiver.slack.channel)}")
    return " and ".join(parts) + "."


def escalation(service: Service) -> Escalation:
    return Escalation(
        team=service.owner,
        page=_receiver_text(service.routing.page, "page"),
        ticket=_receiver_text(service.routing.ticket, "ticket"),
    )


def _environment() -> jinja2.Environment:
    # Markdown is not HTML: autoescape would mangle it. Spec text goes through the mdtext filters instead.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("slokit.runbooks", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(inline=mdtext.inline, code=mdtext.code, fence=mdtext.fence, block=mdtext.block,
                       urlpath=urllib.parse.quote)
    return env


_ENV = _environment()


def _slo_context(service: Service, slo: SLO) -> dict[str, object]:
    sample = Duration.parse(queries.RANGE)
    bad, total = sli_queries(service, slo, sample)
    _, dropped = burnrate.plan(slo)
    views = alert_views(service, slo)
    bad_words, total_words = _sli_words(service, slo)
    return {
        "service": service,
        "slo": slo,
        "objective": format_percent(slo.objective),
        "budget": budget_text(slo),
        "budget_time": span(_round_minutes(slo.window.ms * slo.error_budget)) if slo.has_budget else None,
        "bad_words": bad_words,
        "total_words": total_words,
        "sample": queries.RANGE,
        "bad_query": bad,
        "total_query": total,
        "ratio_query": (f"{zero_filled(bad, total, slo)}\n/\n  {total}" if slo.group_by
                        else sli_ratio(bad, total)),
        "budget_queries": queries.budget_queries(service, slo),
        "alerts": views,
        "pages": [v for v in views if v.alert.severity == "page"],
        "tickets": [v for v in views if v.alert.severity == "ticket"],
        "rollbacks": [v for v in views if v.alert.rollback],
        "dropped": [d.reason for d in dropped],
        "impact": _impact(service, slo),
        "diagnosis": queries.diagnosis(service, slo),
        "dashboard": dashboard(service),
        "escalation": escalation(service),
        "hint": _mitigation_hint(slo),
        "siblings": [s for s in service.slos if s.name != slo.name],
    }


def slo_page(service: Service, slo: SLO) -> str:
    return _ENV.get_template("slo.md.j2").render(_slo_context(service, slo))


def service_page(service: Service) -> str:
    rows = [
        {
            "slo": slo,
            "objective": format_percent(slo.objective),
            "budget": budget_text(slo),
            "alerts": alert_views(service, slo),
        }
        for slo in service.slos
    ]
    return _ENV.get_template("service.md.j2").render(
        service=service,
        rows=rows,
        dashboard=dashboard(service),
        escalation=escalation(service),
    )


def index_page(services: Sequence[Service]) -> str:
    return _ENV.get_template("index.md.j2").render(services=sorted(services, key=lambda s: s.name))


def emit(services: Sequence[Service], options: Options) -> Artifacts:
    """``runbooks/README.md``, ``runbooks/<service>/README.md`` and ``runbooks/<service>/<slo>.md``."""
    out: Artifacts = {f"{links.RUNBOOKS_DIR}/{INDEX}": index_page(services)}
    for service in services:
        out[f"{links.RUNBOOKS_DIR}/{service.name}/{INDEX}"] = service_page(service)
        for slo in service.slos:
            out[f"{links.RUNBOOKS_DIR}/{links.runbook_page(service, slo)}"] = slo_page(service, slo)
    return out
