"""Which receiver each service's alerts of each severity reach: the routing plan, decided once.

The emitter turns the plan into a route tree and the checker turns it into ``amtool config routes test``
expectations, so both read the same decisions:

- Routes are per team (the alert label ``team`` = the spec's ``owner``), then per severity.
- Services of one team that give the same routing for a severity share one receiver, ``<team>/<severity>``.
- When a team's services disagree for a severity (different PagerDuty keys or Slack channels, or one gives
  routing and another none), each service gets its own receiver, ``<team>/<service>/<severity>``, under
  a ``service`` matcher. Generating never fails for that: two services of one team paging different
  PagerDuty services is legitimate, and merging them would page the wrong one.
- A severity without routing goes to the team's placeholder receiver ``<team>/unrouted`` (no
  integration): visible by name in Alertmanager's UI and in ``amtool`` output, and warned about by
  ``validate`` and ``check``. It is not borrowed from the team's other services either, so a service's
  routing depends on its own spec alone, not on which other files happen to be loaded with it.
- Alerts that match no team (not from slokit) reach the root placeholder ``unrouted``.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slokit import links
from slokit.links import slug
from slokit.spec.model import SEVERITIES, Receiver, Service, Severity

#: Receives alerts that no spec routes; it has no integration, so it notifies nobody (and says so).
PLACEHOLDER = "unrouted"


def placeholder(team_token: str | None = None) -> str:
    """The placeholder receiver of a team (its name token), or the root one."""
    return f"{team_token}/{PLACEHOLDER}" if team_token else PLACEHOLDER


def is_placeholder(name: str) -> bool:
    return name.rsplit("/", 1)[-1] == PLACEHOLDER

_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def quote(value: str) -> str:
    """A double-quoted Alertmanager matcher value.

    Alertmanager 0.25's matcher parser knows exactly three escapes (``\\\\``, ``\\"``, ``\\n``) and keeps
    any other backslash literally, so JSON- or Go-style quoting (``\\t``, ``\\u00e9``) would change the
    value. Everything else is written as is: the value is quoted, so commas, braces and spaces are safe.
    """
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def matcher(name: str, value: str, op: str = "=") -> str:
    """``name="value"`` for a route's or inhibit rule's ``matchers`` (and for amtool's label arguments)."""
    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
        raise ValueError(f"invalid label name {name!r}")
    if op not in ("=", "!=", "=~", "!~"):
        raise ValueError(f"invalid matcher operator {op!r}")
    return f"{name}{op}{quote(value)}"


def name_token(text: str) -> str:
    """A piece of a receiver name: the text itself when plain, else a slug plus a hash of the original.

    Receiver names must be unique and free of commas (``amtool --verify.receivers`` splits on them);
    the hash keeps ``Growth`` and ``growth`` (or two names that slug the same) apart.
    """
    if _PLAIN_TOKEN.fullmatch(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{slug(text) or 'x'}-{digest}"


def integrations(receiver: Receiver | None) -> Receiver | None:
    """The routing that actually notifies someone; an empty ``Receiver()`` counts as none."""
    if receiver is None or (receiver.pagerduty is None and receiver.slack is None):
        return None
    return receiver


@dataclass(frozen=True)
class ReceiverPlan:
    name: str
    #: The slokit severity this receiver serves (maps to PagerDuty's); None for the placeholder.
    severity: Severity | None
    #: What it notifies; None for the placeholder.
    routing: Receiver | None
    #: Every service it serves has an absolute dashboard address, so its messages may link the dashboard.
    dashboards: bool = True


@dataclass(frozen=True)
class SeverityRoute:
    severity: Severity
    #: Receiver of the whole team's alerts of this severity (the team's placeholder when split per service).
    receiver: str
    #: ``(service, receiver)`` pairs, only when the team's services disagree for this severity.
    per_service: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TeamRoute:
    team: str
    #: The team's placeholder receiver, also the team route's own (for alerts no severity route takes).
    placeholder: str
    severities: tuple[SeverityRoute, ...]


@dataclass(frozen=True)
class RoutingPlan:
    teams: tuple[TeamRoute, ...]
    #: Every receiver the config defines, the placeholder first, then by name.
    receivers: tuple[ReceiverPlan, ...]
    #: ``(service, severity) -> receiver name``: what ``amtool config routes test`` must answer.
    targets: Mapping[tuple[str, Severity], str]


def plan(services: Sequence[Service]) -> RoutingPlan:
    by_team: dict[str, list[Service]] = defaultdict(list)
    for service in sorted(services, key=lambda s: s.name):
        by_team[service.owner].append(service)

    receivers: dict[str, ReceiverPlan] = {PLACEHOLDER: ReceiverPlan(PLACEHOLDER, None, None)}
    targets: dict[tuple[str, Severity], str] = {}
    teams: list[TeamRoute] = []

    def receiver(name: str, severity: Severity, routing: Receiver | None, unrouted: str,
                 served: Sequence[Service]) -> str:
        if routing is None:
            return unrouted
        dashboards = all(links.notification_dashboard_url(s) is not None for s in served)
        receivers[name] = ReceiverPlan(name, severity, routing, dashboards)
        return name

    for team in sorted(by_team):
        members = by_team[team]
        team_token = name_token(team)
        unrouted = placeholder(team_token)
        receivers[unrouted] = ReceiverPlan(unrouted, None, None)
        severity_routes: list[SeverityRoute] = []
        for severity in SEVERITIES:
            wanted = {s.name: integrations(s.routing.for_severity(severity)) for s in members}
            distinct = set(wanted.values())
            if len(distinct) == 1:
                shared = receiver(f"{team_token}/{severity}", severity, distinct.pop(), unrouted, members)
                for s in members:
                    targets[(s.name, severity)] = shared
                severity_routes.append(SeverityRoute(severity, shared))
                continue
            pairs: list[tuple[str, str]] = []
            for s in members:
                own = receiver(f"{team_token}/{name_token(s.name)}/{severity}", severity, wanted[s.name], unrouted,
                               [s])
                targets[(s.name, severity)] = own
                pairs.append((s.name, own))
            severity_routes.append(SeverityRoute(severity, unrouted, tuple(pairs)))
        teams.append(TeamRoute(team, unrouted, tuple(severity_routes)))

    ordered = [receivers[PLACEHOLDER]] + [receivers[n] for n in sorted(receivers) if n != PLACEHOLDER]
    return RoutingPlan(tuple(teams), tuple(ordered), targets)
