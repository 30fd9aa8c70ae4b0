"""Where generated things live once published: runbook pages, their anchors, dashboard uids and URLs.

Rules annotations, Alertmanager messages, dashboards and runbooks all link to each other; computing every
link here keeps them pointing at the same places.
"""

from __future__ import annotations

import hashlib
import re

from slokit.spec.model import SLO, Service

RUNBOOKS_DIR = "runbooks"
#: What each ``runbook_format`` publishes: the Markdown tree ``slokit generate`` writes, or the site of
#: ``slokit runbooks --html`` (the same pages and anchors, ``.html`` instead of ``.md``).
PAGE_SUFFIX = {"md": ".md", "html": ".html"}
OVERVIEW_UID = "slokit-overview"
_UID_MAX = 40  # Grafana's limit on dashboard uids


def runbook_page(service: Service, slo: SLO) -> str:
    """Path of the SLO's runbook page relative to the runbooks folder."""
    return f"{service.name}/{slo.name}.md"


def runbook_base(service: Service) -> str:
    """Where this service's pages are published: the spec's ``runbook_url`` (the service's folder, so the
    service is not repeated under it); without one, the service's folder of the repo's ``runbooks/``."""
    return (service.runbook_url or f"{RUNBOOKS_DIR}/{service.name}").rstrip("/")


def published_page(slo: SLO, runbook_format: str) -> str:
    """The SLO's page name under :func:`runbook_base` in the published format (``availability.html``)."""
    return f"{slo.name}{PAGE_SUFFIX[runbook_format]}"


def runbook_url(service: Service, slo: SLO, anchor: str | None = None) -> str:
    """``<runbook base>/<slo>.md`` or ``.html`` (the spec's ``runbook_format``), plus ``#anchor``."""
    url = f"{runbook_base(service)}/{published_page(slo, service.runbook_format)}"
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
    """Grafana's ``/d/<uid>/<slug>`` address, absolute when the spec names Grafana's URL.

    A relative address still works where Grafana serves it (dashboard links, the overview), not elsewhere.
    """
    base = (service.grafana_url or "").rstrip("/")
    return f"{base}/d/{dashboard_uid(service)}/{slug(dashboard_title(service))}"


def notification_dashboard_url(service: Service) -> str | None:
    """The dashboard address for alerts and notifications, which are read outside Grafana: only an
    absolute one; None without ``grafana.url``, so the link is left out instead of sent dead."""
    return dashboard_url(service) if service.grafana_url else None


def dashboard_link_problem(service: Service) -> str | None:
    """Why the service's notifications carry no dashboard link, when it routes any; None when they do."""
    routed = any(r is not None and (r.pagerduty or r.slack) for r in (service.routing.page, service.routing.ticket))
    if service.grafana_url or not routed:
        return None
    return ("grafana.url is not set: the dashboard address is relative "
            f"({dashboard_url(service)}), which is dead outside Grafana, so PagerDuty and Slack notifications "
            "carry no dashboard link; set grafana.url to Grafana's base URL (e.g. https://grafana.example.com) "
            "before the alerts reach people (expected while you try slokit without a Grafana of your own)")
