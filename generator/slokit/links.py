"""Where generated things live once published: runbook pages, their anchors, dashboard uids and URLs.

Rules annotations, Alertmanager messages, dashboards and runbooks all link to each other; computing every
link here keeps them pointing at the same places.
"""

from __future__ import annotations

import hashlib
import re

from slokit.spec.model import SLO, Service

RUNBOOKS_DIR = "runbooks"
OVERVIEW_UID = "slokit-overview"
_UID_MAX = 40  # Grafana's limit on dashboard uids


def runbook_page(service: Service, slo: SLO) -> str:
    """Path of the SLO's runbook page relative to the runbooks folder."""
    return f"{service.name}/{slo.name}.md"


def runbook_url(service: Service, slo: SLO, anchor: str | None = None) -> str:
    """The spec's ``runbook_url`` is where the runbooks folder is published; without one, a repo-relative path."""
    base = (service.runbook_url or RUNBOOKS_DIR).rstrip("/")
    url = f"{base}/{runbook_page(service, slo)}"
    return f"{url}#{anchor}" if anchor else url


def slug(text: str) -> str:
    """An anchor or URL slug: lower case, runs of anything but letters and digits become one dash."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def dashboard_uid(service: Service) -> str:
    """Stable per service, so a push updates the same dashboard; hashed when the name is too long."""
    uid = f"slokit-{service.name}"
    if len(uid) <= _UID_MAX:
        return uid
    digest = hashlib.sha256(service.name.encode()).hexdigest()[:8]
    return f"{uid[: _UID_MAX - 9]}-{digest}"


def dashboard_title(service: Service) -> str:
    return f"SLOs / {service.name}"


def dashboard_url(service: Service) -> str:
    """Grafana's ``/d/<uid>/<slug>`` address, absolute when the spec names Grafana's URL."""
    base = (service.grafana_url or "").rstrip("/")
    return f"{base}/d/{dashboard_uid(service)}/{slug(dashboard_title(service))}"
