"""Texts people read: durations as 2.5s, burn-rate factors with two decimals everywhere, descriptions that
name a latency SLI's threshold and the SLO's own window."""

from __future__ import annotations

from pathlib import Path

import yaml

from slokit.artifacts import Options
from slokit.rules.render import emit_rules
from slokit.spec import load_service
from slokit.spec.units import Duration, format_factor

SPEC = """service: shop
owner: web
buckets: [100ms, 250ms, 1s, 2500ms]
slos:
  - name: fast
    objective: 99
    window: 28d
    sli: {http_latency: {threshold: 250ms}}
    alerts:
      - {error_ratio_above: 5%, for: 10m, severity: ticket}
      - {p99_above: 2500ms, for: 2500ms, severity: page}
"""


def test_durations_read_as_people_write_them() -> None:
    assert [Duration.parse(t).human for t in ("2500ms", "300ms", "1s", "1h30m", "61500ms")] == [
        "2.5s", "300ms", "1s", "1h30m", "1m1.5s"]
    assert str(Duration.parse("2500ms")) == "2s500ms"  # what Prometheus is given


def test_factor_has_two_decimals_at_most() -> None:
    assert [format_factor(f) for f in (14.4, 13.44, 28 / 30, 1.0)] == ["14.4", "13.44", "0.93", "1"]


def rules(tmp_path: Path) -> list[dict[str, object]]:
    spec = tmp_path / "shop.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    text = emit_rules([load_service(spec)], Options())["alerts/shop.rules.yml"]
    return [r for g in yaml.safe_load(text)["groups"] for r in g["rules"] if "alert" in r]


def test_burn_descriptions_use_the_summary_factor_and_the_slo_window(tmp_path: Path) -> None:
    burns = [r for r in rules(tmp_path) if r["alert"] == "SLOErrorBudgetBurn"]
    assert burns
    for rule in burns:
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        factor = annotations["summary"].split("burning ")[1].split("x ")[0]
        assert f"at least {factor}x as fast" in annotations["description"]
        assert "requests were slower than 250ms" in annotations["description"]
    slowest = burns[-1]["annotations"]
    assert isinstance(slowest, dict)
    assert "burning 0.93x over 3d and 6h" in slowest["summary"]
    assert "gone within 30d" not in slowest["description"]
    assert "93.333% of the budget is spent by the end of the 28d window" in slowest["description"]


def test_latency_guardrails_name_the_threshold_and_read_2_5s(tmp_path: Path) -> None:
    by_name = {r["alert"]: r for r in rules(tmp_path)}
    ratio = by_name["SLOErrorRatioHigh"]["annotations"]
    assert isinstance(ratio, dict)
    assert ratio["description"].startswith("The share of requests slower than 250ms over 5m is")
    p99 = by_name["SLOLatencyP99High"]
    assert p99["for"] == "2s500ms"
    assert isinstance(p99["annotations"], dict)
    assert p99["annotations"]["summary"] == "shop fast: p99 latency above 2.5s for 2.5s"
    assert "past the limit of 2.5s for 2.5s" in p99["annotations"]["description"]
