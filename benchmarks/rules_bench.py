"""Rule generation for 1,000 SLOs: time and rule count, plus Sloth side by side when it is installed.

Synthetic services (10 SLOs each, a mix of SLI kinds, objectives, windows and guardrails) are built as model
objects, so the figure is the generator alone: rule groups and the YAML of the rule files. The promtool
test files are timed separately (they replay every scenario minute by minute). If a ``sloth`` binary is
on PATH, the same SLOs are written as a Sloth ``prometheus/v1`` spec and ``sloth generate`` is timed too.

    python benchmarks/rules_bench.py             # a few seconds on 2 cores
    python benchmarks/rules_bench.py --slos 200  # fewer SLOs
    python benchmarks/rules_bench.py --groups 10 # a grouped SLO with 10 groups instead of 100

A grouped SLO (``group_by``) has the same rules as an ungrouped one; what grows with its groups is the series
Prometheus records and the work of evaluating the rules. The last lines run the rules of one SLO grouped by
``market`` over two hours of traffic in 100 groups with promtool (the real rule engine), check that every
group has its recorded series, and time it against the same SLO with one group.

Not a test: timings on shared machines are noisy, so nothing here asserts a number.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

import yaml

from slokit import toolchain
from slokit.artifacts import Options
from slokit.rules.build import rule_count, service_groups
from slokit.rules.render import dump, emit_rules
from slokit.rules.sli import sli_queries
from slokit.rules.testgen import steady_test_file, test_file
from slokit.semconv import DEFAULT_BUCKETS, OTEL
from slokit.spec.model import SLI, SLO, CacheMisses, Guardrail, HttpErrors, HttpLatency, RatioQueries, Service
from slokit.spec.units import Duration

PER_SERVICE = 10
OBJECTIVES = ("99.9", "99.5", "99", "95")
WINDOWS = ("30d", "28d", "7d")


def _sli(i: int) -> SLI:
    kind = i % 4
    if kind == 0:
        return HttpErrors("5..")
    if kind == 1:
        return HttpLatency(Duration.parse("300ms"), route=f"/api/items/{i}")
    if kind == 2:
        return CacheMisses(f"cache-{i}")
    return RatioQueries(total=f"sum(rate(jobs_total{{queue=\"q{i}\"}}[{{{{window}}}}]))",
                        bad=f"sum(rate(jobs_failed_total{{queue=\"q{i}\"}}[{{{{window}}}}]))")


def services(n_slos: int) -> list[Service]:
    out = []
    for s in range(0, n_slos, PER_SERVICE):
        slos = []
        for i in range(s, min(s + PER_SERVICE, n_slos)):
            guard = Guardrail("error_ratio_above", "error_ratio_above", Duration.parse("5m"), "ticket",
                              threshold=Fraction(5, 100))
            slos.append(SLO(name=f"slo-{i}", objective=Fraction(OBJECTIVES[i % 4]) / 100,
                            window=Duration.parse(WINDOWS[i % 3]), sli=_sli(i), alerts=(guard,) if i % 2 else ()))
        out.append(Service(name=f"svc-{s // PER_SERVICE}", owner="team", slos=tuple(slos), metrics=OTEL,
                           buckets=DEFAULT_BUCKETS, selector=MappingProxyType({"job": f"svc-{s}"}),
                           labels=MappingProxyType({"tier": "1"})))
    return out


def timed(fn: object, *args: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start, result


def sloth_spec(service: Service) -> dict[str, object]:
    slos = []
    for slo in service.slos:
        bad, total = sli_queries(service, slo, Duration.parse("5m"))
        slos.append({
            "name": slo.name, "objective": float(slo.objective * 100),
            "sli": {"events": {"error_query": bad.replace("[5m]", "[{{.window}}]"),
                               "total_query": total.replace("[5m]", "[{{.window}}]")}},
            "alerting": {"name": "SLOErrorBudgetBurn", "page_alert": {"labels": {"severity": "page"}},
                         "ticket_alert": {"labels": {"severity": "ticket"}}},
        })
    return {"version": "prometheus/v1", "service": service.name, "labels": dict(service.labels), "slos": slos}


def run_sloth(svcs: list[Service]) -> tuple[float, int] | None:
    if shutil.which("sloth") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        rules = 0
        for svc in svcs:
            spec, out = Path(tmp) / f"{svc.name}.yml", Path(tmp) / f"{svc.name}.rules.yml"
            spec.write_text(yaml.safe_dump(sloth_spec(svc)), encoding="utf-8")
            subprocess.run(["sloth", "generate", "-i", str(spec), "-o", str(out)], check=True, capture_output=True)
            rules += sum(len(g["rules"]) for g in yaml.safe_load(out.read_text(encoding="utf-8"))["groups"])
        return time.perf_counter() - start, rules


def grouped_service(groups: int) -> tuple[Service, list[dict[str, str]]]:
    """A 30d SLO grouped by market, and 2h of raw counters per market (1 % errors)."""
    slo = SLO(name="checkout", objective=Fraction(995, 1000), window=Duration.parse("30d"), sli=HttpErrors("5.."),
              group_by=("market",))
    service = Service(name="bench", owner="team", slos=(slo,), metrics=OTEL, buckets=DEFAULT_BUCKETS,
                      selector=MappingProxyType({"job": "bench"}))
    name = OTEL.duration_count
    series = []
    for g in range(groups):
        for status, per_minute in (("200", 99), ("500", 1)):
            series.append({"series": f'{name}{{job="bench", market="m{g}", {OTEL.status_label}="{status}"}}',
                           "values": f"0+{per_minute}x120"})
    return service, series


def run_grouped(groups: int) -> tuple[float, int]:
    """Seconds promtool takes to evaluate the grouped SLO's rules over 2h, and the series recorded per group."""
    service, series = grouped_service(groups)
    rule_groups = service_groups(service)
    per_group = sum(1 for g in rule_groups for r in g["rules"] if "record" in r and not r["expr"].startswith("vector"))
    check = {"expr": 'count({__name__=~"slo:.+", service="bench", market!=""})', "eval_time": "120m",
             "exp_samples": [{"labels": "{}", "value": per_group * groups}]}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "r.yml").write_text(dump({"groups": rule_groups}), encoding="utf-8")
        (Path(tmp) / "t.yml").write_text(yaml.safe_dump({
            "rule_files": ["r.yml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": [check]}]}), encoding="utf-8")
        start = time.perf_counter()
        proc = subprocess.run([toolchain.path("promtool"), "test", "rules", str(Path(tmp) / "t.yml")],
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"promtool failed on the grouped SLO:\n{proc.stdout}{proc.stderr}")
    return seconds, per_group


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    args = parser.parse_args()
    svcs = services(args.slos)
    n = sum(len(s.slos) for s in svcs)

    t_groups, groups = timed(lambda: [service_groups(s) for s in svcs])
    t_yaml, _ = timed(lambda: [dump({"groups": g}) for g in groups])  # type: ignore[attr-defined]
    rules = sum(rule_count(g) for g in groups)  # type: ignore[attr-defined]
    t_files, _ = timed(lambda: emit_rules(svcs[:10], Options()))
    t_tests, _ = timed(lambda: [(test_file(s, "r.yml"), steady_test_file(s, "r.yml")) for s in svcs[:10]])

    sample = service_groups(Service(name="one", owner="t", slos=(svcs[0].slos[0],), metrics=OTEL,
                                    buckets=DEFAULT_BUCKETS))
    print(f"{'':38} {'SLOs':>6} {'rules':>7} {'rules/SLO':>9} {'seconds':>8}")
    print(f"{'slokit: rule groups (model -> data)':38} {n:6d} {rules:7d} {rules / n:9.1f} {t_groups:8.3f}")
    print(f"{'slokit: rule files (+ YAML)':38} {n:6d} {rules:7d} {rules / n:9.1f} {t_groups + t_yaml:8.3f}")
    print(f"{'slokit: full emitter, first 100 SLOs':38} {100:6d} {'':>7} {'':>9} {t_files:8.3f}  "
          "(rules + promtool tests)")
    print(f"{'slokit: promtool tests, first 100 SLOs':38} {100:6d} {'':>7} {'':>9} {t_tests:8.3f}")
    sloth = run_sloth(svcs)
    if sloth is None:
        print(f"{'sloth':38} not on PATH: not measured")
    else:
        print(f"{'sloth generate':38} {n:6d} {sloth[1]:7d} {sloth[1] / n:9.1f} {sloth[0]:8.3f}")
    print(f"\nrules of one 30d SLO without guardrails: {rule_count(sample)} "
          f"({sum(1 for g in sample for r in g['rules'] if 'record' in r)} recording, "
          f"{sum(1 for g in sample for r in g['rules'] if 'alert' in r)} alerting)")
    t_one, per_group = run_grouped(1)
    t_many, _ = run_grouped(args.groups)
    print(f"grouped 30d SLO: {per_group} recorded series per group (+4 metadata series per SLO); "
          f"{args.groups} groups: {per_group * args.groups + 4} series, promtool 2h of evaluation "
          f"{t_many:.2f} s (1 group: {t_one:.2f} s)")


if __name__ == "__main__":
    main()
