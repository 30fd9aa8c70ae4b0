"""Sloth specs into slokit specs: ``version: prometheus/v1`` files and Kubernetes ``PrometheusServiceLevel``s.

Sloth (github.com/slok/sloth, v0.16) writes the same SLO model twice: snake_case keys in its own files,
camelCase in the Kubernetes resource. Both are read here (keys are compared in snake_case), one slokit
service per document. Everything Sloth expresses that slokit has too is carried over; what slokit does
differently is written as a comment beside the value; what slokit cannot do (SLI plugins, which are Go code,
and plugins that change the rules' semantics) is an error at the line of the construct, and the file is
not converted.
"""

from __future__ import annotations

import re
from typing import Any

from slokit.importers.draft import (
    Draft,
    ImportResult,
    Problems,
    key_pos,
    label_text,
    may_be_secret,
    name_from,
    query_with_placeholder,
    shown,
    split_labels,
    valid_name,
    value_pos,
)
from slokit.spec.yamlpos import PosDict, PosList, load_all

PROMETHEUS_V1 = "prometheus/v1"
K8S_API_VERSION = "sloth.slok.dev/v1"
K8S_KIND = "PrometheusServiceLevel"

#: SLO plugins that change nothing slokit generates differently, and why the import may drop them.
NEUTRAL_PLUGINS: dict[str, str] = {
    "sloth.dev/core/debug/v1": "only logs while Sloth generates; the rules are the same without it",
    "sloth.dev/core/sli_rules/v1": "Sloth's own SLI rules, which slokit's recording rules replace",
    "sloth.dev/core/metadata_rules/v1": "Sloth's own metadata rules, which slokit's metadata rules replace",
    "sloth.dev/core/alert_rules/v1": "Sloth's own burn-rate alerts, which slokit's burn-rate alerts replace",
    "sloth.dev/contrib/denominator_corrected_rules/v1": (
        "slokit's long-window ratios are already the sum of bad events over the sum of all events, which is "
        "what this plugin corrects Sloth's average of 5m ratios into"),
    "sloth.dev/contrib/info_labels/v1": (
        "adds labels to sloth_slo_info; slokit's info series is slokit_slo_info, with slokit's own labels"),
    "sloth.dev/contrib/rule_intervals/v1": (
        "sets the rule groups' interval; slokit chooses one per group, or the service's evaluation_interval"),
}

#: SLO plugins whose rules slokit cannot reproduce, and why.
REFUSED_PLUGINS: dict[str, str] = {
    "sloth.dev/contrib/validate_victoria_metrics/v1": (
        "the SLO is written for VictoriaMetrics: its queries are MetricsQL (histogram_share, range selectors "
        "on expressions), which Prometheus cannot evaluate, and slokit generates Prometheus rules"),
}


def _snake(key: Any) -> Any:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower() if isinstance(key, str) else key


class _Node:
    """A Sloth mapping read by snake_case field names, remembering positions and its field path."""

    def __init__(self, raw: PosDict, path: str, problems: Problems, known: tuple[str, ...]) -> None:
        self.raw, self.path, self.problems = raw, path, problems
        self.keys = {_snake(k): k for k in raw}
        for snake, written in self.keys.items():
            if snake not in known:
                problems.error(raw.key_pos[written], self.sub(str(written)),
                               f"unknown Sloth field {written!r} (known: {', '.join(known)})")

    def sub(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.keys

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw[self.keys[name]] if name in self.keys else default

    def pos(self, name: str) -> tuple[int, int]:
        return value_pos(self.raw, self.keys.get(name, name))

    def key(self, name: str) -> tuple[int, int]:
        return key_pos(self.raw, self.keys.get(name, name))

    def child(self, name: str, known: tuple[str, ...]) -> _Node | None:
        value = self.get(name)
        if value is None:
            return None
        if not isinstance(value, PosDict):
            self.problems.error(self.pos(name), self.sub(name), "must be a mapping")
            return None
        return _Node(value, self.sub(self.keys[name]), self.problems, known)

    def text(self, name: str, required: bool = False) -> str | None:
        value = self.get(name)
        if value is None:
            if required:
                self.problems.error(self.raw.pos, self.path or "(document)", f"{name} is required")
            return None
        if isinstance(value, PosDict | PosList):
            self.problems.error(self.pos(name), self.sub(name), "must be a string")
            return None
        return label_text(value)

    def labels(self, name: str) -> dict[str, str]:
        value = self.get(name)
        if value is None:
            return {}
        if not isinstance(value, PosDict):
            self.problems.error(self.pos(name), self.sub(name), "must be a mapping of label names to values")
            return {}
        return {str(k): label_text(v) for k, v in value.items()}


_SPEC_FIELDS = ("version", "service", "labels", "slos", "slo_plugins")
_SLO_FIELDS = ("name", "objective", "description", "labels", "sli", "alerting", "plugins")
_ALERT_FIELDS = ("name", "labels", "annotations", "page_alert", "ticket_alert")
_TIER_FIELDS = ("disable", "labels", "annotations")
_PLUGINS_FIELDS = ("override_previous", "chain")


def convert(file: str, text: str, owner: str | None = None) -> ImportResult:
    """Every document of a Sloth file as a draft spec; ``owner`` is used when the spec's labels name none."""
    result = ImportResult()
    problems = Problems(file)
    for doc in load_all(text, file):
        for p in doc.problems:
            problems.error(p.pos, "", p.message)
        if doc.data is None:
            continue
        if not isinstance(doc.data, PosDict):
            problems.error((1, 1), "", "a Sloth document must be a mapping")
            continue
        draft = _document(doc.data, file, problems, owner)
        if draft is not None:
            result.drafts.append(draft)
    if not result.drafts and not problems.items:
        problems.error((1, 1), "", "no Sloth document in this file")
    result.diagnostics = problems.items
    return result


def _document(raw: PosDict, file: str, problems: Problems, owner: str | None) -> Draft | None:
    api = raw.get("apiVersion")
    if api is not None:
        kind = raw.get("kind")
        if api != K8S_API_VERSION or kind != K8S_KIND:
            hint = " (for OpenSLO documents use slokit import openslo)" if str(api).startswith("openslo/") else ""
            problems.error(value_pos(raw, "apiVersion"), "apiVersion",
                           f"{api}/{kind} is not a Sloth spec: expected version: {PROMETHEUS_V1} or "
                           f"apiVersion: {K8S_API_VERSION} with kind: {K8S_KIND}{hint}")
            return None
        spec = raw.get("spec")
        if not isinstance(spec, PosDict):
            problems.error(value_pos(raw, "spec"), "spec", f"a {K8S_KIND} needs a spec mapping")
            return None
        node = _Node(spec, "spec", problems, _SPEC_FIELDS)
        meta = raw.get("metadata")
        where = f"Kubernetes resource {meta.get('namespace', 'default')}/{meta.get('name')}" if isinstance(
            meta, PosDict) else f"a {K8S_KIND}"
    else:
        node = _Node(raw, "", problems, _SPEC_FIELDS)
        version = node.text("version", required=True)
        if version is not None and version != PROMETHEUS_V1:
            problems.error(node.pos("version"), "version",
                           f"Sloth spec version {version!r} is not supported; expected {PROMETHEUS_V1!r}")
            return None
        where = ""
    return _service(node, file, problems, owner, where)


def _service(node: _Node, file: str, problems: Problems, owner: str | None, where: str) -> Draft | None:
    service = node.text("service", required=True)
    if service is None:
        return None
    draft = Draft(service=service, source=file, data={})
    if where:
        draft.note(("service",), f"From the {where}.")
    if not valid_name(service):
        draft.note(("service",), f"Sloth's service {service!r}, renamed to a slokit name.")
        service = draft.service = name_from(service)
    draft.data["service"] = service
    labels = node.labels("labels")
    team = labels.pop("owner", None) or labels.pop("team", None)
    draft.data["owner"] = _owner(draft, team or owner or service, team is not None or owner is not None)
    kept, dropped = split_labels(labels)
    if kept:
        draft.data["labels"] = kept
    draft.note_dropped(("owner",), dropped)
    _plugins(node, "slo_plugins", draft, ("owner",))
    draft.note(("slos",), "Sloth routes alerts by their labels; slokit routes by severity: add routing.page and "
                          "routing.ticket (see docs/routing.md).")
    slos = node.get("slos")
    if not isinstance(slos, PosList) or not slos:
        problems.error(node.pos("slos"), node.sub("slos"), "must be a non-empty list of SLOs")
        return None
    out: list[dict[str, Any]] = []
    for i, raw_slo in enumerate(slos):
        path = node.sub(f"slos[{i}]")
        if not isinstance(raw_slo, PosDict):
            problems.error(slos.item_pos[i], path, "an SLO must be a mapping")
            continue
        out.append(_slo(_Node(raw_slo, path, problems, _SLO_FIELDS), draft, i))
    draft.data["slos"] = out
    return draft


def _owner(draft: Draft, team: str, given: bool) -> str:
    if not given:
        draft.note(("owner",), "Sloth names no owner (no 'owner' or 'team' label): set the owning team.")
    if not valid_name(team):
        draft.note(("owner",), f"Owner {team!r}, renamed to a slokit name.")
        return name_from(team)
    return team


def _plugins(node: _Node, name: str, draft: Draft, at: tuple[str | int, ...]) -> None:
    plugins = node.child(name, _PLUGINS_FIELDS)
    if plugins is None:
        return
    chain = plugins.get("chain", PosList(plugins.raw.pos))
    if not isinstance(chain, PosList):
        node.problems.error(plugins.pos("chain"), plugins.sub("chain"), "must be a list of plugins")
        return
    for i, item in enumerate(chain):
        pid = item.get("id") if isinstance(item, PosDict) else None
        where, path = chain.item_pos[i], plugins.sub(f"chain[{i}].id")
        if pid in REFUSED_PLUGINS:
            node.problems.error(where, path, f"SLO plugin {pid} cannot be converted: {REFUSED_PLUGINS[pid]}")
        elif pid in NEUTRAL_PLUGINS:
            draft.note(at, f"Sloth plugin {pid} left out: {NEUTRAL_PLUGINS[pid]}.")
        else:
            node.problems.error(where, path, f"SLO plugin {pid!r} is Go code that changes Sloth's rules; slokit "
                                             "cannot tell what it generates: remove it, or write its effect in "
                                             "the SLI's queries")


def _slo(node: _Node, draft: Draft, i: int) -> dict[str, Any]:
    here: tuple[str | int, ...] = ("slos", i)
    name = node.text("name", required=True) or f"slo-{i}"
    slo: dict[str, Any] = {}
    if not valid_name(name):
        draft.note((*here, "name"), f"Sloth's SLO name {name!r}, renamed to a slokit name.")
        name = name_from(name)
    slo["name"] = name
    description = node.text("description")
    if description:
        slo["description"] = description
    objective = node.get("objective")
    if isinstance(objective, bool) or not isinstance(objective, int | float) or not 0 < objective <= 100:
        node.problems.error(node.pos("objective"), node.sub("objective"),
                            f"objective must be a number in (0, 100], got {objective!r}")
    slo["objective"] = objective
    sli = _sli(node, draft, here)
    if sli is not None:
        slo["sli"] = sli
    labels = node.labels("labels")
    alerting = node.child("alerting", _ALERT_FIELDS)
    if alerting is not None:
        _alerting(alerting, draft, here, labels, slo)
    kept, dropped = split_labels(labels)
    if kept:
        slo["labels"] = kept
    draft.note_dropped((*here, "name"), dropped)
    _plugins(node, "plugins", draft, (*here, "name"))
    return slo


def _sli(node: _Node, draft: Draft, here: tuple[str | int, ...]) -> dict[str, Any] | None:
    sli = node.child("sli", ("events", "raw", "plugin"))
    if sli is None:
        node.problems.error(node.raw.pos, node.path, "sli is required")
        return None
    if sli.has("plugin"):
        plugin = sli.get("plugin")
        pid = plugin.get("id") if isinstance(plugin, PosDict) else None
        node.problems.error(sli.key("plugin"), sli.sub("plugin"),
                            f"SLI plugin {pid!r} cannot be converted: Sloth SLI plugins are Go code run by "
                            "Sloth, and slokit has no plugins; write its queries as sli.events")
        return None
    events = sli.child("events", ("error_query", "total_query"))
    if events is not None:
        bad = _query(events, "error_query")
        total = _query(events, "total_query")
        return None if bad is None or total is None else {"ratio": {"bad": bad, "total": total}}
    raw = sli.child("raw", ("error_ratio_query",))
    if raw is not None:
        ratio = _query(raw, "error_ratio_query")
        if ratio is None:
            return None
        draft.note((*here, "sli"),
                   "Sloth raw SLI: the error ratio query is the 'bad' rate and a constant 1 (present whenever the "
                   "ratio is) the 'total', so each window's ratio is the time average of the 5m ratios, where "
                   "Sloth evaluates the ratio query over the whole window.")
        return {"ratio": {"bad": ratio, "total": f"({ratio}) * 0 + 1"}}
    node.problems.error(sli.raw.pos, sli.path, "sli needs events (error_query, total_query) or raw")
    return None


def _query(node: _Node, name: str) -> str | None:
    text = node.text(name, required=True)
    if text is None:
        return None
    query = query_with_placeholder(text)
    if query is None:
        node.problems.error(node.pos(name), node.sub(name),
                            "the query has no {{.window}} placeholder, so it cannot be evaluated per window")
    return query


def _alerting(alerting: _Node, draft: Draft, here: tuple[str | int, ...], labels: dict[str, str],
              slo: dict[str, Any]) -> None:
    notes: list[str] = []
    name = alerting.text("name")
    if name:
        notes.append(f"Sloth alert name {name}: slokit names its alerts itself (see the runbook page).")
    for key, value in alerting.labels("labels").items():
        if may_be_secret(key, value):
            notes.append(f"Sloth alert label {key} left out: it may hold a secret, and spec labels are on every "
                         "rule (put secrets in routing's *_file fields).")
        elif key in labels:
            if labels[key] != value:
                notes.append(f"Sloth alert label {key}={value!r} left out: the SLO label has another value.")
        else:
            labels[key] = value
            notes.append(f"Sloth alert label {key}={value!r} is an SLO label here (it is on the recorded series "
                         "too).")
    annotations = alerting.labels("annotations")
    if annotations:
        notes.append(f"Sloth alert annotations not carried over (slokit writes summary, description and "
                     f"runbook_url itself): {shown(annotations)}.")
    disabled: dict[str, bool] = {}
    for tier, severity in (("page_alert", "page"), ("ticket_alert", "ticket")):
        t = alerting.child(tier, _TIER_FIELDS)
        if t is None:
            disabled[severity] = False
            continue
        disabled[severity] = t.get("disable") is True
        tier_labels = t.labels("labels")
        if tier_labels and not disabled[severity]:
            notes.append(f"Sloth {tier} labels {shown(tier_labels)}: slokit's {severity} alerts carry "
                         f"severity={severity} and reach routing.{severity}.")
    if disabled["page"] and disabled["ticket"]:
        slo["burn_rate"] = False
        notes.append("Sloth disables both alerts: burn_rate: false.")
    elif disabled["page"] or disabled["ticket"]:
        which = "page_alert" if disabled["page"] else "ticket_alert"
        t = alerting.child(which, _TIER_FIELDS)
        assert t is not None
        alerting.problems.error(t.pos("disable"), t.sub("disable"),
                                f"slokit cannot disable only the {which.removesuffix('_alert')} burn-rate alerts: "
                                "its tiers are on or off together (burn_rate); disable both or neither")
    for note in notes:
        draft.note((*here, "name"), note)
