"""The SLO spec: every field, its type, whether it is required and what it means.

This is the contract service teams write against (fields may be added, never renamed). ``slokit schema``
prints it as JSON Schema; ``slokit validate`` checks files against it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from slokit import semconv, series
from slokit.promql import is_label_name
from slokit.spec.re2 import re2_problem
from slokit.spec.redact import looks_secret
from slokit.spec.schema import (
    Bool,
    Choice,
    DurationNode,
    Field,
    Int,
    LabelMap,
    ListOf,
    Obj,
    Objective,
    PositiveNumber,
    Ratio,
    Str,
)
from slokit.spec.units import Duration

NAME_PATTERN = r"[a-z0-9][a-z0-9_-]*"
NAME_HINT = "must be lower-case letters, digits, '-' or '_', starting with a letter or digit"
URL_PATTERN = r"https?://[^\s]+"
QUANTILE_KEY = r"p(\d{2})(\d*)_above"

MIN_WINDOW = Duration.parse("1d")
MAX_WINDOW = Duration.parse("366d")


def _regex_problem(text: str) -> str | None:
    try:
        re.compile(text)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    if (problem := re2_problem(text)) is not None:
        return f"is not a regular expression Prometheus accepts: {problem}"
    return None


#: Every status code an HTTP server can send; a ``status`` regex must match at least one of them.
_STATUS_CODES = tuple(str(code) for code in range(100, 600))


def _status_problem(text: str) -> str | None:
    """Why ``text`` cannot select responses by status code: not a regex Prometheus takes, or one that
    matches no three-digit code (``5xx`` matches the letters x, never 500)."""
    if (problem := _regex_problem(text)) is not None:
        return problem
    pattern = re.compile(text)
    if any(pattern.fullmatch(code) for code in _STATUS_CODES):
        return None
    guess = re.sub(r"[xX*]", ".", text) if re.fullmatch(r"[1-5][0-9xX*]{2}", text) else None
    hint = f"; did you mean '{guess}'?" if guess else " (e.g. '5..' for every 5xx, or '409')"
    return ("matches no HTTP status code: it is a regex matched against the whole three-digit code "
            f"(100 to 599), and '.' is its wildcard{hint}")


def _secret_file_problem(what: str, example: str) -> Callable[[str], str | None]:
    """A ``*_file`` field: a path to a file holding the secret, never the secret itself (nor a URL)."""
    def problem(text: str) -> str | None:
        host = text.split("/", 1)[0]
        if ("://" in text or text.lower().startswith(("http:", "https:"))
                or ("." in host and looks_secret(f"https://{text}"))):  # a webhook pasted without its scheme
            kind = "a URL"
        elif "/" not in text and looks_secret(text):
            kind = f"the {what} itself"
        else:
            return None
        return (f"is {kind}, not a file path (the value is not shown): the {what} is a secret and never goes "
                f"into the spec or the generated alertmanager.yml; put it in a file readable by Alertmanager "
                f"(e.g. {example}) and give that file's path here")
    return problem


def _credential_url_problem(text: str) -> str | None:
    """An endpoint URL goes into the generated alertmanager.yml: one carrying a key or password must not."""
    if looks_secret(text):
        return ("carries what looks like a key or a password (the value is not shown), and this URL is written "
                "into the generated alertmanager.yml: give the endpoint only, and the routing key in the file "
                "routing_key_file names")
    return None


def _no_template_problem(text: str) -> str | None:
    """Alert labels and link annotations are Go templates in Prometheus: a ``{{`` would be expanded."""
    if "{{" in text:
        return ("must not contain '{{': Prometheus expands alert labels and annotations as Go templates, "
                "so the rules would not load or would print something else")
    return None


#: Service names that would collide with files slokit writes for all services together.
RESERVED_SERVICE_NAMES = frozenset({"slo-overview"})


#: Service and SLO names become file names (alerts/<service>.rules.steady.test.yml, runbooks/<service>/<slo>.md),
#: which file systems cut at 255 bytes; 63 is also what a Kubernetes name segment allows.
MAX_NAME_LENGTH = 63


def _name_length_problem(text: str) -> str | None:
    if len(text) > MAX_NAME_LENGTH:
        return f"must be at most {MAX_NAME_LENGTH} characters (it names generated files), got {len(text)}"
    return None


def _service_name_problem(text: str) -> str | None:
    if text in RESERVED_SERVICE_NAMES:
        return f"{text!r} is reserved: slokit writes dashboards/slo-overview.json for all services together"
    return _name_length_problem(text)


def _group_label_problem(text: str) -> str | None:
    if not is_label_name(text):
        return "is not a valid Prometheus label name (letters, digits and _, not starting with a digit or __)"
    if text in series.RESERVED_LABELS:
        return f"label {text!r} is set by slokit and cannot group an SLO"
    return None


def _method_problem(text: str) -> str | None:
    if text not in semconv.STANDARD_METHODS:
        return f"must be an HTTP method in upper case ({', '.join(sorted(semconv.STANDARD_METHODS))})"
    return None


def _query_problem(text: str) -> str | None:
    if not re.search(r"\{\{\s*window\s*\}\}", text):
        return "must contain the {{window}} placeholder for the range, e.g. sum(rate(errors_total[{{window}}]))"
    return None


#: One path segment character (RFC 3986 pchar, '%'-escapes as they are) or a route parameter as the
#: middleware records it: ``{id}`` (Starlette, FastAPI: the router's ``path_format``, without convertors),
#: ``<id>``, ``<int:id>``, ``<string(length=2):code>`` (Flask's url_rule, Django's route).
_ROUTE_PART = (r"(?:[A-Za-z0-9._~!$&'()+,;=:@%/-]"
               r"|\{[A-Za-z_]\w*\}"
               r"|<(?:[A-Za-z_]\w*(?:\([^()<>]*\))?:)?[A-Za-z_]\w*>)")
ROUTE_TEMPLATE = re.compile(f"/{_ROUTE_PART}*")
_STARLETTE_CONVERTOR = re.compile(r"\{([A-Za-z_]\w*):[A-Za-z_]\w*\}")
_ROUTE_HINT = ("the route template as the framework writes it, e.g. /items/{id} (Starlette, FastAPI), "
               "/items/<int:id> (Flask, Django)")


def _route_problem(text: str) -> str | None:
    """Why the middleware could never record ``text`` as a route label, or None.

    The label is the router's template, so a route that is not one silently never gets data.
    """
    if not text.startswith("/"):
        return f"must start with '/' (did you mean '/{text.lstrip()}'?): the middleware records {_ROUTE_HINT}"
    if text.startswith("/^"):  # a Django re_path() pattern, recorded as its regex
        return _regex_problem(text[1:])
    if any(c.isspace() for c in text):
        return f"must not contain spaces: the middleware records {_ROUTE_HINT}"
    if "?" in text or "#" in text:
        return f"must not contain a query string or fragment: the middleware records {_ROUTE_HINT}"
    if "*" in text:
        return f"is matched exactly, not as a wildcard: the middleware records {_ROUTE_HINT}"
    if _STARLETTE_CONVERTOR.search(text):
        fixed = _STARLETTE_CONVERTOR.sub(r"{\1}", text)
        return (f"the middleware records Starlette and FastAPI parameters without their convertor "
                f"(the router's path_format): write {fixed}")
    if not ROUTE_TEMPLATE.fullmatch(text):
        return f"is not a route template: the middleware records {_ROUTE_HINT}"
    return None


#: What Slack (and Alertmanager's ``channel``) address: ``#channel-name`` (lower case, at most 80 characters),
#: a channel ID (``C0123ABCD``; G and D for private channels and direct messages) or ``@user``.
SLACK_CHANNEL = re.compile(r"#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{8,}|@[A-Za-z0-9._-]+")


def _slack_channel_problem(text: str) -> str | None:
    if SLACK_CHANNEL.fullmatch(text):
        return None
    hint = ""
    if re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,79}", text):
        hint = f" (did you mean '#{text}'? quote it: a bare # starts a YAML comment)"
    return ("must be a channel name starting with '#' (lower case, e.g. '#team-alerts'), a channel ID such as "
            f"C0123ABCD, or '@user'{hint}")


_route = Str("route template as the middleware labels it, e.g. /api/items/{id}", validate=_route_problem)
_method = Str("HTTP method, e.g. PATCH", validate=_method_problem)
_query = Str("PromQL with {{window}} where the range goes", validate=_query_problem)

SLI = Obj(
    description="How good and bad events are counted: exactly one kind.",
    exactly_one=("http_errors", "http_latency", "cache_misses", "ratio"),
    fields={
        "http_errors": Field(Obj(
            description="Built-in: bad = requests whose status code matches `status`, total = all requests.",
            fields={
                "status": Field(Str("status code regex, e.g. '5..' or '409'", allow_numbers=True,
                                    validate=_status_problem), required=True),
                "route": Field(_route),
                "method": Field(_method),
            },
        )),
        "http_latency": Field(Obj(
            description="Built-in: good = requests served within `threshold` (a histogram bucket bound).",
            fields={
                "threshold": Field(DurationNode("latency threshold, e.g. 300ms", positive=True), required=True),
                "route": Field(_route),
                "method": Field(_method),
            },
        )),
        "cache_misses": Field(Obj(
            description="Built-in: bad = cache misses, total = cache lookups.",
            fields={"cache": Field(Str("cache name as recorded by the middleware"), required=True)},
        )),
        "ratio": Field(Obj(
            description="Generic: PromQL for bad (or good) and total events, with {{window}} placeholders.",
            exactly_one=("bad", "good"),
            fields={"bad": Field(_query), "good": Field(_query), "total": Field(_query, required=True)},
        )),
    },
)

_severity = Choice(("page", "ticket"), "who is told: page = PagerDuty, ticket = Slack")

ALERT = Obj(
    description="A guardrail threshold alert: one of error_ratio_above, good_ratio_below or pNN_above.",
    exactly_one=("error_ratio_above", "good_ratio_below"),
    pattern=QUANTILE_KEY,
    pattern_node=DurationNode("latency quantile level, e.g. p95_above: 500ms", positive=True),
    pattern_hint="pNN_above (p95_above, p99_above...)",
    fields={
        "error_ratio_above": Field(Ratio("fires when the bad-event share exceeds this, e.g. 1%")),
        "good_ratio_below": Field(Ratio("fires when the good-event share falls below this, e.g. 60%")),
        "for": Field(DurationNode("how long the condition must hold, e.g. 5m"), required=True),
        "severity": Field(_severity, required=True),
        "rollback": Field(Bool("marks the alert as a rollback trigger of a progressive rollout"), default=False),
        "description": Field(Str("extra text for the alert's description")),
        "window": Field(DurationNode("range the ratio or quantile is computed over (default 5m)", positive=True),
                        default=Duration.parse("5m")),
    },
)

RUNBOOK = Obj(
    description="Service-specific Markdown rendered into the SLO's runbook page.",
    fields={k: Field(Str(f"runbook {k} text (Markdown)")) for k in
            ("summary", "impact", "diagnosis", "mitigation", "contacts")},
)

SLO = Obj(
    description="One service level objective.",
    fields={
        "name": Field(Str("SLO name, unique within the service", pattern=NAME_PATTERN, hint=NAME_HINT,
                          validate=_name_length_problem),
                      required=True),
        "description": Field(Str("what the SLO promises, in one sentence")),
        "objective": Field(Objective("percent of good events over the window, e.g. 99.5"), required=True),
        "window": Field(DurationNode("rolling SLO window, e.g. 30d, 28d or 7d", minimum=MIN_WINDOW,
                                     maximum=MAX_WINDOW), default=Duration.parse("30d")),
        "sli": Field(SLI, required=True),
        "alerts": Field(ListOf(ALERT, "guardrail threshold alerts besides the burn-rate alerts"), default=[]),
        "burn_rate": Field(Bool("emit multi-window multi-burn-rate alerts (default true)"), default=True),
        "labels": Field(LabelMap("extra labels on this SLO's rules and alerts", reserved=series.RESERVED_LABELS,
                                    templated=True)),
        "min_events": Field(Int("burn-rate alerts need at least this many events in their long window", 0),
                            default=0),
        "absent_for": Field(DurationNode("alert when the SLI's series are missing this long", positive=True)),
        "runbook": Field(RUNBOOK),
        "group_by": Field(ListOf(Str("label of the SLI's series", validate=_group_label_problem),
                                 "evaluate and alert per value of these labels (one SLO per group)",
                                 min_items=1)),
    },
)

_pagerduty = Obj(
    description="PagerDuty Events API v2 receiver.",
    fields={
        "routing_key_file": Field(Str("file holding the integration's routing key",
                                      validate=_secret_file_problem(
                                          "routing key", "/etc/alertmanager/secrets/pagerduty-key")),
                                  required=True),
        "url": Field(Str("Events API URL (default: PagerDuty's)", pattern=URL_PATTERN,
                         hint="must be an http(s) URL (a routing key goes in the file routing_key_file names, "
                              "never in the spec)", validate=_credential_url_problem)),
    },
)
_slack = Obj(
    description="Slack incoming-webhook receiver.",
    fields={
        "channel": Field(Str("channel, e.g. '#team-alerts', a channel ID or '@user'",
                                validate=_slack_channel_problem), required=True),
        "api_url_file": Field(Str("file holding the webhook URL",
                                  validate=_secret_file_problem(
                                      "webhook URL", "/etc/alertmanager/secrets/slack-webhook")),
                              required=True),
    },
)
RECEIVER = Obj(
    description="Where alerts of one severity go.",
    at_least_one=True,
    fields={"pagerduty": Field(_pagerduty), "slack": Field(_slack)},
)

STAGE = Obj(
    description="One rollout stage: the share of traffic on the new version and how long it stays there at least.",
    fields={
        "percent": Field(Int("share of traffic on the new version, 0 to 100", 0, 100), required=True),
        "duration": Field(DurationNode("minimum time at this stage before promotion, e.g. 24h (optional on the "
                                       "last stage)", positive=True)),
        "description": Field(Str("what the stage is, e.g. internal whitelist")),
        "max_burn_rate": Field(PositiveNumber("promote only while every SLO burns its budget at most this fast "
                                              "over the stage (default 1)")),
        "min_events": Field(Int("promote only once every SLO has seen this many events in the stage", 0)),
    },
)

ROLLOUT = Obj(
    description="Progressive rollout: stages in order, traffic share strictly increasing, the last at 100.",
    fields={"stages": Field(ListOf(STAGE, "the rollout's stages, in order", min_items=1), required=True)},
)

SERVICE = Obj(
    description="A service and its SLOs (one per file).",
    fields={
        "service": Field(Str("service name", pattern=NAME_PATTERN, hint=NAME_HINT, validate=_service_name_problem),
                         required=True),
        "description": Field(Str("what the service does")),
        "owner": Field(Str("owning team; label team=<owner> on every alert", pattern=NAME_PATTERN, hint=NAME_HINT),
                       required=True),
        "labels": Field(LabelMap("extra labels on every rule and alert", reserved=series.RESERVED_LABELS,
                                 templated=True)),
        "selector": Field(LabelMap("label matchers that pick this service's series in built-in SLIs")),
        "runbook_url": Field(Str("base URL where this service's runbook pages are published: alerts link to "
                                 "<runbook_url>/<slo>.md (or .html)", pattern=URL_PATTERN,
                                 hint="must be an http(s) URL", validate=_no_template_problem)),
        "runbook_format": Field(Choice(("md", "html"), "pages alerts link to: md (the runbooks/ Markdown) or "
                                       "html (the site of slokit runbooks --html)"), default="md"),
        "grafana": Field(Obj(
            description="Grafana placement.",
            fields={
                "folder": Field(Str("dashboard folder title"), default="SLOs"),
                "url": Field(Str("Grafana base URL, for dashboard links in alerts", pattern=URL_PATTERN,
                                 hint="must be an http(s) URL", validate=_no_template_problem)),
            },
        )),
        "routing": Field(Obj(
            description="Alert routing by severity.",
            fields={"page": Field(RECEIVER), "ticket": Field(RECEIVER)},
        )),
        "evaluation_interval": Field(DurationNode(
            "evaluation interval of every generated rule group (default: chosen per group)", positive=True,
            maximum=Duration.parse("5m"),
            maximum_why="a recorded series is read back through Prometheus' 5m lookback, so with a longer "
                        "interval dashboards and the SLO-window rules would see it vanish between evaluations")),
        "metrics_preset": Field(Choice(tuple(semconv.PRESETS), "metric names the middleware uses"),
                                default="otel"),
        "buckets": Field(ListOf(DurationNode("bucket bound, e.g. 300ms", positive=True),
                                "duration histogram buckets the service uses (default: the middleware's)",
                                min_items=1)),
        "slos": Field(ListOf(SLO, "the service's SLOs", min_items=1), required=True),
        "rollout": Field(ROLLOUT),
    },
)
