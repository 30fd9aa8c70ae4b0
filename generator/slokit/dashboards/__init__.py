"""Grafana dashboards: one per service, the overview, and a file-provisioning config.

Outputs (paths relative to the output root):
``dashboards/<service>.json`` and ``dashboards/slo-overview.json`` are bare dashboard models, as
Grafana's file provisioning reads them (``slokit push`` wraps them for the HTTP API);
``dashboards/provisioning.yaml`` is the provider config (layout in ``provisioning``).
"""

from __future__ import annotations

from collections.abc import Sequence

from slokit.artifacts import Artifacts, Options
from slokit.dashboards import overview, provisioning, service
from slokit.dashboards.grafana import to_text
from slokit.dashboards.overview import overview_folder
from slokit.spec.model import Service

DIR = "dashboards"
OVERVIEW_FILE = "slo-overview.json"
PROVISIONING_FILE = "provisioning.yaml"

__all__ = ["DIR", "OVERVIEW_FILE", "PROVISIONING_FILE", "emit", "file_name", "overview_folder"]


def file_name(svc: Service) -> str:
    return f"{svc.name}.json"


def emit(services: Sequence[Service], options: Options) -> Artifacts:
    """Every dashboard file for ``services``; nothing when there are none."""
    del options  # dashboards do not depend on the rule-file flavour
    if not services:
        return {}
    ordered = sorted(services, key=lambda s: s.name)
    out: Artifacts = {}
    for svc in ordered:
        if file_name(svc) == OVERVIEW_FILE:
            raise ValueError(f"service name {svc.name!r} is reserved for the SLO overview dashboard")
        out[f"{DIR}/{file_name(svc)}"] = to_text(service.build(svc))
    out[f"{DIR}/{OVERVIEW_FILE}"] = to_text(overview.build(ordered))
    out[f"{DIR}/{PROVISIONING_FILE}"] = provisioning.build(
        ordered, OVERVIEW_FILE, overview_folder(ordered), {s.name: file_name(s) for s in ordered}
    )
    return out
