"""OpenSLO documents into slokit specs: Service, SLO, SLI, AlertPolicy, AlertCondition and DataSource (v1).

All files given are read together, so an SLO may reference an SLI, an AlertPolicy or a DataSource defined in
another file. One slokit service is written per OpenSLO service that has SLOs. OpenSLO describes any
backend; slokit generates Prometheus rules, so only Prometheus ratio metrics over rolling windows, budgeted
by occurrences, convert. Everything else is an error at its line, saying why.

Sloth's OpenSLO ``v1alpha`` form (``ratioMetrics`` with ``source: prometheus``, ``timeWindows`` with ``count``
and ``unit``) is read too. Queries keep Sloth's ``{{.window}}`` convention: a query with that placeholder is
used as written; a bare counter selector is turned into ``sum(rate(selector[{{window}}]))``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from slokit import burnrate
from slokit.importers.draft import (
    Draft,
    ImportResult,
    Problems,
    label_text,
    name_from,
    query_with_placeholder,
    split_labels,
    valid_name,
    value_pos,
)
from slokit.spec.model import SLO, WINDOW_PLACEHOLDER, RatioQueries
from slokit.spec.units import Duration
from slokit.spec.yamlpos import Pos, PosDict, PosList, load_all
from slokit.yamlout import decimal

V1 = "openslo/v1"
V1ALPHA = "openslo/v1alpha"
KINDS = ("Service", "SLO", "SLI", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource")

_SHORTHAND = re.compile(r"^(\d+)([mhdwMQY])$")
_SHORTHAND_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_ALPHA_UNITS_MS = {"Second": 1000, "Minute": 60_000, "Hour": 3_600_000, "Day": 86_400_000, "Week": 7 * 86_400_000}
_SELECTOR = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?$")
#: OpenSLO leaves severities free-form; these are the ones that read unambiguously as page or ticket.
SEVERITIES = {"page": "page", "critical": "page", "high": "page",
              "ticket": "ticket", "warning": "ticket", "medium": "ticket", "low": "ticket", "info": "ticket"}
#: Two burn-rate factors closer than this are the same (exports write factors to 10 decimals).
_FACTOR_TOLERANCE = Fraction(1, 10**6)


@dataclass
class _Doc:
    kind: str
    name: str
    raw: PosDict
    problems: Problems
    api: str


def convert(files: Sequence[tuple[str, str]], owner: str | None = None) -> ImportResult:
    """Every SLO in the given ``(file name, text)`` pairs, as one draft spec per OpenSLO service."""
    result = ImportResult()
    by_file = {name: Problems(name) for name, _ in files}
    docs: list[_Doc] = []
    for name, text in files:
        problems = by_file[name]
        for doc in load_all(text, name):
            for p in doc.problems:
                problems.error(p.pos, "", p.message)
            if isinstance(doc.data, PosDict):
                parsed = _header(doc.data, problems)
                if parsed is not None:
                    docs.append(parsed)
            elif doc.data is not None:
                problems.error((1, 1), "", "an OpenSLO document must be a mapping")
    index = {(d.kind, d.name): d for d in docs}
    services: dict[str, Draft] = {}
    def errors() -> int:
        return sum(len(p.items) for p in by_file.values())

    for parsed_doc in docs:
        if parsed_doc.kind == "SLO":
            _slo(parsed_doc, index, services, owner, errors)
    if not services and not any(p.items for p in by_file.values()):
        first = files[0][0] if files else "<input>"
        by_file.setdefault(first, Problems(first)).error((1, 1), "", "no OpenSLO SLO document in the given files")
    result.drafts = list(services.values())
    result.diagnostics = [d for p in by_file.values() for d in p.items]
    return result


def _header(raw: PosDict, problems: Problems) -> _Doc | None:
    api, kind = raw.get("apiVersion"), raw.get("kind")
    if api not in (V1, V1ALPHA):
        problems.error(value_pos(raw, "apiVersion"), "apiVersion",
                       f"{api!r} is not an OpenSLO version slokit reads ({V1}, or Sloth's {V1ALPHA})")
        return None
    if kind not in KINDS:
        problems.error(value_pos(raw, "kind"), "kind", f"unknown OpenSLO kind {kind!r} (known: {', '.join(KINDS)})")
        return None
    meta = raw.get("metadata")
    name = meta.get("name") if isinstance(meta, PosDict) else None
    if not isinstance(name, str):
        problems.error(value_pos(raw, "metadata"), "metadata.name", "every OpenSLO document needs metadata.name")
        return None
    return _Doc(str(kind), name, raw, problems, str(api))


def _mapping(node: Any, pos: Pos, path: str, problems: Problems) -> PosDict | None:
    if not isinstance(node, PosDict):
        problems.error(pos, path, "must be a mapping" if node is not None else "is required")
        return None
    return node


def _service_draft(name: str, doc: _Doc, index: dict[tuple[str, str], _Doc], services: dict[str, Draft],
                   owner: str | None) -> Draft:
    if name in services:
        return services[name]
    draft = Draft(service=name, source=doc.problems.file, data={})
    slug = name if valid_name(name) else name_from(name)
    if slug != name:
        draft.note(("service",), f"OpenSLO service {name!r}, renamed to a slokit name.")
    draft.data["service"] = slug
    draft.service = slug
    service_doc = index.get(("Service", name))
    labels: dict[str, str] = {}
    description = ""
    if service_doc is not None:
        meta = service_doc.raw.get("metadata")
        spec = service_doc.raw.get("spec")
        labels = _labels(meta.get("labels") if isinstance(meta, PosDict) else None)
        description = str(spec.get("description", "")) if isinstance(spec, PosDict) else ""
    else:
        draft.note(("service",), f"No OpenSLO Service document named {name!r}: only its SLOs were read.")
    if description:
        draft.data["description"] = description
    team = labels.pop("team", None) or labels.pop("owner", None)
    chosen = team or owner
    if chosen is None:
        draft.note(("owner",), "OpenSLO names no owner (no 'team' or 'owner' label on the Service): set the "
                               "owning team.")
        chosen = slug
    draft.data["owner"] = chosen if valid_name(chosen) else name_from(chosen)
    kept, dropped = split_labels(labels)
    if kept:
        draft.data["labels"] = kept
    draft.note_dropped(("owner",), dropped)
    draft.note(("slos",), "OpenSLO notification targets are not routing: add routing.page and routing.ticket "
                          "(see docs/routing.md).")
    draft.data["slos"] = []
    services[name] = draft
    return draft


def _labels(node: Any) -> dict[str, str]:
    """OpenSLO labels: a mapping of names to a value or a list of values (the first is kept)."""
    if not isinstance(node, PosDict):
        return {}
    out: dict[str, str] = {}
    for key, value in node.items():
        if isinstance(value, PosList):
            value = value[0] if value else ""
        out[str(key)] = label_text(value)
    return out


def _slo(doc: _Doc, index: dict[tuple[str, str], _Doc], services: dict[str, Draft], owner: str | None,
         errors: Callable[[], int]) -> None:
    """One SLO document as slokit SLOs (one per objective); nothing is added while any problem was found."""
    p = doc.problems
    spec = _mapping(doc.raw.get("spec"), value_pos(doc.raw, "spec"), "spec", p)
    if spec is None:
        return
    before = errors()
    service = spec.get("service")
    if not isinstance(service, str):
        p.error(value_pos(spec, "service"), "spec.service", "an SLO needs the name of its service")
        return
    window = _window(doc, spec)
    budgeting = spec.get("budgetingMethod", "Occurrences")
    if budgeting != "Occurrences":
        p.error(value_pos(spec, "budgetingMethod"), "spec.budgetingMethod",
                f"{budgeting} budgeting has no slokit equivalent: slokit counts occurrences (good events over all "
                "events in the window), not time slices that met a target")
    objectives = spec.get("objectives")
    if not isinstance(objectives, PosList) or not objectives:
        p.error(value_pos(spec, "objectives"), "spec.objectives", "an SLO needs at least one objective")
        return
    sli = _indicator(doc, spec, index) if doc.api == V1 else None
    meta = doc.raw.get("metadata")
    description = str(spec.get("description") or (meta.get("displayName") if isinstance(meta, PosDict) else "")
                      or "")
    slo_labels = _labels(meta.get("labels") if isinstance(meta, PosDict) else None)
    converted: list[dict[str, Any]] = []
    for i, objective in enumerate(objectives):
        path = f"spec.objectives[{i}]"
        if not isinstance(objective, PosDict):
            p.error(objectives.item_pos[i], path, "an objective must be a mapping")
            continue
        target = _target(objective, objectives.item_pos[i], path, p)
        this_sli = sli if doc.api == V1 else _alpha_indicator(objective, path, p)
        if doc.api == V1 and ("indicator" in objective or "indicatorRef" in objective):
            p.error(objectives.item_pos[i], path, "composite SLOs (an indicator per objective) have no slokit "
                                                  "equivalent: write one SLO per indicator")
        name = doc.name if len(objectives) == 1 else f"{doc.name}-{name_from(str(objective.get('displayName', i)))}"
        entry: dict[str, Any] = {"name": name if valid_name(name) else name_from(name)}
        if description:
            entry["description"] = description
        if target is not None:
            entry["objective"] = target * 100
        if window is not None and window != Duration.parse("30d"):
            entry["window"] = str(window)
        if this_sli is not None:
            entry["sli"] = {"ratio": this_sli}
        converted.append(entry)
    if errors() > before:
        return
    draft = _service_draft(service, doc, index, services, owner)
    assert window is not None
    for entry in converted:
        at = ("slos", len(draft.data["slos"]))
        if entry["name"] != doc.name:
            draft.note((*at, "name"), f"From OpenSLO SLO {doc.name!r}"
                       + (", one slokit SLO per objective." if len(converted) > 1 else ", renamed to a slokit name."))
        kept, dropped = split_labels(slo_labels)
        alerts = _alert_policies(doc, spec, index, entry["objective"] / 100, window, draft, at)
        if alerts is None:
            return
        entry.update(alerts)
        if kept:
            entry["labels"] = kept
        draft.note_dropped((*at, "name"), dropped)
        draft.data["slos"].append(entry)


def _window(doc: _Doc, spec: PosDict) -> Duration | None:
    p = doc.problems
    key = "timeWindow" if doc.api == V1 else "timeWindows"
    windows = spec.get(key)
    if windows is None:
        return Duration.parse("30d")
    if not isinstance(windows, PosList) or len(windows) != 1 or not isinstance(windows[0], PosDict):
        p.error(value_pos(spec, key), f"spec.{key}", "must be a list of exactly one time window")
        return None
    w: PosDict = windows[0]
    path = f"spec.{key}[0]"
    if w.get("isRolling", doc.api == V1ALPHA) is not True or "calendar" in w:
        p.error(w.pos, path, "calendar-aligned windows have no slokit equivalent: slokit windows are rolling "
                             "(isRolling: true)")
        return None
    if doc.api == V1:
        text = str(w.get("duration", ""))
        m = _SHORTHAND.match(text)
        if m is None or m.group(2) not in _SHORTHAND_MS:
            p.error(value_pos(w, "duration"), f"{path}.duration",
                    f"{text!r} is not a rolling duration slokit can use (minutes m, hours h, days d or weeks w; "
                    "months, quarters and years are calendar lengths)")
            return None
        ms = int(m.group(1)) * _SHORTHAND_MS[m.group(2)]
    else:
        count, unit = w.get("count"), w.get("unit")
        if not isinstance(count, int) or unit not in _ALPHA_UNITS_MS:
            p.error(w.pos, path, f"count {count!r} {unit!r}: expected a whole count of "
                                 f"{', '.join(_ALPHA_UNITS_MS)}")
            return None
        ms = count * _ALPHA_UNITS_MS[str(unit)]
    duration = Duration(ms)
    if not Duration.parse("1d") <= duration <= Duration.parse("366d"):
        p.error(w.pos, path, f"window {duration}: slokit SLO windows are between 1d and 366d")
        return None
    return duration


def _target(objective: PosDict, pos: Pos, path: str, p: Problems) -> Fraction | None:
    if "target" in objective:
        value, scale, key = objective["target"], Fraction(1), "target"
    elif "targetPercent" in objective:
        value, scale, key = objective["targetPercent"], Fraction(1, 100), "targetPercent"
    else:
        p.error(pos, path, "an objective needs target (0-1) or targetPercent")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        p.error(value_pos(objective, key), f"{path}.{key}", f"must be a number, got {value!r}")
        return None
    target = Fraction(str(value)) * scale
    if not 0 < target <= 1:
        p.error(value_pos(objective, key), f"{path}.{key}", f"{value!r} is outside (0, 1] as a share")
        return None
    if "timeSliceTarget" in objective or "timeSliceWindow" in objective:
        p.error(pos, path, "time-slice targets have no slokit equivalent: slokit counts occurrences")
    return target


def _indicator(doc: _Doc, spec: PosDict, index: dict[tuple[str, str], _Doc]) -> dict[str, str] | None:
    p = doc.problems
    if "indicatorRef" in spec:
        ref = spec["indicatorRef"]
        sli_doc = index.get(("SLI", str(ref)))
        if sli_doc is None:
            p.error(value_pos(spec, "indicatorRef"), "spec.indicatorRef", f"no SLI document named {ref!r}")
            return None
        return _ratio_metric(sli_doc.raw.get("spec"), sli_doc.raw.pos, "spec", sli_doc.problems, index)
    indicator = _mapping(spec.get("indicator"), value_pos(spec, "indicator"), "spec.indicator", p)
    if indicator is None:
        return None
    return _ratio_metric(indicator.get("spec"), value_pos(indicator, "spec"), "spec.indicator.spec", p, index)


def _ratio_metric(spec: Any, pos: Pos, path: str, p: Problems, index: dict[tuple[str, str], _Doc]
                  ) -> dict[str, str] | None:
    spec = _mapping(spec, pos, path, p)
    if spec is None:
        return None
    if "thresholdMetric" in spec:
        p.error(spec.key_pos["thresholdMetric"], f"{path}.thresholdMetric",
                "threshold metrics (one value compared with op and value) have no slokit equivalent: slokit SLIs "
                "are ratios of good or bad events to all events (ratioMetric)")
        return None
    ratio = _mapping(spec.get("ratioMetric"), value_pos(spec, "ratioMetric"), f"{path}.ratioMetric", p)
    if ratio is None:
        return None
    path = f"{path}.ratioMetric"
    if "raw" in ratio:
        p.error(ratio.key_pos["raw"], f"{path}.raw", "raw ratio metrics (a precomputed ratio) have no slokit "
                                                     "equivalent: give good or bad, and total")
        return None
    counter = ratio.get("counter", True)
    out: dict[str, str] = {}
    for part in ("bad", "good", "total"):
        if part in ratio:
            query = _metric_query(ratio[part], value_pos(ratio, part), f"{path}.{part}", counter, p, index)
            if query is not None:
                out[part] = query
    if ("good" in ratio) == ("bad" in ratio) or "total" not in ratio:
        p.error(ratio.pos, path, "a ratio metric needs total and exactly one of good or bad")
        return None
    return out if len(out) == 2 else None


def _metric_query(node: Any, pos: Pos, path: str, counter: Any, p: Problems, index: dict[tuple[str, str], _Doc]
                  ) -> str | None:
    node = _mapping(node, pos, path, p)
    source = _mapping(node.get("metricSource") if node else None, pos, f"{path}.metricSource", p)
    if source is None:
        return None
    path = f"{path}.metricSource"
    kind = source.get("type")
    if "metricSourceRef" in source:
        ds = index.get(("DataSource", str(source["metricSourceRef"])))
        if ds is None:
            p.error(value_pos(source, "metricSourceRef"), f"{path}.metricSourceRef",
                    f"no DataSource document named {source['metricSourceRef']!r}")
            return None
        ds_spec = ds.raw.get("spec")
        kind = ds_spec.get("type") if isinstance(ds_spec, PosDict) else None
    if str(kind).lower() != "prometheus":
        p.error(value_pos(source, "type"), f"{path}.type",
                f"data source type {kind!r} is not Prometheus: slokit generates Prometheus rules, so it can only "
                "use PromQL queries")
        return None
    qspec = _mapping(source.get("spec"), value_pos(source, "spec"), f"{path}.spec", p)
    if qspec is None:
        return None
    return _promql(qspec.get("query", qspec.get("promql")), value_pos(qspec, "query"), f"{path}.spec.query",
                   counter, p)


def _promql(text: Any, pos: Pos, path: str, counter: Any, p: Problems) -> str | None:
    if not isinstance(text, str) or not text.strip():
        p.error(pos, path, "must be a PromQL query")
        return None
    query = query_with_placeholder(text)
    if query is not None:
        return query
    if _SELECTOR.match(text.strip()) and counter is True:
        return f"sum(rate({text.strip()}[{WINDOW_PLACEHOLDER}]))"
    p.error(pos, path, "the query has no {{window}} (or {{.window}}) placeholder and is not a bare counter "
                       "selector, so slokit cannot tell where the range goes: write it as "
                       "sum(rate(metric{...}[{{window}}]))")
    return None


def _alpha_indicator(objective: PosDict, path: str, p: Problems) -> dict[str, str] | None:
    ratio = _mapping(objective.get("ratioMetrics"), objective.pos, f"{path}.ratioMetrics", p)
    if ratio is None:
        return None
    out: dict[str, str] = {}
    for part in ("bad", "good", "total"):
        node = ratio.get(part)
        if node is None:
            continue
        here = f"{path}.ratioMetrics.{part}"
        if not isinstance(node, PosDict) or str(node.get("source", "")).lower() != "prometheus":
            p.error(value_pos(ratio, part), f"{here}.source", "only source: prometheus can be converted")
            continue
        query = _promql(node.get("query"), value_pos(node, "query"), f"{here}.query", True, p)
        if query is not None:
            out[part] = query
    if ("good" in ratio) == ("bad" in ratio) or "total" not in ratio:
        p.error(ratio.pos, f"{path}.ratioMetrics", "a ratio metric needs total and exactly one of good or bad")
        return None
    return out if len(out) == 2 else None


def _alert_policies(doc: _Doc, spec: PosDict, index: dict[tuple[str, str], _Doc], objective: Fraction,
                    window: Duration, draft: Draft, at: tuple[str | int, ...]) -> dict[str, Any] | None:
    """The SLO's alerting: slokit's burn-rate tiers when the policies are exactly those, else guardrails."""
    p = doc.problems
    policies = spec.get("alertPolicies")
    if not isinstance(policies, PosList) or not policies:
        if doc.api == V1ALPHA:  # Sloth, which reads this form, alerts on every SLO
            draft.note((*at, "name"), "No alert policy: Sloth's page and ticket alerts are slokit's burn-rate "
                                      "tiers.")
            return {}
        draft.note((*at, "name"), "The OpenSLO SLO has no alert policy, so no alerts: burn_rate is off (set it "
                                  "to true for slokit's multi-window burn-rate alerts).")
        return {"burn_rate": False}
    conditions: list[tuple[PosDict, Problems, str, dict[str, str]]] = []
    for i, item in enumerate(policies):
        found = _inline_or_ref(item, "alertPolicyRef", "AlertPolicy", index, policies.item_pos[i],
                               f"spec.alertPolicies[{i}]", p)
        if found is None:
            return None
        policy, pp, path = found
        pspec = _mapping(policy.get("spec"), policy.pos, path, pp)
        items = pspec.get("conditions") if pspec is not None else None
        if not isinstance(items, PosList):
            pp.error(policy.pos, f"{path}.conditions", "an alert policy needs conditions")
            return None
        for j, item in enumerate(items):
            found = _inline_or_ref(item, "conditionRef", "AlertCondition", index, items.item_pos[j],
                                   f"{path}.conditions[{j}]", pp)
            if found is None:
                return None
            cond, cp, cpath = found
            meta = cond.get("metadata")
            conditions.append((cond, cp, cpath, _labels(meta.get("labels") if isinstance(meta, PosDict) else None)))
    return _conditions(conditions, objective, window, draft, at)


def _inline_or_ref(item: Any, ref_key: str, kind: str, index: dict[tuple[str, str], _Doc], pos: Pos, path: str,
                   p: Problems) -> tuple[PosDict, Problems, str] | None:
    """An object written inline, or the document its ``ref_key`` names: with the problems and path to report
    its fields under (``spec`` of the other document, or ``<path>.spec`` inline)."""
    if not isinstance(item, PosDict):
        p.error(pos, path, f"an {kind} must be a mapping")
        return None
    if ref_key not in item:
        return item, p, f"{path}.spec"
    ref = index.get((kind, str(item[ref_key])))
    if ref is None:
        p.error(pos, path, f"no {kind} document named {item[ref_key]!r}")
        return None
    return ref.raw, ref.problems, "spec"


@dataclass(frozen=True)
class _Burn:
    severity: str
    factor: Fraction
    lookback: Duration
    alert_after: Duration
    rollback: bool
    description: str


def _conditions(conditions: list[tuple[PosDict, Problems, str, dict[str, str]]], objective: Fraction,
                window: Duration, draft: Draft, at: tuple[str | int, ...]) -> dict[str, Any] | None:
    burns: list[_Burn] = []
    for cond, p, path, labels in conditions:
        spec = _mapping(cond.get("spec"), cond.pos, path, p)
        c = _mapping(spec.get("condition") if spec else None, cond.pos, f"{path}.condition", p)
        if spec is None or c is None:
            return None
        if c.get("kind") != "burnrate":
            p.error(value_pos(c, "kind"), f"{path}.condition.kind",
                    f"alert condition kind {c.get('kind')!r}: slokit converts burnrate conditions only")
            return None
        if c.get("op", "gt") not in ("gt", "gte"):
            p.error(value_pos(c, "op"), f"{path}.condition.op",
                    "slokit alerts when the burn rate is above a threshold (op gt or gte), not below")
            return None
        severity = SEVERITIES.get(str(spec.get("severity", "")).lower())
        if severity is None:
            p.error(value_pos(spec, "severity"), f"{path}.severity",
                    f"severity {spec.get('severity')!r} does not say page or ticket "
                    f"(known: {', '.join(SEVERITIES)})")
            return None
        threshold = c.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
            p.error(value_pos(c, "threshold"), f"{path}.condition.threshold", "must be a positive burn rate")
            return None
        lookback = _shorthand(c.get("lookbackWindow"), value_pos(c, "lookbackWindow"),
                              f"{path}.condition.lookbackWindow", p)
        after = _shorthand(c.get("alertAfter", "0m"), value_pos(c, "alertAfter"), f"{path}.condition.alertAfter", p)
        if lookback is None or after is None:
            return None
        burns.append(_Burn(severity, Fraction(str(threshold)), lookback, after, labels.get("rollback") == "true",
                           str(spec.get("description", ""))))
    probe = SLO(name="probe", objective=objective, window=window, sli=RatioQueries("x"))
    tiers = burnrate.plan(probe)[0]
    if len(burns) >= len(tiers) and all(any(_is_tier(b, t) for b in burns) for t in tiers):
        rest = [b for b in burns if not any(_is_tier(b, t) for t in tiers)]
    else:
        rest = burns
        draft.note((*at, "name"), "The OpenSLO alert policies are not slokit's burn-rate tiers: each condition "
                                  "is a guardrail on its lookback window, and burn_rate is off.")
    out: dict[str, Any] = {} if rest is not burns else {"burn_rate": False}
    alerts = []
    for b in rest:
        ratio = b.factor * (1 - objective)
        if ratio >= 1:
            draft.note((*at, "name"), f"Left out: burn rate {decimal(b.factor)} over {b.lookback} needs more than "
                                      "100 % of events to fail.")
            continue
        alert: dict[str, Any] = {"error_ratio_above": f"{decimal(ratio * 100)}%", "window": str(b.lookback),
                                 "for": str(b.alert_after), "severity": b.severity}
        if b.rollback:
            alert["rollback"] = True
        if b.description:
            alert["description"] = b.description
        alerts.append(alert)
    if alerts:
        out["alerts"] = alerts
    return out


def _is_tier(b: _Burn, t: burnrate.ActiveTier) -> bool:
    return (b.severity == t.tier.severity and b.lookback == t.tier.long and not b.alert_after.ms
            and abs(b.factor - t.factor) < _FACTOR_TOLERANCE)


def _shorthand(text: Any, pos: Pos, path: str, p: Problems) -> Duration | None:
    m = _SHORTHAND.match(str(text))
    if m is None or m.group(2) not in _SHORTHAND_MS:
        p.error(pos, path, f"{text!r} is not a duration in minutes, hours, days or weeks (5m, 1h, 1d, 1w)")
        return None
    return Duration(int(m.group(1)) * _SHORTHAND_MS[m.group(2)])
