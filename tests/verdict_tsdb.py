"""A real Prometheus serving counters the test writes minute by minute (backfilled with promtool).

The counters are given as per-minute increments; ``promtool tsdb create-blocks-from openmetrics`` turns
them into blocks and the real ``prometheus`` of the tool set in force serves them on 127.0.0.1 (stopped by
pid). The data may reach a few minutes past "now", so that checks reading the last 5 minutes see samples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import yaml

from rules_helpers import run_promtool
from slokit import stack, toolchain

#: Per-minute increment of one counter series at minute i of the data.
Increment = Callable[[int], float]
#: A gauge's value at minute i, None for no sample (``ALERTS`` exists only while an alert is active).
Gauge = Callable[[int], float | None]


def openmetrics(series: Mapping[str, Increment], start: float, minutes: int,
                gauges: Mapping[str, Gauge] | None = None) -> str:
    """OpenMetrics text of counters named with labels (``payments_total{market="fr"}``), one sample a minute
    from ``start`` (unix seconds) over ``minutes`` minutes, starting at 0, and of ``gauges``."""
    families: dict[str, list[str]] = {}
    for name, increment in series.items():
        family = name.split("{", 1)[0]
        value = 0.0
        lines = families.setdefault(family.removesuffix("_total"), [])
        for i in range(minutes + 1):
            if i:
                value += increment(i)
            lines.append(f"{name} {value:g} {int(start) + 60 * i}\n")
    out = []
    for family, lines in families.items():
        out.append(f"# TYPE {family} counter\n")
        out += lines
    gauge_families: dict[str, list[str]] = {}
    for name, gauge in (gauges or {}).items():
        lines = gauge_families.setdefault(name.split("{", 1)[0], [])
        lines += [f"{name} {v:g} {int(start) + 60 * i}\n" for i in range(minutes + 1) if (v := gauge(i)) is not None]
    for family, lines in gauge_families.items():
        out.append(f"# TYPE {family} gauge\n")
        out += lines
    return "".join([*out, "# EOF\n"])


@contextmanager
def serving(tmp: Path, text: str) -> Iterator[str]:
    """The base URL of a real Prometheus serving the OpenMetrics ``text`` as backfilled blocks."""
    data = tmp / "data.om"
    data.write_text(text, encoding="utf-8")
    proc = run_promtool("tsdb", "create-blocks-from", "openmetrics", str(data), str(tmp / "tsdb"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "1m"}, "scrape_configs": []}))
    port = stack.free_port()
    server = stack.start_process("Prometheus", [
        toolchain.path("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
        "--storage.tsdb.retention.time=20y", f"--web.listen-address={stack.HOST}:{port}",
    ], tmp / "prometheus.log")
    try:
        stack.wait_http_ok(server, f"http://{stack.HOST}:{port}/-/ready", timeout=60)
        yield f"http://{stack.HOST}:{port}"
    finally:
        server.stop()
