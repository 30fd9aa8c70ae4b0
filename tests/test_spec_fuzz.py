"""Validation never crashes: mutated valid specs and random text only ever produce diagnostics.

The loader's promise is that bad input becomes positioned messages, never an exception; hypothesis
mutates the example spec (drop, replace, add and retype fields at every depth) to look for a crash. Hostile
mutations are part of it: aliases to other parts of the spec (recursive ones too) and alias bombs, unicode
edge cases (lone surrogates, NUL, byte order marks, line separators, astral characters), huge scalars and
numbers, deep nesting. The command-line tests then run what a user runs, ``validate``, ``generate``,
``runbooks --html`` and ``check``, and require an exit code docs/cli.md documents, never an internal error.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slokit.cli import main
from slokit.spec import load_services
from slokit.spec.model import Service

EXAMPLE = yaml.safe_load((Path(__file__).resolve().parent.parent / "slo" / "onboarding.yaml").read_text())

odd_text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=12),  # every code point, surrogates included
    st.sampled_from(["\ud800", "\udfff", "\ud83d\ude00", "\x00", "\ufeff", "\u2028", "\u0085", "\u202e",
                     "e\u0301", "\U0001f600", "\U0010ffff", "\ufffe", "\x7f", "\x9f", "\t", "\r\n"]),
)
huge_text = st.builds(lambda c, n: c * n, st.sampled_from(["a", "\u00e9", "\U0001f600", "a ", "a\n", "{{window}}"]),
                      st.integers(min_value=1_000, max_value=20_000))
huge_scalars = st.one_of(
    huge_text,
    st.integers(min_value=20, max_value=4_300).map(lambda n: int("9" * n)),  # Python's own limit; longer: corpus
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 2**64, -(2**63)]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["5m", "0s", "30d", "1%", "150%", "{{window}}", "p95_above", "5..", '"', "\\", "ms"]),
    odd_text,
)


def _nest(depth: int, leaf: Any) -> Any:
    for i in range(depth):
        leaf = [leaf] if i % 2 else {"k": leaf}
    return leaf


def _bomb(depth: int, width: int) -> Any:
    """Lists of ``width`` references to the list below: safe_dump writes each level once, with an anchor."""
    level: Any = ["lol"] * width
    for _ in range(depth):
        level = [level] * width
    return level


keys = st.one_of(st.text(max_size=8), odd_text, st.integers(), st.none(), st.floats(allow_nan=False))
values = st.one_of(
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    ),
    huge_scalars,
    st.builds(_nest, st.integers(min_value=1, max_value=150), scalars),
    st.builds(_bomb, st.integers(min_value=1, max_value=9), st.integers(min_value=2, max_value=10)),
)


def _paths(node: Any, prefix: tuple[Any, ...] = (), seen: set[int] | None = None) -> list[tuple[Any, ...]]:
    """Every path into the spec; a shared node (an alias once dumped) is entered only once."""
    seen = set() if seen is None else seen
    out = [prefix]
    if id(node) in seen or not isinstance(node, dict | list):
        return out
    seen.add(id(node))
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        out.extend(_paths(v, (*prefix, k), seen))
    return out


def _at(spec: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        spec = spec[key]
    return spec


@st.composite
def mutated_specs(draw: st.DrawFn, base: Any = EXAMPLE) -> Any:
    spec = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in _paths(spec) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = _at(spec, path[:-1])
        action = draw(st.sampled_from(["replace", "delete", "add", "alias"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "alias":  # the same object in two places: safe_dump writes an anchor and an alias
            parent[path[-1]] = _at(spec, draw(st.sampled_from([(), *paths])))
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(values)
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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_specs())
def test_mutated_specs_only_produce_diagnostics(tmp_path: Path, spec: Any) -> None:
    _check(tmp_path, yaml.safe_dump(spec, allow_unicode=True))


#: Pieces of YAML syntax, so that random text reaches tags, anchors, merges and escapes, not only the scanner.
yaml_soup = st.lists(st.sampled_from([
    "service: ", "slos:", "\n", "  ", "- ", ": ", ", ", "[", "]", "{", "}", "&a ", "*a", "&b ", "*b", "<<: ",
    "!!int ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!set ", "!!omap ", "!!str ", "!!null ", "? ",
    '"', "'", '"\\ud800"', '"\\0"', "2001-13-45", "9" * 120, "1:2:3", "0x", "_", "+", ".nan", "~", "|\n", ">\n",
    "#", "%YAML 1.1\n", "---\n", "...\n", "x",
]), max_size=40).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200) | yaml_soup)
def test_random_text_only_produces_diagnostics(tmp_path: Path, text: str) -> None:
    _check(tmp_path, text)


#: The exit codes docs/cli.md documents for these commands; 70 (internal error) is not among them on purpose.
DOCUMENTED = {0, 1}


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in DOCUMENTED, (args, result.stderr)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    return result.exit_code, result.stderr


def _run_commands(tmp_path: Path, spec: Any, *, check: bool) -> None:
    """What a user runs on the spec; ``validate`` either passes or explains every error at its position."""
    file = tmp_path / "spec.yaml"
    file.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    code, err = _invoke("validate", str(file))
    event("valid spec: generated" if code == 0 else "invalid spec: diagnostics only")  # --hypothesis-show-statistics
    if code != 0:
        errors = [line for line in err.splitlines() if not line.startswith(f"{file}:") or ": warning: " not in line]
        assert re.fullmatch(r"\d+ errors? in \d+ file\(s\)", errors[-1]), err
        assert all(re.match(rf"{re.escape(str(file))}:\d+:\d+: ", line) for line in errors[:-1]), err
        return
    out = tmp_path / "out"
    assert _invoke("generate", str(file), "--out", str(out))[0] == 0  # what validate accepts, generate writes
    assert _invoke("runbooks", str(file), "--html", str(tmp_path / "site"))[0] == 0
    if check:
        _invoke("check", str(file), "--out", str(out))  # a failing check is exit 1 and a report, not a crash


#: The example's first SLO alone, so that generate and promtool's scenario tests take a second, not a minute.
ONE_SLO = {**EXAMPLE, "slos": EXAMPLE["slos"][:1]}
#: Text fields whose content goes into every kind of generated file: rules, routing, dashboards, runbooks.
TEXT_PATHS = [("description",), ("slos", 0, "description"), ("slos", 0, "runbook", "summary"), ("labels", "tier"),
              ("slos", 0, "alerts", 0, "description")]
#: Valid text that each generated format must carry intact: quoting, markup and template syntax, odd unicode.
tricky_text = st.one_of(
    st.sampled_from(['"', "'", "\\", ": #", "- x", "{{ x }}", "{% raw %}", "${x}", "<script>", "```", "# h",
                     "[a](javascript:x)", "\u202e", "\ufeff", "\u2028", "\u0085", "e\u0301", "\U0001f600",
                     "\U0010fffd", "\t", "a\r\nb", " lead", "trail ", "%s %d"]),
    st.text(st.characters(exclude_categories=("Cs", "Cc", "Co", "Cn")), min_size=1, max_size=20),
    huge_text,
)


@st.composite
def text_specs(draw: st.DrawFn) -> Any:
    """The example's first SLO with tricky text in fields that reach every generated file (valid, mostly)."""
    spec = copy.deepcopy(ONE_SLO)
    for path in draw(st.lists(st.sampled_from(TEXT_PATHS), min_size=1, max_size=3, unique=True)):
        parent = spec
        for key in path[:-1]:
            parent = parent[key] if isinstance(parent, list) else parent.setdefault(key, {})
        parent[path[-1]] = draw(st.one_of(tricky_text, tricky_text, odd_text))
    return spec


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutated_specs() | text_specs())
def test_commands_never_fail_with_an_internal_error(tmp_path_factory: Any, spec: Any) -> None:
    _run_commands(tmp_path_factory.mktemp("cli"), spec, check=False)


@settings(max_examples=2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text_specs())
def test_check_never_fails_with_an_internal_error(tmp_path_factory: Any, spec: Any) -> None:
    _run_commands(tmp_path_factory.mktemp("check"), spec, check=True)
