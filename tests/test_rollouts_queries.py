"""The queries of the generated Argo Rollouts and Flagger files agree with the rule files on the same data.

The analyses read the raw series (they must work where slokit's rules do not run); the rules read their
recorded ratios. promtool evaluates both over one synthetic incident: before it, during it and after it,
each trigger's Argo failure condition holds exactly when the rule's alert condition does, its value equals
the recorded ratio the rule compares, each burn query equals the recorded burn rate, and the Flagger
templates carry the very queries of the AnalysisTemplate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rollout_traffic import Mix, input_series
from rules_helpers import each_toolset, run_promtool
from slokit import pipeline, series
from slokit.rollouts import paths
from slokit.rollouts.conditions import burn_name
from slokit.spec import load_or_raise
from slokit.spec.model import Service

ROOT = Path(__file__).resolve().parent.parent
#: 60 healthy minutes, 30 minutes of 20 % 5xx and 30 % slow requests, 60 healthy minutes.
TIMELINE = [(60, Mix()), (30, Mix(errors=0.2, slow=0.3, scoped_bad=0.5, misses=0.6)), (60, Mix())]
TIMES = ["50m", "75m", "89m", "100m", "140m"]
INCIDENT = {"75m", "89m"}


def _generate(tmp_path: Path, spec: Path) -> tuple[Service, dict[str, Any]]:
    (service,) = load_or_raise([spec])
    files = pipeline.generate([service])
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    p = paths(service)
    docs = {kind: list(yaml.safe_load_all(files[path])) for kind, path in p.items()}
    return service, docs


def _rule_alerts(tmp_path: Path, service: Service) -> list[dict[str, Any]]:
    rules = yaml.safe_load((tmp_path / "alerts" / f"{service.name}.rules.yml").read_text())
    return [r for g in rules["groups"] for r in g["rules"]
            if "alert" in r and r["labels"].get(series.ROLLBACK_LABEL) == "true"]


def _expr_test(expr: str, at: str, value: float | None) -> dict[str, Any]:
    return {"expr": expr, "eval_time": at, "exp_samples": [] if value is None else [{"labels": "{}", "value": value}]}


@each_toolset
@pytest.mark.parametrize("spec", ["slo/onboarding.yaml", "tests/data/rollout-spec.yaml"])
def test_analysis_queries_agree_with_the_rules(tmp_path: Path, spec: str) -> None:
    service, docs = _generate(tmp_path, ROOT / spec)
    (template,) = docs["argo"]
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
    flagger = {d["metadata"]["name"]: d["spec"]["query"] for d in docs["flagger"] if d}
    assert sorted(flagger.values()) == sorted(m["provider"]["prometheus"]["query"] for m in metrics.values())

    alerts = _rule_alerts(tmp_path, service)
    assert alerts, "the example has rollback triggers"
    tests: list[dict[str, Any]] = []
    triggers = [m for m in metrics.values() if m.get("failureLimit") is not None]
    assert len(triggers) == len(alerts)
    for metric, alert in zip(triggers, alerts, strict=True):
        query = metric["provider"]["prometheus"]["query"]
        # "len(result) > 0 && result[0] > 0.05" -> the comparison PromQL makes of it
        op, threshold = metric["failureCondition"].split("result[0] ", 1)[1].split(" ")
        argo_breach = f"count(({query}) {op} {threshold}) or vector(0)"
        rule_breach = f"count({alert['expr']}) or vector(0)"
        for at in TIMES:
            tests.append(_expr_test(f"({argo_breach}) - ({rule_breach})", at, 0))
            tests.append(_expr_test(rule_breach, at, 1 if at in INCIDENT else 0))
        left = alert["expr"].rsplit(f" {op} ", 1)[0]
        if left.startswith("slo:sli_error:ratio_rate"):  # the recorded ratio the rule compares
            for at in TIMES:
                tests.append(_expr_test(f"abs(({query}) - on () ({left})) < bool 1e-9", at, 1))
    for slo in service.slos:
        query = metrics[burn_name(slo)]["provider"]["prometheus"]["query"]
        recorded = f'{series.BURN_RATE}{{service="{service.name}", slo="{slo.name}"}}'
        for at in TIMES:
            tests.append(_expr_test(f"abs(({query}) - on () ({recorded})) < bool 1e-9", at, 1))
        tests.append(_expr_test(f"({query}) > 1", "50m", None))  # healthy traffic stays within budget
    test_file = {"rule_files": [f"alerts/{service.name}.rules.yml"], "evaluation_interval": "1m",
                 "tests": [{"interval": "1m", "input_series": input_series(service, TIMELINE),
                            "promql_expr_test": tests}]}
    (tmp_path / "analysis.test.yml").write_text(yaml.safe_dump(test_file, sort_keys=False))
    proc = run_promtool("test", "rules", "analysis.test.yml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
