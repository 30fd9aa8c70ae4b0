"""Rule files on disk, one shape per evaluating engine (``slokit generate --target``).

Every target carries the same rule groups; the plain ``<service>.rules.yml`` and its promtool test files are
always written (``slokit check`` and the tests run on them), the target's own file comes in addition:

* ``prometheus``: nothing more (the plain file is Prometheus' own format);
* ``prometheus-operator``: a ``PrometheusRule`` object, with ``--rule-label`` labels for its ``ruleSelector``;
* ``mimir``: a Mimir/Cortex ruler namespace (``mimirtool rules load``);
* ``thanos-ruler``: the groups with ``partial_response_strategy: abort``. Thanos Ruler queries through the
  querier; with ``warn`` a store that does not answer leaves its series out of a ratio and the rule records
  a wrong number (kept for the whole SLO window) or drops a burning alert silently. ``abort`` turns a partial
  answer into a failed evaluation: no sample (no data, never "met") and an error the ruler reports;
* ``vmalert``: the groups for VictoriaMetrics' vmalert (``vmalert -dryRun`` accepts them); every result is a
  ``sum`` without ``__name__`` (one series per SLO and group, never two that differ only by name) and the
  latency SLI matches ``le`` by value (``promql.le_regex``), however the scraper spelled it.

The remote-write profile (``--remote-write``) delays each group's evaluation by ``query_offset`` (Prometheus
2.53+; ``eval_delay`` for vmalert) so that rules do not read the newest minute still in flight from the agents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from slokit.artifacts import Artifacts, Options
from slokit.rules.build import Group, service_groups
from slokit.rules.testgen import FAST_STEP, HEADER, STEADY_STEP, steady_test_file, test_file
from slokit.spec.model import Service
from slokit.spec.units import Duration

TARGETS: tuple[str, ...] = ("prometheus", "prometheus-operator", "mimir", "thanos-ruler", "vmalert")
ALERTS_DIR = "alerts"
#: ``query_offset`` of the remote-write profile: agents send every few seconds (Prometheus' remote-write
#: queue flushes within 5 s) but a scrape, a full queue or a retry after a brief outage can hold samples
#: back by tens of seconds; one minute covers that, and is what a 1m evaluation interval can afford (a page
#: comes at most one minute later). Mimir's ruler applies the same delay by default.
DEFAULT_QUERY_OFFSET = Duration.parse("1m")
#: Thanos Ruler's answer to a partial query: a failed evaluation, not a rule over partial data.
PARTIAL_RESPONSE_STRATEGY = "abort"


class TargetError(ValueError):
    """A target and an option that cannot go together; the message says why and what to use instead."""


_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_:./()\[\]{}<>=~!+*$|,' -]*$")
_YAML11_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if "e" not in text and "n" not in text else f"{value:.20f}".rstrip("0")
    assert isinstance(value, str), value
    if (_PLAIN.match(value) and ": " not in value and " #" not in value and not value.endswith((" ", ":"))
            and value.lower() not in _YAML11_WORDS and not value.startswith(("{", "[", "|", "*", "!"))):
        return value
    if value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=False)


def _block(value: str, indent: str) -> str | None:
    """A ``|-`` literal block for multi-line text (readable PromQL), when its lines allow one."""
    lines = value.split("\n")
    if any(not line or line != line.strip() or "\t" in line or "\r" in line for line in lines):
        return None
    return "|-\n" + "\n".join(indent + line for line in lines)


def _emit(data: object, indent: str, out: list[str]) -> None:
    """Block-style YAML of dicts, lists and scalars, written directly: PyYAML's emitter is the slow part."""
    if isinstance(data, dict):
        if not data:
            out.append(" {}\n")
            return
        out.append("\n")
        for key, value in data.items():
            k = key if _KEY.match(key) and key.lower() not in _YAML11_WORDS else json.dumps(key)
            out.append(f"{indent}{k}:")
            _value(value, indent, out)
        return
    raise TypeError(data)


def _value(value: object, indent: str, out: list[str]) -> None:
    if isinstance(value, dict):
        _emit(value, indent + "  ", out)
    elif isinstance(value, list):
        if not value:
            out.append(" []\n")
            return
        out.append("\n")
        for item in value:
            if isinstance(item, dict) and item:
                first = True
                for key, v in item.items():
                    k = key if _KEY.match(key) and key.lower() not in _YAML11_WORDS else json.dumps(key)
                    out.append(f"{indent}- {k}:" if first else f"{indent}  {k}:")
                    _value(v, indent + "  ", out)
                    first = False
            else:
                out.append(f"{indent}-")
                _value(item, indent + "  ", out)
    elif isinstance(value, str) and "\n" in value:
        block = _block(value, indent + "  ")
        out.append(" " + (block if block is not None else _scalar(value)) + "\n")
    else:
        out.append(" " + _scalar(value) + "\n")


def dump(data: dict[str, Any], header: str = "") -> str:
    """YAML text of ``data`` (a mapping at the top); ``yaml.safe_load`` of it gives ``data`` back."""
    out: list[str] = [header]
    for key, value in data.items():
        out.append(f"{key}:")
        _value(value, "", out)
    return "".join(out)


def rules_path(service: Service) -> str:
    return f"{ALERTS_DIR}/{service.name}.rules.yml"


def test_path(service: Service) -> str:
    return f"{ALERTS_DIR}/{service.name}.rules.test.yml"


def steady_test_path(service: Service) -> str:
    return f"{ALERTS_DIR}/{service.name}.rules.steady.test.yml"


def operator_path(service: Service) -> str:
    return f"{ALERTS_DIR}/{service.name}.prometheusrule.yml"


def mimir_path(service: Service) -> str:
    return f"{ALERTS_DIR}/{service.name}.mimir.yml"


def thanos_path(service: Service) -> str:
    return f"{ALERTS_DIR}/{service.name}.thanos-ruler.yml"


def vmalert_path(service: Service) -> str:
    return f"{ALERTS_DIR}/{service.name}.vmalert.yml"


def remote_write_path(service: Service) -> str:
    return f"{ALERTS_DIR}/{service.name}.remote-write.yml"


def generated_header(service: Service) -> str:
    return f"# Generated by slokit from {service.source} (service {service.name}); do not edit.\n"


def k8s_name(service: Service) -> str:
    """A DNS-1123 object name: service names may hold underscores, Kubernetes names may not."""
    return "slokit-" + re.sub(r"[^a-z0-9-]", "-", service.name.lower()).strip("-")


def prometheus_rule(service: Service, groups: list[Group],
                    extra_labels: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """A PrometheusRule object; ``extra_labels`` are what the Operator's ``ruleSelector`` matches (the
    kube-prometheus-stack chart selects ``release: <its release name>``), and may not replace slokit's own."""
    labels = {"app.kubernetes.io/managed-by": "slokit", "app.kubernetes.io/part-of": k8s_name(service)}
    for key, value in extra_labels:
        if key in labels:
            raise TargetError(f"--rule-label {key}: slokit sets this label itself")
        labels[key] = value
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": k8s_name(service), "labels": labels},
        "spec": {"groups": groups},
    }


def with_fields(groups: list[Group], **fields: str) -> list[Group]:
    """Copies of ``groups`` with ``fields`` set on each, after name and interval (where readers look)."""
    out = []
    for g in groups:
        head = {k: v for k, v in g.items() if k != "rules"}
        out.append({**head, **fields, "rules": g["rules"]})
    return out


def mimir_namespace(service: Service, groups: list[Group]) -> dict[str, Any]:
    return {"namespace": service.name, "groups": groups}


def _target_file(service: Service, groups: list[Group], options: Options, header: str) -> Artifacts:
    """The target's own file of one service (none for ``prometheus`` without the remote-write profile)."""
    target, offset = options.rules_format, options.query_offset
    if offset is not None and target == "thanos-ruler":
        raise TargetError("--remote-write: Thanos Ruler has no query_offset (it queries through the querier, "
                          "which sees what the receivers have); generate --target thanos-ruler without it")
    if offset is not None and target == "mimir":
        raise TargetError("--remote-write: Mimir's ruler delays every evaluation by its tenant limit "
                          "ruler_evaluation_delay_duration (1m by default); generate --target mimir without it")
    if options.rule_labels and target != "prometheus-operator":
        raise TargetError("--rule-label labels the PrometheusRule object: use it with --target prometheus-operator")
    offset_note = ("# Remote-write profile: every group evaluates query_offset in the past (Prometheus 2.53 or later;\n"
                   "# Prometheus 2.42 refuses the field: there use the plain rule file).\n")
    if target == "prometheus":
        if offset is None:
            return {}
        shaped = with_fields(groups, query_offset=str(offset))
        return {remote_write_path(service): dump({"groups": shaped}, header + offset_note)}
    if target == "prometheus-operator":
        shaped = groups if offset is None else with_fields(groups, query_offset=str(offset))
        obj = prometheus_rule(service, shaped, options.rule_labels)
        return {operator_path(service): dump(obj, header + (offset_note if offset is not None else ""))}
    if target == "mimir":
        return {mimir_path(service): dump(mimir_namespace(service, groups), header)}
    if target == "thanos-ruler":
        shaped = with_fields(groups, partial_response_strategy=PARTIAL_RESPONSE_STRATEGY)
        return {thanos_path(service): dump({"groups": shaped}, header)}
    # vmalert: its groups take eval_delay (its -rule.evalDelay flag, 30s by default, applies otherwise).
    shaped = groups if offset is None else with_fields(groups, eval_delay=str(offset))
    return {vmalert_path(service): dump({"groups": shaped}, header)}


def emit_rules(services: Sequence[Service], options: Options) -> Artifacts:
    """The pipeline emitter: rule file and promtool tests per service, plus the chosen target's file."""
    if options.rules_format not in TARGETS:
        raise TargetError(f"unknown rules format {options.rules_format!r} (--target: one of {', '.join(TARGETS)})")
    out: Artifacts = {}
    for service in services:
        groups = service_groups(service)
        header = generated_header(service)
        out[rules_path(service)] = dump({"groups": groups}, header)
        rule_file = f"{service.name}.rules.yml"
        out[test_path(service)] = dump(test_file(service, rule_file), header + f"# {HEADER[FAST_STEP]}\n")
        out[steady_test_path(service)] = dump(steady_test_file(service, rule_file),
                                              header + f"# {HEADER[STEADY_STEP]}\n")
        out.update(_target_file(service, groups, options, header))
    return out
