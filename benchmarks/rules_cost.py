"""What the rules of one SLO cost a real Prometheus: slokit, Sloth-shaped and Pyrra-shaped, side by side.

For each N (series the SLI matches) this backfills a TSDB with 31 days of counters at a 30 s scrape
(``promtool tsdb create-blocks-from openmetrics``; uneven traffic: a daily wave, 0.1 % errors with failing
bursts; half the series carry a 5xx status), plus the series each tool's long-window rules read back from
their own recordings (slokit's step counts, Sloth's 5m ratios), as if the rules had run for 31 days. Then it
starts a real Prometheus (the newest installed tool set, on 127.0.0.1) with the three rule sets for the same
availability SLO (99.9 %, 30 days) and prints per tool:

* samples read per minute: every rule expression run through the query API with ``stats=all``
  (``totalQueryableSamples``), times the evaluations per minute of its group;
* evaluation seconds per minute: the median ``evaluationTime`` of each group over a few evaluations, times
  its evaluations per minute;
* whether any rule failed (``health`` not ``ok``: ``query.max-samples``, timeouts), and the ratio to Sloth.

The Sloth- and Pyrra-shaped rules are written out here from the shapes their projects publish (Sloth v0.16
``sloth generate`` output, https://sloth.dev/introduction/ and its examples/_gen directory: 5m ... 3d
``rate()`` ratios, the 30d ratio as the average of the 5m ratios, multiwindow alerts; Pyrra 0.10's
generated PrometheusRule, https://github.com/pyrra-dev/pyrra README and examples: ``increase()`` over the
whole window every 2m30s and ``burnrate`` ratios every 30s). Both use their default groups and intervals.

    python benchmarks/rules_cost.py --series 10        # about a minute
    nice python benchmarks/rules_cost.py               # N = 10, 100, 1000: several minutes, GBs of disk

Not a test: it measures; ``tests/test_rules_cost.py`` runs the measurement for N = 10 to keep it working.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from slokit import series, toolchain
from slokit.rules.build import service_groups, step
from slokit.semconv import DEFAULT_BUCKETS, OTEL
from slokit.spec.model import SLO, RatioQueries, Service
from slokit.spec.units import Duration

METRIC = "r_total"
SCRAPE_S = 30
DAYS = 31
OBJECTIVE = Fraction(999, 1000)
BAD = f'{METRIC}{{c=~"5.."}}'
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def slokit_service() -> Service:
    sli = RatioQueries(total=f"sum(rate({METRIC}[{{{{window}}}}]))", bad=f"sum(rate({BAD}[{{{{window}}}}]))")
    slo = SLO(name="avail", objective=OBJECTIVE, window=Duration.parse("30d"), sli=sli)
    return Service(name="bench", owner="team", slos=(slo,), metrics=OTEL, buckets=tuple(DEFAULT_BUCKETS),
                   selector=MappingProxyType({"job": "bench"}), labels=MappingProxyType({}))


def sloth_groups() -> list[dict[str, Any]]:
    """Sloth v0.16's rules for the SLO, in the shape ``sloth generate`` writes (no group intervals)."""
    ids = {"sloth_id": "bench-avail", "sloth_service": "bench", "sloth_slo": "avail"}
    sel = '{sloth_id="bench-avail", sloth_service="bench", sloth_slo="avail"}'
    sli = [{"record": f"slo:sli_error:ratio_rate{w}",
            "expr": f"(sum(rate({BAD}[{w}])))\n/\n(sum(rate({METRIC}[{w}])))",
            "labels": {**ids, "sloth_window": w}} for w in WINDOWS]
    sli.append({"record": "slo:sli_error:ratio_rate30d",
                "expr": f"sum_over_time(slo:sli_error:ratio_rate5m{sel}[30d])\n/ ignoring (sloth_window)\n"
                        f"count_over_time(slo:sli_error:ratio_rate5m{sel}[30d])",
                "labels": {**ids, "sloth_window": "30d"}})
    meta = [
        {"record": "slo:objective:ratio", "expr": "vector(0.999)", "labels": ids},
        {"record": "slo:error_budget:ratio", "expr": "vector(1-0.999)", "labels": ids},
        {"record": "slo:time_period:days", "expr": "vector(30)", "labels": ids},
        {"record": "slo:current_burn_rate:ratio",
         "expr": f"slo:sli_error:ratio_rate5m{sel}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
                 f"slo:error_budget:ratio{sel}", "labels": ids},
        {"record": "slo:period_burn_rate:ratio",
         "expr": f"slo:sli_error:ratio_rate30d{sel}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
                 f"slo:error_budget:ratio{sel}", "labels": ids},
        {"record": "slo:period_error_budget_remaining:ratio", "expr": f"1 - slo:period_burn_rate:ratio{sel}",
         "labels": ids},
        {"record": "sloth_slo_info", "expr": "vector(1)", "labels": {**ids, "sloth_version": "v0.16.0"}},
    ]

    def pair(long: str, short: str, factor: float) -> str:
        return (f"(max(slo:sli_error:ratio_rate{short}{sel} > ({factor} * 0.001)) without (sloth_window)\n"
                f"and\nmax(slo:sli_error:ratio_rate{long}{sel} > ({factor} * 0.001)) without (sloth_window))")

    alerts = [
        {"alert": "BenchAvailPage", "expr": pair("1h", "5m", 14.4) + "\nor ignoring (sloth_window)\n"
                                            + pair("6h", "30m", 6), "labels": {"severity": "page"}},
        {"alert": "BenchAvailTicket", "expr": pair("1d", "2h", 3) + "\nor ignoring (sloth_window)\n"
                                              + pair("3d", "6h", 1), "labels": {"severity": "ticket"}},
    ]
    return [{"name": "sloth-slo-sli-recordings-bench-avail", "rules": sli},
            {"name": "sloth-slo-meta-recordings-bench-avail", "rules": meta},
            {"name": "sloth-slo-alerts-bench-avail", "rules": alerts}]


def pyrra_groups() -> list[dict[str, Any]]:
    """Pyrra 0.10's rules for the SLO: the window's increase every 2m30s, burn rates every 30s."""
    slo = {"slo": "bench-avail"}
    increase = [
        {"record": f"{METRIC}:increase30d", "expr": f"sum by (c) (increase({METRIC}[30d]))", "labels": slo},
        {"alert": "SLOMetricAbsent", "expr": f"absent({METRIC}) == 1", "for": "2m",
         "labels": {**slo, "severity": "critical"}},
    ]
    burn = [{"record": f"{METRIC}:burnrate{w}",
             "expr": f"sum(rate({BAD}[{w}]))\n/\nsum(rate({METRIC}[{w}]))", "labels": slo}
            for w in ("5m", "30m", "1h", "2h", "6h", "1d", "4d")]
    tiers = (("1h", "5m", 14, "critical"), ("6h", "30m", 7, "critical"), ("1d", "2h", 2, "warning"),
             ("4d", "6h", 1, "warning"))
    burn += [{"alert": "ErrorBudgetBurn",
              "expr": f"{METRIC}:burnrate{s}{{slo=\"bench-avail\"}} > ({f} * (1-0.999)) and "
                      f"{METRIC}:burnrate{lg}{{slo=\"bench-avail\"}} > ({f} * (1-0.999))",
              "for": "2m", "labels": {**slo, "severity": sev, "long": lg, "short": s}} for lg, s, f, sev in tiers]
    return [{"name": "bench-avail-increase", "interval": "2m30s", "rules": increase},
            {"name": "bench-avail", "interval": "30s", "rules": burn}]


# --- data ----------------------------------------------------------------------------------------------


def traffic(t: int) -> float:
    """Requests per scrape at second ``t``: a daily wave between 0.2x and 1.8x of 10 requests."""
    return 10 * (1 + 0.8 * math.sin(2 * math.pi * t / 86_400))


def bad_share(t: int) -> float:
    """0.1 % errors, and a failing quarter hour (30 %) every 3 days."""
    return 0.3 if (t // 900) % 288 == 7 else 0.001


def openmetrics(path: Path, n: int, end: int, service: Service, days: int = DAYS) -> None:
    """``n`` raw counters (half of them 5xx) and the recorded series each tool reads over long ranges."""
    start = end - days * 86_400
    slokit_labels = 'service="bench",slo="avail"'
    sloth_labels = 'sloth_id="bench-avail",sloth_service="bench",sloth_slo="avail",sloth_window="5m"'
    step_s = step(service).ms // 1000
    with path.open("w", encoding="utf-8") as out:
        out.write(f"# TYPE {METRIC.removesuffix('_total')} counter\n")
        for i in range(n):
            code = "500" if i % 2 else "200"
            value = 0.0
            lines = []
            for t in range(start, end, SCRAPE_S):
                value += traffic(t) * (bad_share(t) if i % 2 else 1 - bad_share(t))
                lines.append(f'{METRIC}{{i="{i}",c="{code}"}} {value:.1f} {t}\n')
            out.writelines(lines)
        for name, labels, fn in (
            (series.TOTAL_STEP, slokit_labels, lambda t: n * traffic(t) * step_s / SCRAPE_S),
            (series.BAD_STEP, slokit_labels, lambda t: n / 2 * traffic(t) * bad_share(t) * step_s / SCRAPE_S),
            ("slo:sli_error:ratio_rate5m", sloth_labels, bad_share),
        ):
            out.write(f"# TYPE {name} gauge\n")
            out.writelines(f"{name}{{{labels}}} {fn(t):.4f} {t}\n" for t in range(start, end, 60))
        out.write("# EOF\n")


# --- Prometheus ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=120) as resp:
        return json.loads(resp.read())


@dataclass
class Cost:
    samples_per_min: float = 0.0
    eval_s_per_min: float = 0.0
    failed: int = 0
    peak: int = 0


def rule_files(tmp: Path) -> dict[str, Path]:
    files = {"slokit": service_groups(slokit_service()), "sloth": sloth_groups(), "pyrra": pyrra_groups()}
    out = {}
    for tool, groups in files.items():
        path = tmp / f"{tool}.rules.yml"
        path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
        out[tool] = path
    return out


def measure(n: int, workdir: Path, settle_s: int = 150, days: int = DAYS) -> dict[str, Cost]:
    """Backfill ``days`` of data, start Prometheus, measure every tool's rules; the server is stopped by its pid."""
    end = int(time.time()) // 60 * 60
    data = workdir / "data"
    om = workdir / "input.om"
    openmetrics(om, n, end, slokit_service(), days)
    subprocess.run([toolchain.path("promtool"), "tsdb", "create-blocks-from", "openmetrics",
                    f"--max-block-duration={24 * (days + 1)}h", str(om), str(data)],
                   check=True, capture_output=True, timeout=3600)
    om.unlink()
    files = rule_files(workdir)
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "1m"},
                                      "rule_files": [str(p) for p in files.values()]}), encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen([toolchain.path("prometheus"), f"--config.file={config}",
                             f"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=90d",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                get(port, "/api/v1/status/runtimeinfo")
                break
            except OSError:
                time.sleep(1)
        return _measure(port, files, end, settle_s)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _interval(group: dict[str, Any]) -> float:
    text = group.get("interval")
    return Duration.parse(text).ms / 1000 if text else 60.0


def _measure(port: int, files: dict[str, Path], at: int, settle_s: int) -> dict[str, Cost]:
    costs = {tool: Cost() for tool in files}
    for tool, path in files.items():
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            per_min = 60 / _interval(group)
            for rule in group["rules"]:
                answer = get(port, "/api/v1/query", query=rule["expr"], time=str(at), stats="all")
                samples = int(answer["data"]["stats"]["samples"]["totalQueryableSamples"])
                costs[tool].samples_per_min += samples * per_min
                costs[tool].peak = max(costs[tool].peak, int(answer["data"]["stats"]["samples"]["peakSamples"]))
    times: dict[str, list[float]] = {}
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        time.sleep(15)
        for group in get(port, "/api/v1/rules")["data"]["groups"]:
            if group.get("lastEvaluation", "").startswith("0001"):
                continue
            times.setdefault(group["file"] + "\0" + group["name"], []).append(float(group["evaluationTime"]))
    for group in get(port, "/api/v1/rules")["data"]["groups"]:
        tool = next(t for t, p in files.items() if group["file"].endswith(p.name))
        key = group["file"] + "\0" + group["name"]
        if key in times:
            costs[tool].eval_s_per_min += statistics.median(times[key]) * 60 / float(group["interval"])
        costs[tool].failed += sum(1 for r in group["rules"] if r.get("health") not in ("ok", "unknown"))
    return costs


def table(results: dict[int, dict[str, Cost]]) -> Iterator[str]:
    yield ("| series | tool | samples read / minute | x Sloth | evaluation s / minute | peak samples "
           "| failed rules |")
    yield "|---|---|---|---|---|---|---|"
    for n, costs in results.items():
        sloth = costs["sloth"].samples_per_min
        for tool, c in costs.items():
            yield (f"| {n:,} | {tool} | {c.samples_per_min:,.0f} | {c.samples_per_min / sloth:.3f} "
                   f"| {c.eval_s_per_min:.3f} | {c.peak:,} | {c.failed} |")
    ns = sorted(results)
    if len(ns) >= 2:
        lo, hi = ns[0], ns[-1]
        for tool in results[hi]:
            slope = (results[hi][tool].samples_per_min - results[lo][tool].samples_per_min) / (hi - lo)
            yield f"per extra series, {tool}: {slope:,.0f} samples / minute"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", default="10,100,1000", help="comma-separated N (default 10,100,1000)")
    parser.add_argument("--settle", type=int, default=150, help="seconds of rule evaluations to time")
    args = parser.parse_args()
    results = {}
    for n in (int(x) for x in args.series.split(",")):
        with tempfile.TemporaryDirectory(prefix="slokit-cost-") as tmp:
            results[n] = measure(n, Path(tmp), args.settle)
        print(f"N = {n} measured", flush=True)
    for line in table(results):
        print(line)


if __name__ == "__main__":
    main()
