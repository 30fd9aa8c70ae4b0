"""Load spec files into the model, reporting every problem at once with file, line, column and field path.

Nothing here raises for bad input: problems come back as diagnostics, so ``slokit validate`` can list all
of them and every other command can refuse to write anything while one error remains.
"""

from __future__ import annotations

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
    Routing,
    RunbookText,
    Service,
    Slack,
)
from slokit.spec.schema import INVALID, Ctx, join
from slokit.spec.units import Duration
from slokit.spec.yamlpos import Pos, PosDict, PosList
from slokit.spec.yamlpos import load as load_yaml

Level = Literal["error", "warning"]
SPEC_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Diagnostic:
    loc: Location
    path: str
    message: str
    level: Level = "error"

    def __str__(self) -> str:
        prefix = "warning: " if self.level == "warning" else ""
        path = f" {self.path}:" if self.path else ""
        return f"{self.loc}:{path} {prefix}{self.message}"


@dataclass(frozen=True)
class LoadResult:
    services: tuple[Service, ...]
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[str, ...]

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
    seen: dict[str, str] = {}
    for file in files:
        service, diags = _load_file(file)
        diagnostics.extend(diags)
        if service is None:
            continue
        if service.name in seen:
            diagnostics.append(Diagnostic(service.loc, "service",
                                          f"service {service.name!r} is already defined in {seen[service.name]}"))
            continue
        seen[service.name] = service.source
        services.append(service)
    diagnostics.sort(key=lambda d: (d.loc.file, d.loc.line, d.loc.col, d.level != "error"))
    ok = not any(d.level == "error" for d in diagnostics)
    return LoadResult(tuple(services) if ok else (), tuple(diagnostics), tuple(map(str, files)))


def load_or_raise(paths: Iterable[str | Path]) -> tuple[Service, ...]:
    result = load_services(paths)
    if not result.ok:
        raise SpecError(result.errors)
    return result.services


def _load_file(file: Path) -> tuple[Service | None, list[Diagnostic]]:
    name = str(file)

    def at(pos: Pos) -> Location:
        return Location(name, pos[0], pos[1])

    try:
        raw_bytes = file.read_bytes()
    except OSError as exc:
        return None, [Diagnostic(Location(name, 1, 1), "", f"cannot read file: {exc.strerror}")]
    if len(raw_bytes) > MAX_FILE_BYTES:
        return None, [Diagnostic(Location(name, 1, 1), "", "file is larger than 1 MiB; is this an SLO spec?")]
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Diagnostic(Location(name, 1, 1), "", f"file is not UTF-8 text (byte {exc.start})")]
    doc = load_yaml(text, name)
    diags = [Diagnostic(at(p.pos), "", p.message) for p in doc.problems]
    if doc.data is None and not diags:
        diags.append(Diagnostic(Location(name, 1, 1), "", "file is empty: expected a service spec"))
    if doc.data is None:
        return None, diags
    ctx = Ctx()
    checked = grammar.SERVICE.check(doc.data, (1, 1), "", ctx)
    diags.extend(Diagnostic(at(p.pos), p.path, p.message) for p in ctx.problems)
    if diags:
        return None, diags
    builder = _Builder(name, doc.data, at)
    service = builder.service(checked)
    return (service if not any(d.level == "error" for d in builder.diags) else None), builder.diags


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """Fields given in the file, without the ones that failed (there are none once checks passed)."""
    return {k: v for k, v in values.items() if v is not INVALID and v is not None}


class _Builder:
    """Turns checked values into model objects and runs the checks that span several fields."""

    def __init__(self, file: str, raw: PosDict, at: Any) -> None:
        self.file, self.raw, self.at = file, raw, at
        self.diags: list[Diagnostic] = []

    def error(self, pos: Pos, path: str, message: str, level: Level = "error") -> None:
        self.diags.append(Diagnostic(self.at(pos), path, message, level))

    def service(self, v: dict[str, Any]) -> Service:
        v = _present(v)
        raw_slos: PosList = self.raw["slos"]
        explicit_buckets: list[Duration] | None = v.get("buckets")
        slos: list[SLO] = []
        names: dict[str, int] = {}
        for i, slo_values in enumerate(v["slos"]):
            raw_slo: PosDict = raw_slos[i]
            slo = self.slo(slo_values, raw_slo, f"slos[{i}]", explicit_buckets)
            if slo.name in names:
                self.error(raw_slo.value_pos["name"], f"slos[{i}].name",
                           f"SLO name {slo.name!r} is already used by slos[{names[slo.name]}]")
            names.setdefault(slo.name, i)
            slos.append(slo)
        thresholds = [s.sli.threshold.seconds for s in slos if isinstance(s.sli, HttpLatency)]
        levels = [g.latency.seconds for s in slos for g in s.alerts if g.latency is not None]
        if explicit_buckets is not None:
            buckets = tuple(sorted({round(b.seconds, 9) for b in explicit_buckets}))
        else:
            buckets = semconv.buckets_with([*thresholds, *levels])
        for i, slo in enumerate(slos):
            for j, g in enumerate(slo.alerts):
                if g.latency is not None and g.latency.seconds >= max(buckets):
                    self.diags.append(Diagnostic(
                        g.loc, f"slos[{i}].alerts[{j}].{g.key}",
                        f"{g.latency} is not below the largest bucket bound ({Duration.of_seconds(max(buckets))}): "
                        "histogram_quantile never returns more than that, so this alert can never fire; "
                        "add a larger bucket (buckets:) or lower the level", "warning"))
        routing = self.routing(v.get("routing", {}), slos)
        grafana = v.get("grafana", {})
        service = Service(
            name=v["service"],
            owner=v["owner"],
            slos=tuple(slos),
            metrics=semconv.PRESETS[v["metrics_preset"]],
            buckets=buckets,
            description=v.get("description", ""),
            labels=MappingProxyType(v.get("labels", {})),
            selector=MappingProxyType(v.get("selector", {})),
            runbook_url=v.get("runbook_url"),
            runbook_format=v["runbook_format"],
            grafana_folder=grafana.get("folder", "SLOs"),
            grafana_url=grafana.get("url"),
            routing=routing,
            evaluation_interval=v.get("evaluation_interval"),
            source=self.file,
            loc=self.at(self.raw.value_pos["service"]),
        )
        if (problem := links.dashboard_link_problem(service)) is not None:
            self.error(self.raw.key_pos.get("grafana", self.raw.value_pos["service"]), "grafana.url", problem,
                       "warning")
        return service

    def slo(self, v: dict[str, Any], raw: PosDict, path: str, buckets: list[Duration] | None) -> SLO:
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
            loc=self.at(raw.pos),
        )
        active, dropped_tiers = burnrate.plan(slo)
        for dropped in dropped_tiers:
            self.error(raw.pos, path, f"burn-rate {dropped.reason}; it is left out", "warning")
        if slo.burn_rate and not active:
            self.error(raw.pos, path, "no burn-rate tier can fire for this objective and window", "warning")
        return slo

    def sli(self, v: dict[str, Any], raw: PosDict, path: str, buckets: list[Duration] | None) -> SLI:
        (kind, values), = _present(v).items()
        values = _present(values)
        if kind == "http_errors":
            return HttpErrors(values["status"], values.get("route"), values.get("method"))
        if kind == "http_latency":
            threshold: Duration = values["threshold"]
            if buckets is not None and threshold not in buckets:
                self.error(raw[kind].value_pos["threshold"], join(path, f"{kind}.threshold"),
                           f"{threshold} is not one of the service's buckets "
                           f"({', '.join(map(str, sorted(buckets)))}); the SLI counts requests from the "
                           "bucket whose bound equals the threshold")
            return HttpLatency(threshold, values.get("route"), values.get("method"))
        if kind == "cache_misses":
            return CacheMisses(values["cache"])
        queries = {k: re.sub(r"\{\{\s*window\s*\}\}", "{{window}}", q) for k, q in values.items()}
        for other in ("bad", "good"):
            if other in queries and _normal(queries[other]) == _normal(queries["total"]):
                outcome = "100 %" if other == "bad" else "0 %"
                self.error(raw[kind].value_pos[other], join(path, f"ratio.{other}"),
                           f"{other} and total are the same query: the error ratio would always be {outcome}")
        return RatioQueries(queries["total"], queries.get("bad"), queries.get("good"))

    def guardrail(self, v: dict[str, Any], raw: PosDict, path: str, sli: SLI, window: Duration,
                  buckets: list[Duration] | None) -> Guardrail:
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
        if buckets is not None and latency not in buckets:
            self.error(raw.value_pos[key], join(path, key),
                       f"{latency} is not one of the service's buckets: the quantile is interpolated between "
                       "bucket bounds, so the alert fires late or early", "warning")
        quantile = Fraction(int(digits), 10 ** len(digits))
        return Guardrail("quantile_above", key, quantile=quantile, latency=latency, **common)

    def routing(self, v: dict[str, Any], slos: list[SLO]) -> Routing:
        receivers: dict[str, Receiver | None] = {}
        for severity in ("page", "ticket"):
            r = _present(v).get(severity)
            receivers[severity] = None if r is None else Receiver(
                pagerduty=PagerDuty(**_present(r["pagerduty"])) if r.get("pagerduty") else None,
                slack=Slack(**_present(r["slack"])) if r.get("slack") else None,
            )
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


def _normal(query: str) -> str:
    return re.sub(r"\s+", "", query)
