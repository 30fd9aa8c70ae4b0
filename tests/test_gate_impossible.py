"""``slokit gate`` never promotes on counts that cannot be true.

A burn rate below zero or infinite, infinite or NaN events, more bad events than events: each is "hold" with
the reason, never "promote". Twice: against a local server answering crafted JSON (values a real Prometheus
gives only through a broken query or a faulty proxy), and against a real Prometheus serving a ``ratio`` SLI
whose good query counts more than its total (which makes the bad count negative).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crafted_prometheus import crafted
from gate_helpers import gate
from verdict_tsdb import openmetrics, serving

SPEC = """service: onboarding
owner: payments
slos:
  - name: checkout
    objective: 99
    sli:
      ratio:
        {queries}
rollout:
  stages:
    - {{percent: 5, duration: 10m, max_burn_rate: 2}}
    - {{percent: 100}}
"""
BAD_TOTAL = ("bad: 'sum(rate(payments_failed_total[{{window}}]))'\n"
             "        total: 'sum(rate(payments_total[{{window}}]))'")
GOOD_TOTAL = ("good: 'sum(rate(payments_good_total[{{window}}]))'\n"
              "        total: 'sum(rate(payments_total[{{window}}]))'")


def _spec(tmp_path: Path, queries: str) -> Path:
    path = tmp_path / "onboarding.yaml"
    path.write_text(SPEC.format(queries=queries), encoding="utf-8")
    return path


Answers = dict[str, str]


@pytest.fixture
def crafted_server() -> Iterator[tuple[str, Answers]]:
    """Every range query answered with one sample: ``bad`` for the bad-events query, ``events`` for the rest."""
    answers: Answers = {}

    def answer(path: str, params: dict[str, str]) -> dict[str, Any]:
        value = answers["bad" if "payments_failed_total" in params["query"] else "events"]
        return {"resultType": "matrix", "result": [{"metric": {}, "values": [[float(params["end"]), value]]}]}

    with crafted(answer) as url:
        yield url, answers


@pytest.mark.parametrize(("events", "bad", "reason"), [
    ("6000", "-300", "bad events = -300, not a count"),  # a burn rate of -5
    ("6000", "-Inf", "bad events = -inf, not a count"),
    ("+Inf", "0", "events = inf, not a count"),
    ("NaN", "0", "events = nan, not a count"),
    ("6000", "NaN", "bad events = nan, not a count"),
    ("6000", "6100", "more bad events than events (6100 of 6000)"),
])
def test_impossible_values_hold_with_the_reason(tmp_path: Path, crafted_server: tuple[str, Answers], events: str,
                                                 bad: str, reason: str) -> None:
    url, answers = crafted_server
    answers.update(events=events, bad=bad)
    spec = _spec(tmp_path, BAD_TOTAL)
    run = gate(spec, url, 1, "--since", "20m", "--json")
    assert run.code == 10, run.out + run.err
    (burn,) = [c for c in run.report["checks"] if c["kind"] == "burn"]
    assert burn["outcome"] == "hold"
    assert f"checkout: impossible data from Prometheus: {reason}" in burn["detail"]
    text = gate(spec, url, 1, "--since", "20m")
    assert text.code == 10
    assert any(line.split()[:2] == ["HOLD", "burn"] and "checkout: impossible data" in line
               for line in text.out.splitlines())


def test_sound_values_from_the_same_server_promote(tmp_path: Path, crafted_server: tuple[str, Answers]) -> None:
    """The control: the server above with plausible counts (1 % bad, half the 2 % the stage allows)."""
    url, answers = crafted_server
    answers.update(events="6000", bad="60")
    run = gate(_spec(tmp_path, BAD_TOTAL), url, 1, "--since", "20m", "--json")
    assert run.code == 0, run.out + run.err
    (burn,) = [c for c in run.report["checks"] if c["kind"] == "burn"]
    assert burn["value"] == pytest.approx(1.0)


def test_a_good_query_counting_more_than_the_total_holds_on_a_real_prometheus(tmp_path: Path) -> None:
    start = (time.time() // 60) * 60 - 3 * 3600
    text = openmetrics({"payments_total": lambda i: 100, "payments_good_total": lambda i: 150}, start, 120)
    with serving(tmp_path, text) as url:
        run = gate(_spec(tmp_path, GOOD_TOTAL), url, 1, "--since", f"{start + 60 * 60:.0f}",
                   "--at", f"{start + 100 * 60:.0f}", "--json")
    assert run.code == 10, run.out + run.err
    (burn,) = [c for c in run.report["checks"] if c["kind"] == "burn"]
    assert burn["outcome"] == "hold"
    assert "checkout: impossible data from Prometheus: bad events = -2" in burn["detail"], burn["detail"]
