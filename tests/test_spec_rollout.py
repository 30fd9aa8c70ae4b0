# ruff: noqa: E501  (expected messages are kept whole so they read as the user sees them)
"""The ``rollout:`` section: every way it can be wrong gets one message at the right place, the model
holds what was written, and the JSON Schema agrees with the loader."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest
import yaml

from slokit.cli.schema import spec_json_schema
from slokit.spec import load_services
from slokit.spec.units import Duration

BASE = """service: pay
owner: team-a
grafana: {url: "https://grafana.example.com"}
routing:
  page: {slack: {channel: "#a", api_url_file: /f}}
  ticket: {slack: {channel: "#a", api_url_file: /f}}
slos:
  - name: avail
    objective: 99.9
    sli:
      http_errors: {status: "5.."}
rollout:
  stages:
"""
CASES: dict[str, tuple[str, list[str]]] = {
    "decreasing": ("    - {percent: 10, duration: 1h}\n    - {percent: 5, duration: 1h}\n    - {percent: 100}\n",
                   ["spec.yaml:15:17: rollout.stages[1].percent: 5 is not above the previous stage's 10: each stage must send more traffic to the new version than the one before"]),
    "repeated": ("    - {percent: 10, duration: 1h}\n    - {percent: 10, duration: 1h}\n    - {percent: 100}\n",
                 ["spec.yaml:15:17: rollout.stages[1].percent: 10 is not above the previous stage's 10: each stage must send more traffic to the new version than the one before"]),
    "last_not_100": ("    - {percent: 10, duration: 1h}\n    - {percent: 50}\n",
                     ["spec.yaml:15:17: rollout.stages[1].percent: the last stage must be 100 (the whole traffic), got 50"]),
    "missing_duration": ("    - {percent: 10}\n    - {percent: 100}\n",
                         ["spec.yaml:14:7: rollout.stages[0].duration: is required on every stage but the last: how long must the stage run before promotion?"]),
    "percent_over": ("    - {percent: 150, duration: 1h}\n",
                     ["spec.yaml:14:17: rollout.stages[0].percent: must be at most 100, got 150"]),
    "percent_text": ("    - {percent: 5%, duration: 1h}\n    - {percent: 100}\n",
                     ["spec.yaml:14:17: rollout.stages[0].percent: must be a whole number, got a string"]),
    "duration_bad": ("    - {percent: 5, duration: 2 days}\n    - {percent: 100}\n",
                     ["spec.yaml:14:30: rollout.stages[0].duration: not a duration: '2 days' (write it like 30s, 5m, 1h, 28d or 1h30m)"]),
    "duration_zero": ("    - {percent: 5, duration: 0s}\n    - {percent: 100}\n",
                      ["spec.yaml:14:30: rollout.stages[0].duration: must be a positive duration, got 0"]),
    "burn_negative": ("    - {percent: 5, duration: 1h, max_burn_rate: -1}\n    - {percent: 100}\n",
                      ["spec.yaml:14:49: rollout.stages[0].max_burn_rate: must be a number above 0, got -1"]),
    "unknown_key": ("    - {percent: 5, duraton: 1h}\n    - {percent: 100}\n",
                    ["spec.yaml:14:20: rollout.stages[0].duraton: unknown key 'duraton'; did you mean 'duration'?"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_rollout(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stages, expected = CASES[name]
    Path("spec.yaml").write_text(BASE + stages, encoding="utf-8")
    result = load_services(["spec.yaml"])
    assert [str(d) for d in result.diagnostics] == expected
    assert not result.ok and result.services == ()
    # the JSON Schema rejects the same file, except what only the loader checks: the stages against each
    # other, and durations of zero (a pattern cannot tell 0s from 5m)
    validator = jsonschema.Draft7Validator(spec_json_schema())
    loader_only = {"decreasing", "repeated", "last_not_100", "missing_duration", "duration_zero"}
    assert bool(list(validator.iter_errors(yaml.safe_load(BASE + stages)))) is (name not in loader_only)


def test_empty_stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("spec.yaml").write_text(BASE.replace("  stages:\n", "  stages: []\n"), encoding="utf-8")
    assert [str(d) for d in load_services(["spec.yaml"]).diagnostics] == [
        "spec.yaml:13:11: rollout.stages: must have at least 1 item(s)"]


def test_model_holds_the_stages(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(BASE + "    - {percent: 0, duration: 1h, min_events: 10, max_burn_rate: 1.5, description: staff}\n"
                           "    - {percent: 100, duration: 1d}\n", encoding="utf-8")
    result = load_services([spec])
    assert result.ok, result.diagnostics
    (service,) = result.services
    assert service.rollout is not None
    first, last = service.rollout.stages
    assert (first.percent, first.duration, first.min_events, first.max_burn_rate, first.description) == (
        0, Duration.parse("1h"), 10, Fraction(3, 2), "staff")
    assert (last.percent, last.duration, last.min_events, last.max_burn_rate) == (100, Duration.parse("1d"), 0, 1)
    assert (first.loc.line, first.loc.col) == (14, 7)


def test_without_rollout_there_is_no_rollout(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(BASE.replace("rollout:\n  stages:\n", ""), encoding="utf-8")
    (service,) = load_services([spec]).services
    assert service.rollout is None


def test_the_example_has_the_guides_five_stages() -> None:
    root = Path(__file__).resolve().parent.parent
    (service,) = load_services([root / "slo" / "onboarding.yaml"]).services
    assert service.rollout is not None
    assert [(s.percent, str(s.duration)) for s in service.rollout.stages] == [
        (0, "1d"), (5, "2d"), (25, "3d"), (50, "7d"), (100, "0s")]
    schema = json.dumps(spec_json_schema())
    assert '"rollout"' in schema and '"max_burn_rate"' in schema
