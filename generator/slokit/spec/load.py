"""Load spec files into the model, reporting every problem at once with file, line, column and field path.

Nothing here raises for bad input: problems come back as diagnostics, so ``slokit validate`` can list all
of them and every other command can refuse to write anything while one error remains.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from slokit import burnrate, links, semconv
from slokit.spec import grammar
from slokit.spec.model import (
    SLI,
    SLO,
    CacheMisses,
    Guardrail,
    HttpErrors,
    HttpLatency,
    Location,
    PagerDuty,
    RatioQueries,
    Receiver,
    Rollout,
    Routing,
    RunbookText,
    Service,
    Slack,
    Stage,
)
from slokit.spec.schema import INVALID, Ctx, join
from slokit.spec.units import Duration
from slokit.spec.yamlpos import Pos, PosDict, PosList
from slokit.spec.yamlpos import load as load_yaml

#: ``note``: expected and harmless (a burn-rate tier a low objective cannot reach), listed by validate only.
Level = Literal["error", "warning", "note"]
SPEC_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Diagnostic:
    loc: Location
    path: str
    message: str
    level: Level = "error"

    def __str__(self) -> str:
        """One printable line, whatever the spec's keys and values hold (a newline, a lone surrogate)."""
        prefix = f"{self.level}: " if self.level != "error" else ""
        path = f" {self.path}:" if self.path else ""
        return _printable(f"{self.loc}:{path} {prefix}{self.message}")


def _printable(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@dataclass(frozen=True)
class QueryRef:
    """A PromQL query written in a spec, as written, for a parser to check (``slokit.promql_check``).

    ``loc`` is where the query's first character stands when ``exact`` (a one-line scalar), else where its
    YAML value starts; ``path`` is the field (``slos[0].sli.ratio.bad``).
    """

    loc: Location
    path: str
    text: str
    exact: bool


@dataclass(frozen=True)
class LoadResult:
    services: tuple[Service, ...]
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[str, ...]
    #: Every PromQL query of the specs, for the parser the command line runs (loading runs no tool).
    queries: tuple[QueryRef, ...] = ()

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


class SpecError(Exception):
    """The spec files could not be loaded; ``diagnostics`` says why, each with its position."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__("\n".join(map(str, diagnostics)))
        self.diagnostics = tuple(diagnostics)


class UsageError(Exception):
    """A path on the command line that is not there or holds no spec (not a problem of a spec file)."""


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Spec files named or found (``*.yaml``, ``*.yml``, recursively) in the given paths, in sorted order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
            if not files:
                raise UsageError(f"{path}: no SLO spec files (*.yaml, *.yml) in this folder")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def load_services(paths: Iterable[str | Path]) -> LoadResult:
    """Load every spec under ``paths``; raises only ``UsageError`` for paths that do not exist."""
    files = discover(paths)
    diagnostics: list[Diagnostic] = []
    services: list[Service] = []
    queries: list[QueryRef] = []
    seen: dict[str, str] = {}
    for file in files:
        service, diags, file_queries = _load_file(file)
        diagnostics.extend(diags)
        queries.extend(file_queries)
        if service is None:
            continue
        if service.name in seen:
            diagnostics.append(Diagnostic(service.loc, "service",
                                          f"service {service.name!r} is already defined in {seen[service.name]}"))
            continue
        seen[service.name] = service.source
        services.append(service)
    return with_diagnostics(LoadResult(tuple(services), (), tuple(map(str, files)), tuple(queries)), diagnostics)


def with_diagnostics(result: LoadResult, extra: Iterable[Diagnostic]) -> LoadResult:
    """``result`` with ``extra`` diagnostics (from a later check, such as parsing PromQL) in file order;
    no services once any diagnostic is an error, so that nothing is generated from a broken spec."""
    diagnostics = sorted([*result.diagnostics, *extra],
                         key=lambda d: (d.loc.file, d.loc.line, d.loc.col, d.level != "error"))
    ok = not any(d.level == "error" for d in diagnostics)
    return LoadResult(result.services if ok else (), tuple(diagnostics), result.files, result.queries)


def load_or_raise(paths: str | Path | Iterable[str | Path]) -> tuple[Service, ...]:
    """The services of the spec files under ``paths`` (one path or several); ``SpecError`` on any error.

    A single ``str`` is one path, never a sequence of characters.
    """
    result = load_services([paths] if isinstance(paths, str | Path) else paths)
    if not result.ok:
        raise SpecError(result.errors)
    return result.services


def load_service(path: str | Path) -> Service:
    """The one service of the spec file ``path``: what the middleware's ``service=`` takes.

    ``SpecError`` when the file has an error, ``UsageError`` when the path is missing or holds more than
    one service (a folder of specs).
    """
    services = load_or_raise(path)
    if len(services) != 1:
        raise UsageError(f"{path}: holds {len(services)} services; name the spec file of one service")
    return services[0]


def _load_file(file: Path) -> tuple[Service | None, list[Diagnostic], list[QueryRef]]:
    name = str(file)

    def at(pos: Pos) -> Location:
        return Location(name, pos[0], pos[1])

    try:
        raw_bytes = file.read_bytes()
    except OSError as exc:
        return None, [Diagnostic(Location(name, 1, 1), "", f"cannot read file: {exc.strerror}")], []
    if len(raw_bytes) > MAX_FILE_BYTES:
        return None, [Diagnostic(Location(name, 1, 1), "", "file is larger than 1 MiB; is this an SLO spec?")], []
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Diagnostic(Location(name, 1, 1), "", f"file is not UTF-8 text (byte {exc.start})")], []
    doc = load_yaml(text, name)
    lines = text.splitlines()
    diags = [_comment_hint(lines, Diagnostic(at(p.pos), functools.reduce(join, p.path, ""), _explained(p.message)))
             for p in doc.problems]
    if doc.data is None and not diags:
        diags.append(Diagnostic(Location(name, 1, 1), "", "file is empty: expected a service spec"))
    if doc.data is None:
        return None, diags, []
    ctx = Ctx()
    checked = grammar.SERVICE.check(doc.data, (1, 1), "", ctx)
    diags.extend(_comment_hint(lines, Diagnostic(at(p.pos), p.path, p.message)) for p in ctx.problems)
    if diags:
        return None, diags, []
    builder = _Builder(name, doc.data, at, lines)
    service = builder.service(checked)
    ok = not any(d.level == "error" for d in builder.diags)
    return (service if ok else None), builder.diags, builder.queries


@dataclass(frozen=True)
class _Buckets:
    """The duration histogram's bucket bounds the SLIs can rely on: the spec's ``buckets:`` or the defaults.

    Without ``buckets:`` the service's middleware is assumed to run with its default buckets, so a latency
    threshold elsewhere would read a bucket that does not exist and the SLO would never get data.
    """

    bounds: tuple[Duration, ...]
    explicit: bool

    @classmethod
    def of(cls, given: list[Duration] | None) -> _Buckets:
        if given is None:
            return cls(tuple(Duration.of_seconds(b) for b in semconv.DEFAULT_BUCKETS), False)
        return cls(tuple(sorted(set(given))), True)

    def problem(self, value: Duration) -> str | None:
        """Why ``value`` is not a bucket bound (naming the nearest ones), or None when it is one."""
        if value in self.bounds:
            return None
        below = [b for b in self.bounds if b < value][-1:]
        above = [b for b in self.bounds if b > value][:1]
        nearest = " and ".join(b.human for b in [*below, *above])
        whose = "one of the spec's buckets" if self.explicit else "one of the middleware's default buckets"
        return f"{value.human} is not {whose} (nearest: {nearest})"

    @property
    def fix(self) -> str:
        if self.explicit:
            return "pick one of the buckets, or add it to buckets: and to the middleware's buckets="
        return ("pick one of the default buckets, or add buckets: to the spec listing the buckets the service's "
                "middleware is configured with (its buckets=, or service= this spec)")


#: PyYAML's words for a problem people hit often, and what to tell them instead.
_YAML_EXPLAINED = {
    "found character '\\t' that cannot start any token":
        "invalid YAML: a tab character; YAML indents and separates with spaces only: replace the tab with spaces",
}


#: A value that starts with '#' right after ': ', ', ', '[' or '{': YAML reads a comment there.
_BARE_HASH = re.compile(r"[:,\[{]\s+(#[^\s,}\]]*)")


def _comment_hint(lines: Sequence[str], d: Diagnostic) -> Diagnostic:
    """``d`` with a hint when its line (a value read as null) or the line before (a flow mapping cut short)
    has an unquoted value starting with ``#``, such as ``channel: #alerts``: the error then says nothing
    of the comment that swallowed the rest of the line."""
    for n in (d.loc.line, d.loc.line - 1):
        found = _BARE_HASH.search(lines[n - 1]) if 1 <= n <= len(lines) else None
        if found:
            value = found.group(1)[:40]
            where = "this line" if n == d.loc.line else f"line {n}"
            return Diagnostic(d.loc, d.path, f"{d.message} ({where} has {value} unquoted: a bare # starts a YAML "
                              f"comment, which drops the rest of the line; quote it: \"{value}\")", d.level)
    return d


def _explained(message: str) -> str:
    for raw, explained in _YAML_EXPLAINED.items():
        if raw in message:
            return explained
    return message


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Fields given in the file, without the ones that failed (there are none once checks passed)."""
    return {k: v for k, v in values.items() if v is not INVALID and v is not None}


class _Builder:
    """Turns checked values into model objects and runs the checks that span several fields."""

    def __init__(self, file: str, raw: PosDict, at: Any, lines: list[str]) -> None:
        self.file, self.raw, self.at, self.lines = file, raw, at, lines
        self.diags: list[Diagnostic] = []
        self.queries: list[QueryRef] = []

    def query(self, pos: Pos, path: str, text: str) -> None:
        """Note a PromQL query; where it is a one-line scalar, at its first character (after a quote)."""
        line, col = pos
        rest = self.lines[line - 1][col - 1:] if line <= len(self.lines) else ""
        if "\n" not in text and rest.startswith(text):
            self.queries.append(QueryRef(self.at(pos), path, text, True))
        elif "\n" not in text and rest[:1] in ("'", '"') and rest[1:].startswith(text):
            self.queries.append(QueryRef(self.at((line, col + 1)), path, text, True))
        else:
            self.queries.append(QueryRef(self.at(pos), path, text, False))

    def error(self, pos: Pos, path: str, message: str, level: Level = "error") -> None:
        self.diags.append(Diagnostic(self.at(pos), path, message, level))

    def service(self, v: dict[str, Any]) -> Service:
        v = _present(v)
        raw_slos: PosList = self.raw["slos"]
        buckets = _Buckets.of(v.get("buckets"))
        slos: list[SLO] = []
        names: dict[str, int] = {}
        for i, slo_values in enumerate(v["slos"]):
            raw_slo: PosDict = raw_slos[i]
            slo = self.slo(slo_values, raw_slo, f"slos[{i}]", buckets)
            if slo.group_by:
                self.group_by(slo, raw_slo, f"slos[{i}].group_by", v)
            if slo.name in names:
                self.error(raw_slo.value_pos["name"], f"slos[{i}].name",
                           f"SLO name {slo.name!r} is already used by slos[{names[slo.name]}]")
            names.setdefault(slo.name, i)
            slos.append(slo)
        largest = buckets.bounds[-1]
        for i, slo in enumerate(slos):
            for j, g in enumerate(slo.alerts):
                if g.latency is not None and g.latency >= largest:
                    self.diags.append(Diagnostic(
                        g.loc, f"slos[{i}].alerts[{j}].{g.key}",
                        f"{g.latency.human} is not below the largest bucket bound ({largest.human}): "
                        "histogram_quantile never returns more than that, so this alert can never fire; "
                        "add a larger bucket (buckets:) or lower the level", "warning"))
        routing = self.routing(v.get("routing", {}), slos)
        grafana = v.get("grafana", {})
        service = Service(
            name=v["service"],
            owner=v["owner"],
            slos=tuple(slos),
            metrics=semconv.PRESETS[v["metrics_preset"]],
            buckets=tuple(b.seconds for b in buckets.bounds),
            description=v.get("description", ""),
            labels=MappingProxyType(v.get("labels", {})),
            selector=MappingProxyType(v.get("selector", {})),
            runbook_url=v.get("runbook_url"),
            runbook_format=v["runbook_format"],
            grafana_folder=grafana.get("folder", "SLOs"),
            grafana_url=grafana.get("url"),
            routing=routing,
            evaluation_interval=v.get("evaluation_interval"),
            rollout=self.rollout(v["rollout"], self.raw["rollout"]) if "rollout" in v else None,
            source=self.file,
            loc=self.at(self.raw.value_pos["service"]),
        )
        if (problem := links.dashboard_link_problem(service)) is not None:
            self.error(self.raw.key_pos.get("grafana", self.raw.value_pos["service"]), "grafana.url", problem,
                       "warning")
        return service

    def slo(self, v: dict[str, Any], raw: PosDict, path: str, buckets: _Buckets) -> SLO:
        v = _present(v)
        sli = self.sli(v["sli"], raw["sli"], join(path, "sli"), buckets)
        window: Duration = v["window"]
        alerts = tuple(
            self.guardrail(a, raw["alerts"][j], join(path, f"alerts[{j}]"), sli, window, buckets)
            for j, a in enumerate(v.get("alerts", []))
        )
        runbook = _present(v.get("runbook", {}))
        slo = SLO(
            name=v["name"],
            objective=v["objective"],
            window=window,
            sli=sli,
            description=v.get("description", ""),
            alerts=alerts,
            burn_rate=v["burn_rate"],
            labels=MappingProxyType(v.get("labels", {})),
            min_events=v["min_events"],
            absent_for=v.get("absent_for"),
            runbook=RunbookText(**runbook),
            group_by=tuple(v.get("group_by", ())),
            loc=self.at(raw.pos),
        )
        active, dropped_tiers = burnrate.plan(slo)
        if slo.burn_rate and not slo.has_budget:
            self.error(raw.value_pos["objective"], join(path, "objective"),
                       "100 % leaves no error budget: burn-rate alerts are not generated (guardrails, recording "
                       "rules and dashboards are); set burn_rate: false to say so, or lower the objective",
                       "warning")
            return slo
        for dropped in dropped_tiers:
            same = [a for a in active if a.tier.severity == dropped.tier.severity]
            still = (f"{len(same)} other {dropped.tier.severity} tier(s) still alert" if same
                     else f"this SLO gets no burn-rate {dropped.tier.severity}s, its other tiers and guardrails "
                          "still alert")
            self.error(raw.pos, path, f"burn-rate {dropped.reason}; it is left out (expected for this objective "
                       f"and window: {still})", "note" if active else "warning")
        if slo.burn_rate and not active:
            self.error(raw.pos, path, "no burn-rate tier can fire for this objective and window", "warning")
        return slo

    def group_by(self, slo: SLO, raw: PosDict, path: str, service: dict[str, Any]) -> None:
        """Grouping labels must reach the recorded series: checked where the spec can tell, warned where not.

        Built-in SLIs read the middleware's series, whose own labels are known; labels of the selector are on
        them by construction; any other label can only come from the scrape (target labels, relabelling), which
        the spec cannot see. A ratio SLI's queries must not aggregate the label away.
        """
        items: PosList = raw["group_by"]
        metrics = semconv.PRESETS[service["metrics_preset"]]
        static = {**service.get("labels", {}), **slo.labels}
        selector = set(service.get("selector", {}))
        sli = slo.sli
        own: dict[str, str | None] = {}
        if isinstance(sli, HttpErrors | HttpLatency):
            own = {metrics.route_label: sli.route, metrics.method_label: sli.method, metrics.status_label: None}
        elif isinstance(sli, CacheMisses):
            own = {metrics.cache_label: sli.cache, metrics.outcome_label: None}
        seen: set[str] = set()
        for j, label in enumerate(slo.group_by):
            pos, here = items.item_pos[j], join(path, j)
            if label in seen:
                self.error(pos, here, f"{label!r} is listed twice")
            seen.add(label)
            if label in static:
                self.error(pos, here, f"{label!r} is also a spec label with a fixed value: the rules would write "
                                      "that value over every group's")
            elif isinstance(sli, RatioQueries):
                for part in ("bad", "good", "total"):
                    query = getattr(sli, part)
                    if query is not None and _aggregates_away(query, label):
                        self.error(pos, here, f"the {part} query aggregates {label!r} away, so no group would have "
                                              f"it: write sum by ({label}) (...) or leave out the outer aggregation")
            elif label == metrics.status_label and isinstance(sli, HttpErrors):
                self.error(pos, here, f"{label!r} tells bad from all requests: grouped by it every group is 0 % or "
                                      "100 % bad")
            elif label == metrics.outcome_label and isinstance(sli, CacheMisses):
                self.error(pos, here, f"{label!r} tells misses from all lookups: grouped by it every group is 0 % "
                                      "or 100 % misses")
            elif own.get(label) is not None or label in service.get("selector", {}):
                where = "selector" if label in selector else "filter"
                self.error(pos, here, f"{label!r} has one value in this SLI (its {where}): grouping by it gives a "
                                      "single group", "warning")
            elif label not in own and label not in selector:
                self.error(pos, here, f"{label!r} is not a label the middleware writes ({', '.join(sorted(own))}) "
                                      "nor one of the selector's: it must come from the scrape (a target label or "
                                      "relabelling); series without it form one group with an empty value",
                           "warning")

    def sli(self, v: dict[str, Any], raw: PosDict, path: str, buckets: _Buckets) -> SLI:
        (kind, values), = _present(v).items()
        values = _present(values)
        if kind == "http_errors":
            return HttpErrors(values["status"], values.get("route"), values.get("method"))
        if kind == "http_latency":
            threshold: Duration = values["threshold"]
            if (problem := buckets.problem(threshold)) is not None:
                self.error(raw[kind].value_pos["threshold"], join(path, f"{kind}.threshold"),
                           f"{problem}: the SLI counts good requests from the bucket whose bound equals the "
                           f"threshold, so without that bucket it gets no data; {buckets.fix}")
            return HttpLatency(threshold, values.get("route"), values.get("method"))
        if kind == "cache_misses":
            return CacheMisses(values["cache"])
        for k, q in values.items():
            self.query(raw[kind].value_pos[k], join(path, f"ratio.{k}"), q)
        queries = {k: re.sub(r"\{\{\s*window\s*\}\}", "{{window}}", q) for k, q in values.items()}
        for other in ("bad", "good"):
            if other in queries and _normal(queries[other]) == _normal(queries["total"]):
                outcome = "100 %" if other == "bad" else "0 %"
                self.error(raw[kind].value_pos[other], join(path, f"ratio.{other}"),
                           f"{other} and total are the same query: the error ratio would always be {outcome}")
        return RatioQueries(queries["total"], queries.get("bad"), queries.get("good"))

    def guardrail(self, v: dict[str, Any], raw: PosDict, path: str, sli: SLI, window: Duration,
                  buckets: _Buckets) -> Guardrail:
        v = _present(v)
        for_: Duration = v["for"]
        if for_ >= window:
            self.error(raw.value_pos["for"], join(path, "for"),
                       f"{for_} is not shorter than the SLO window {window}: the alert could never matter")
        common: dict[str, Any] = dict(for_=for_, severity=v["severity"], rollback=v["rollback"],
                                      description=v.get("description"), window=v["window"], loc=self.at(raw.pos))
        if "error_ratio_above" in v:
            return Guardrail("error_ratio_above", "error_ratio_above", threshold=v["error_ratio_above"], **common)
        if "good_ratio_below" in v:
            return Guardrail("good_ratio_below", "good_ratio_below", threshold=v["good_ratio_below"], **common)
        key = next(k for k in v if re.fullmatch(grammar.QUANTILE_KEY, k))
        m = re.fullmatch(grammar.QUANTILE_KEY, key)
        assert m is not None
        digits = m.group(1) + m.group(2)
        if m.group(2).endswith("0"):
            self.error(raw.key_pos[key], join(path, key), f"write {key} without trailing zeros (p99_above, p999_above)")
        if not isinstance(sli, HttpErrors | HttpLatency):
            self.error(raw.key_pos[key], join(path, key),
                       f"{key} needs an HTTP SLI (http_errors or http_latency): it reads the request duration "
                       f"histogram, and this SLO's SLI is {sli.kind}")
        latency: Duration = v[key]
        if (problem := buckets.problem(latency)) is not None:
            self.error(raw.value_pos[key], join(path, key),
                       f"{problem}: the quantile is interpolated between bucket bounds, so the alert would fire "
                       f"late or early; {buckets.fix}")
        quantile = Fraction(int(digits), 10 ** len(digits))
        return Guardrail("quantile_above", key, quantile=quantile, latency=latency, **common)

    def rollout(self, v: dict[str, Any], raw: PosDict) -> Rollout:
        """Stages as written, checked against each other: shares strictly increase, the last is 100 %, and
        every stage but the last says how long it lasts (the last one ends the rollout)."""
        raw_stages: PosList = raw["stages"]
        stages: list[Stage] = []
        for i, values in enumerate(v["stages"]):
            values = _present(values)
            stage_raw: PosDict = raw_stages[i]
            path = f"rollout.stages[{i}]"
            last = i == len(v["stages"]) - 1
            if stages and values["percent"] <= stages[-1].percent:
                self.error(stage_raw.value_pos["percent"], f"{path}.percent",
                           f"{values['percent']} is not above the previous stage's {stages[-1].percent}: "
                           "each stage must send more traffic to the new version than the one before")
            if last and values["percent"] != 100:
                self.error(stage_raw.value_pos["percent"], f"{path}.percent",
                           f"the last stage must be 100 (the whole traffic), got {values['percent']}")
            duration: Duration | None = values.get("duration")
            if duration is None and not last:
                self.error(stage_raw.pos, f"{path}.duration",
                           "is required on every stage but the last: how long must the stage run before promotion?")
            stages.append(Stage(
                percent=values["percent"],
                duration=duration or Duration(0),
                description=values.get("description", ""),
                max_burn_rate=values.get("max_burn_rate", Fraction(1)),
                min_events=values.get("min_events", 0),
                loc=self.at(stage_raw.pos),
            ))
        return Rollout(tuple(stages), loc=self.at(raw.pos))

    def routing(self, v: dict[str, Any], slos: list[SLO]) -> Routing:
        receivers: dict[str, Receiver | None] = {}
        for severity in ("page", "ticket"):
            r = _present(v).get(severity)
            receivers[severity] = None if r is None else Receiver(
                pagerduty=PagerDuty(**_present(r["pagerduty"])) if r.get("pagerduty") else None,
                slack=Slack(**_present(r["slack"])) if r.get("slack") else None,
            )
        self._relative_secret_files()
        pos = self.raw.key_pos.get("routing", self.raw.pos)
        used = {a.severity for s in slos for a in s.alerts} | {
            t.tier.severity for s in slos for t in burnrate.plan(s)[0]
        }
        for severity, receiver in receivers.items():
            if receiver is None and severity in used:
                self.error(pos, f"routing.{severity}",
                           f"no receiver for {severity} alerts: they go to the team's placeholder receiver, "
                           "which notifies nobody", "warning")
        return Routing(page=receivers["page"], ticket=receivers["ticket"])


    def _relative_secret_files(self) -> None:
        """Alertmanager reads ``*_file`` secrets when it sends, relative to its own working directory (not to
        its config file's folder): a relative path works only where Alertmanager happens to be started."""
        routing = self.raw.get("routing")
        for severity, receiver in (routing.items() if isinstance(routing, PosDict) else ()):
            for kind, fields in (receiver.items() if isinstance(receiver, PosDict) else ()):
                if not isinstance(fields, PosDict):
                    continue
                for key in ("routing_key_file", "api_url_file"):
                    value = fields.get(key)
                    if isinstance(value, str) and not value.startswith("/"):
                        self.error(fields.value_pos[key], f"routing.{severity}.{kind}.{key}",
                                   "is a relative path, which Alertmanager resolves against the working directory "
                                   "it is started in (not the folder of alertmanager.yml); write an absolute path",
                                   "warning")


_AGGREGATION = re.compile(r"\b(sum|min|max|avg|group|stddev|stdvar|count|count_values|quantile)\s*"
                         r"(?:(by|without)\s*\(([^()]*)\))?\s*\(")


def _aggregates_away(query: str, label: str) -> bool:
    """Whether an aggregation in ``query`` drops ``label``: no ``by`` that keeps it, or a ``without`` naming it.

    A clause written after the parentheses (``sum(...) by (x)``) is not recognised, which errs on the side of
    an error message the author can answer by writing the clause first.
    """
    for m in _AGGREGATION.finditer(query):
        names = {n.strip() for n in (m.group(3) or "").split(",")}
        if (m.group(2) != "without" and label not in names) or (m.group(2) == "without" and label in names):
            return True
    return False


def _normal(query: str) -> str:
    return re.sub(r"\s+", "", query)
