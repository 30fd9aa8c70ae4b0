"""A real Prometheus with 89 days of synthetic history for the report tests.

The counters' per-minute increments are chosen here (:class:`Traffic`), so every number a report shows is
plain arithmetic over them (:meth:`Traffic.sums`). Building it is what a user would do to backfill:

1. ``promtool tsdb create-blocks-from openmetrics`` over the raw counters (one sample a minute) and a few
   ``ALERTS`` samples (backfilled rules cannot evaluate alerts);
2. start the real ``prometheus`` on those blocks (127.0.0.1, retention long enough for the past months);
3. ``promtool tsdb create-blocks-from rules`` with the shop service's generated recording rules over
   ``RULES_SPAN``, in two passes because the bad step count reads the recorded total one (one promtool per
   rule, in parallel); Prometheus is restarted on the new blocks after each pass. The ledger service's
   rules are deliberately not backfilled, so its reports read the raw SLI queries.

Data: 2026-02-01 to 2026-05-01 UTC, so February (28 days), March (31) and April (30) are whole months.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from slokit import series, toolchain
from slokit.catalog import BURN_ALERT
from slokit.stack import HOST, Process, free_port, start_process, wait_http_ok

START = datetime(2026, 2, 1, tzinfo=UTC)
END = datetime(2026, 5, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
QUIET_DAY = datetime(2026, 4, 19, tzinfo=UTC)
INCIDENT_DAY = datetime(2026, 4, 20, tzinfo=UTC)
INCIDENT = (INCIDENT_DAY + timedelta(hours=14), INCIDENT_DAY + timedelta(hours=16))
#: ALERTS samples written for the shop's availability SLO: (first, last) firing minute of each episode.
ALERT_EPISODES = ((INCIDENT[0] + 3 * MINUTE, INCIDENT[1] - MINUTE),
                  (INCIDENT_DAY + timedelta(hours=18), INCIDENT_DAY + timedelta(hours=18, minutes=10)))
#: The span the shop's recording rules are backfilled over (backfilling costs about 0.15 s per 2h block and
#: rule, so not the whole 89 days): it covers the 7d window before the quiet and the incident day.
RULES_SPAN = (datetime(2026, 4, 11, 23, tzinfo=UTC), datetime(2026, 4, 21, 1, tzinfo=UTC))
SPECS = Path(__file__).parent / "report"


def _quiet(t: datetime) -> bool:
    """No traffic on the quiet day, from 10 minutes before it to 10 minutes after, so that no 5m rate of the
    traffic around it reaches into the day."""
    return QUIET_DAY - 10 * MINUTE < t <= QUIET_DAY + timedelta(days=1, minutes=10)


def _incident(t: datetime) -> bool:
    return INCIDENT[0] < t <= INCIDENT[1]


def shop_requests(t: datetime) -> tuple[int, int]:
    """(good, bad) requests counted in the minute ending at ``t``: February 499 + 1, later 999 + 1; nothing on
    the quiet day; 800 + 200 during the incident."""
    if _quiet(t):
        return 0, 0
    if _incident(t):
        return 800, 200
    return (499, 1) if t <= datetime(2026, 3, 1, tzinfo=UTC) else (999, 1)


def shop_cache(t: datetime) -> tuple[int, int]:
    """(hits, misses) of the catalog cache: 95 + 5 a minute, nothing on the quiet day."""
    return (0, 0) if _quiet(t) else (95, 5)


def ledger_requests(t: datetime) -> tuple[int, int]:
    """(good, bad): 99 + 1 a minute (1 % errors, far above the 0.1 % budget), nothing on the quiet day."""
    return (0, 0) if _quiet(t) else (99, 1)


@dataclass(frozen=True)
class Traffic:
    """One SLO's injected good and bad events per minute."""

    per_minute: Callable[[datetime], tuple[int, int]]

    def sums(self, start: datetime, end: datetime) -> tuple[int, int]:
        """(bad, total) events of the minutes ending in (start, end], clipped to the data's range."""
        bad = total = 0
        t = max(start, START) + MINUTE
        while t <= min(end, END):
            good, b = self.per_minute(t)
            bad += b
            total += good + b
            t += MINUTE
        return bad, total


TRAFFIC = {("shop", "availability"): Traffic(shop_requests), ("shop", "catalog-cache"): Traffic(shop_cache),
           ("ledger", "availability"): Traffic(ledger_requests)}


def _minutes() -> Iterator[datetime]:
    t = START
    while t <= END:
        yield t
        t += MINUTE


def _counter(lines: list[str], name: str, labels: str, per_minute: Callable[[datetime], int]) -> None:
    value = 0
    for t in _minutes():
        if t > START:
            value += per_minute(t)
        lines.append(f"{name}{{{labels}}} {value} {int(t.timestamp())}\n")


def openmetrics() -> str:
    lines: list[str] = ["# TYPE http_server_request_duration_seconds counter\n"]
    count = "http_server_request_duration_seconds_count"
    for job, traffic in (("shop", shop_requests), ("ledger", ledger_requests)):
        _counter(lines, count, f'job="{job}",http_response_status_code="200"', lambda t, f=traffic: f(t)[0])
        _counter(lines, count, f'job="{job}",http_response_status_code="503"', lambda t, f=traffic: f(t)[1])
    lines.append("# TYPE cache_lookups counter\n")
    _counter(lines, "cache_lookups_total", 'job="shop",cache="catalog",outcome="hit"', lambda t: shop_cache(t)[0])
    _counter(lines, "cache_lookups_total", 'job="shop",cache="catalog",outcome="miss"', lambda t: shop_cache(t)[1])
    lines.append("# TYPE ALERTS gauge\n")
    alert = (f'alertname="{BURN_ALERT}",service="shop",slo="availability",severity="page",team="payments",'
             'long_window="1h",short_window="5m"')
    pending_at = INCIDENT[0] + MINUTE
    lines.append(f'ALERTS{{{alert},alertstate="pending"}} 1 {int(pending_at.timestamp())}\n')
    lines.append(f'ALERTS{{{alert},alertstate="pending"}} 1 {int((pending_at + MINUTE).timestamp())}\n')
    for first, last in ALERT_EPISODES:
        t = first
        while t <= last:
            lines.append(f'ALERTS{{{alert},alertstate="firing"}} 1 {int(t.timestamp())}\n')
            t += MINUTE
    lines.append("# EOF\n")
    return "".join(lines)


class BackfilledPrometheus:
    """Prometheus on 127.0.0.1 over the backfilled blocks; stopped by pid in :meth:`close`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "prometheus-data"
        self.port = free_port()
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _promtool(self, *args: str) -> None:
        proc = subprocess.run([toolchain.path("promtool"), *args], capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"promtool {args[:3]} failed ({proc.returncode}): {proc.stderr[-2000:]}")

    def start(self) -> None:
        config = self.workdir / "prometheus.yml"
        config.write_text("global: {scrape_interval: 1m}\n")
        self.process = start_process("Prometheus", [
            toolchain.path("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.data}",
            "--storage.tsdb.retention.time=20y", f"--web.listen-address={HOST}:{self.port}",
        ], self.workdir / "prometheus.log")
        wait_http_ok(self.process, f"{self.url}/-/ready", timeout=60)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def _backfill_rules(self, rules: list[dict[str, object]], name: str) -> None:
        """One promtool per rule, concurrently; then Prometheus restarts with the new blocks.

        The rule files are named relative to the work folder: promtool, like Prometheus, offsets a group's
        evaluations within its interval by a hash of the group's name and file, and with the temporary
        folder in the path that offset changed from run to run. Near the end of the interval, promtool's
        importer drops the evaluation at each 2h block's edge (about one step in 120, which the report then
        shows as coverage below 100 %); a fixed name keeps the offset, and so the backfill, the same."""
        procs = []
        for i, rule in enumerate(rules):
            rule_file = f"{name}-{i}.rules.yml"
            (self.workdir / rule_file).write_text(
                yaml.safe_dump({"groups": [{"name": name, "interval": "1m", "rules": [rule]}]}))
            out = self.workdir / f"{name}-{i}-blocks"
            procs.append((out, subprocess.Popen(
                [toolchain.path("promtool"), "tsdb", "create-blocks-from", "rules", "-q", f"--url={self.url}",
                 f"--start={RULES_SPAN[0].isoformat()}", f"--end={RULES_SPAN[1].isoformat()}",
                 f"--output-dir={out}", rule_file],
                cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
        for _, proc in procs:
            _, err = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"promtool create-blocks-from rules failed ({proc.returncode}): {err[-2000:]}")
        self.stop()
        for out, _ in procs:
            for block in out.iterdir():
                shutil.move(str(block), self.data / block.name)
        self.start()

    def build(self, generated: Path) -> BackfilledPrometheus:
        """Blocks from the raw counters, then the shop's recorded step counts from its generated rule file."""
        raw = self.workdir / "raw.om"
        raw.write_text(openmetrics())
        self.data.mkdir(parents=True)
        self._promtool("tsdb", "create-blocks-from", "openmetrics", "-q", "--max-block-duration=1458h", str(raw),
                       str(self.data))
        self.start()
        groups = yaml.safe_load((generated / "alerts" / "shop.rules.yml").read_text())["groups"]
        recorded = [r for g in groups for r in g["rules"] if "record" in r]
        for name in (series.TOTAL_STEP, series.BAD_STEP):
            self._backfill_rules([r for r in recorded if r["record"] == name], name.replace(":", "_"))
        return self

    def close(self) -> None:
        self.stop()
