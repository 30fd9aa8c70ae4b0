"""The validated, immutable model every emitter reads.

The loader (``slokit.spec.load``) is the only producer of these objects; emitters are pure functions of
them. Values are already parsed and checked: ratios are exact Fractions, durations are ``Duration``,
label mappings are read-only. ``loc`` fields point back into the YAML for later diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

from slokit.semconv import MetricNames
from slokit.spec.units import Duration, format_percent

Severity = Literal["page", "ticket"]
SEVERITIES: tuple[Severity, ...] = ("page", "ticket")

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Location:
    """Where a value stands in a spec file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOWHERE = Location("<spec>", 1, 1)


# --- SLIs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpErrors:
    """Built-in: bad = responses whose status matches ``status`` (a regex), total = all requests."""

    status: str
    route: str | None = None
    method: str | None = None
    kind: Literal["http_errors"] = "http_errors"


@dataclass(frozen=True)
class HttpLatency:
    """Built-in: good = requests at or under ``threshold`` (an ``le`` bound of the duration histogram)."""

    threshold: Duration
    route: str | None = None
    method: str | None = None
    kind: Literal["http_latency"] = "http_latency"


@dataclass(frozen=True)
class CacheMisses:
    """Built-in: bad = misses of the named cache, total = its lookups."""

    cache: str
    kind: Literal["cache_misses"] = "cache_misses"


@dataclass(frozen=True)
class RatioQueries:
    """Generic: PromQL for bad (or good) and total events, each with a ``{{window}}`` placeholder."""

    total: str
    bad: str | None = None
    good: str | None = None
    kind: Literal["ratio"] = "ratio"


SLI = HttpErrors | HttpLatency | CacheMisses | RatioQueries

WINDOW_PLACEHOLDER = "{{window}}"


# --- alerts -------------------------------------------------------------------------------------------

#: Range a guardrail's ratio or quantile is computed over unless the spec says otherwise.
DEFAULT_GUARDRAIL_WINDOW = Duration(5 * 60 * 1000)

GuardrailKind = Literal["error_ratio_above", "good_ratio_below", "quantile_above"]


@dataclass(frozen=True)
class Guardrail:
    """A plain threshold alert written in the spec (``{error_ratio_above: 1%, for: 5m, severity: ticket}``).

    ``threshold`` is a ratio for the ratio kinds and unused for ``quantile_above``, where ``quantile``
    (0.95 for ``p95_above``) and ``latency`` hold the level.
    """

    kind: GuardrailKind
    key: str  # as written: "error_ratio_above", "p95_above", ...
    for_: Duration
    severity: Severity
    threshold: Fraction = Fraction(0)
    quantile: Fraction | None = None
    latency: Duration | None = None
    rollback: bool = False
    description: str | None = None
    #: Range the ratio or quantile is computed over (``rate(...[5m])``).
    window: Duration = DEFAULT_GUARDRAIL_WINDOW
    loc: Location = field(default=NOWHERE, compare=False)

    @property
    def level_text(self) -> str:
        """The threshold as a person reads it: ``1%`` or ``500ms``."""
        if self.kind == "quantile_above":
            assert self.latency is not None
            return self.latency.human
        return format_percent(self.threshold)


# --- SLO and service -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunbookText:
    """Service-specific text the owner adds to a runbook page; rendered as Markdown."""

    summary: str | None = None
    impact: str | None = None
    diagnosis: str | None = None
    mitigation: str | None = None
    contacts: str | None = None


@dataclass(frozen=True)
class SLO:
    name: str
    objective: Fraction  # good share, 0 < objective <= 1 (99.5 % -> 199/200)
    window: Duration
    sli: SLI
    description: str = ""
    alerts: tuple[Guardrail, ...] = ()
    burn_rate: bool = True
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    #: Burn-rate alerts stay quiet while the alert's long window holds fewer events than this (0: off).
    min_events: int = 0
    #: When set, an alert fires when the SLI's series are absent for this long.
    absent_for: Duration | None = None
    runbook: RunbookText = RunbookText()
    #: Labels of the SLI's series that split the SLO into one SLO per value set, each alerting on its own.
    group_by: tuple[str, ...] = ()
    loc: Location = field(default=NOWHERE, compare=False)

    @property
    def error_budget(self) -> Fraction:
        """The allowed bad share: 1 - objective (0.5 % for a 99.5 % objective)."""
        return 1 - self.objective

    @property
    def has_budget(self) -> bool:
        """False for an objective of 100 %: no bad event is allowed, so there is no budget to burn or to
        have left, and every emitter leaves out what would divide by it (burn rates, budget remaining)."""
        return self.error_budget > 0


@dataclass(frozen=True)
class PagerDuty:
    routing_key_file: str
    #: Events API endpoint; None uses Alertmanager's default (PagerDuty's own).
    url: str | None = None


@dataclass(frozen=True)
class Slack:
    channel: str
    api_url_file: str


@dataclass(frozen=True)
class Receiver:
    pagerduty: PagerDuty | None = None
    slack: Slack | None = None


@dataclass(frozen=True)
class Routing:
    """Where each severity goes. None: the spec gave nothing for it (a placeholder receiver is used)."""

    page: Receiver | None = None
    ticket: Receiver | None = None

    def for_severity(self, severity: Severity) -> Receiver | None:
        return self.page if severity == "page" else self.ticket


# --- progressive rollout -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One step of a progressive rollout: a traffic share held for at least ``duration``.

    ``max_burn_rate`` and ``min_events`` are the stage's own promotion conditions: every SLO must burn its
    budget no faster than that over the stage, and see at least that many events in it, before the gate
    says promote.
    """

    percent: int
    duration: Duration
    description: str = ""
    max_burn_rate: Fraction = Fraction(1)
    min_events: int = 0
    loc: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Rollout:
    """Ordered stages, traffic share strictly increasing, the last at 100 %."""

    stages: tuple[Stage, ...]
    loc: Location = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Service:
    name: str
    owner: str
    slos: tuple[SLO, ...]
    metrics: MetricNames
    #: Histogram buckets the service's middleware uses; every latency threshold is one of them.
    buckets: tuple[float, ...]
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    selector: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    #: Base URL where this service's runbook pages are published (``<runbook_url>/<slo>.md``).
    runbook_url: str | None = None
    #: Which pages alerts link to: the Markdown tree (``md``) or the ``slokit runbooks --html`` site (``html``).
    runbook_format: Literal["md", "html"] = "md"
    grafana_folder: str = "SLOs"
    grafana_url: str | None = None
    routing: Routing = Routing()
    #: Overrides the evaluation interval of every generated rule group (None: slokit's choice per group).
    evaluation_interval: Duration | None = None
    #: The progressive rollout the gate and the Argo Rollouts / Flagger files follow (None: no rollout:).
    rollout: Rollout | None = None
    source: str = "<spec>"
    loc: Location = field(default=NOWHERE, compare=False)

    def slo(self, name: str) -> SLO:
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise KeyError(name)
