"""Validation never crashes: mutated valid specs and random text only ever produce diagnostics.

The loader's promise is that bad input becomes positioned messages, never an exception; hypothesis
mutates the example spec (drop, replace, add and retype fields at every depth) to look for a crash.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slokit.spec import load_services
from slokit.spec.model import Service

EXAMPLE = yaml.safe_load((Path(__file__).resolve().parent.parent / "slo" / "onboarding.yaml").read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["5m", "0s", "30d", "1%", "150%", "{{window}}", "p95_above", "5..", '"', "\\", "ms"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated_specs(draw: st.DrawFn) -> Any:
    spec = copy.deepcopy(EXAMPLE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in _paths(spec) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = spec
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(values)
        else:
            parent.append(draw(values))
    return spec


def _check(tmp_path: Path, text: str) -> None:
    file = tmp_path / "spec.yaml"
    file.write_text(text, encoding="utf-8")
    result = load_services([file])  # must not raise
    for diag in result.diagnostics:
        assert diag.loc.file == str(file)
        assert diag.loc.line >= 1 and diag.loc.col >= 1
        assert diag.message
    if result.ok:
        assert all(isinstance(s, Service) for s in result.services) and result.services
    else:
        assert result.services == ()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_specs())
def test_mutated_specs_only_produce_diagnostics(tmp_path: Path, spec: Any) -> None:
    _check(tmp_path, yaml.safe_dump(spec, allow_unicode=True))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_random_text_only_produces_diagnostics(tmp_path: Path, text: str) -> None:
    _check(tmp_path, text)
