"""`slokit generate --target`: every engine's rule file passes that engine's own checker, for any spec.

promtool of each tool set checks the Prometheus-format files where the tool set supports their fields (the
remote-write profile's ``query_offset`` needs Prometheus 2.53+, and 2.42 refuses it); ``vmalert -dryRun``
of Debian's VictoriaMetrics checks the vmalert file; the PrometheusRule object is validated against the
Prometheus Operator's CRD schema (tests/data/crds/). Thanos Ruler has no checker here: its file is the
plain groups plus ``partial_response_strategy``, so promtool checks the groups once that field is taken out
and the field itself is checked against the Operator's CRD pattern for it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from rules_helpers import each_toolset, run_promtool
from slokit import toolchain
from slokit.artifacts import Options
from slokit.cli import main
from slokit.rules.check import check_rules
from slokit.rules.render import (
    DEFAULT_QUERY_OFFSET,
    TARGETS,
    TargetError,
    emit_rules,
    rules_path,
)
from slokit.spec import load_or_raise
from slokit.spec.model import Service
from slokit.spec.units import Duration
from test_rollouts_crds import CRDS, _errors, strict
from test_rules_generated import VARIED

ROOT = Path(__file__).resolve().parent.parent
SPECS = [ROOT / "slo" / "onboarding.yaml", ROOT / "tests" / "e2e" / "onboarding.yaml"]


@pytest.fixture(scope="module", params=["example", "e2e", "varied"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Service:
    if request.param == "varied":
        path = tmp_path_factory.mktemp("spec") / "payments.yaml"
        path.write_text(VARIED, encoding="utf-8")
    else:
        path = SPECS[0] if request.param == "example" else SPECS[1]
    (svc,) = load_or_raise([path])
    return svc


def target_files(service: Service, target: str, **options: Any) -> dict[str, str]:
    """The files a target adds to the plain rule and test files."""
    plain = emit_rules([service], Options())
    files = emit_rules([service], Options(rules_format=target, **options))
    assert {k: v for k, v in files.items() if k in plain} == plain, "every target keeps the plain files as they are"
    return {k: v for k, v in files.items() if k not in plain}


def only(files: dict[str, str], suffix: str) -> Any:
    (path,) = files
    assert path.endswith(suffix), path
    return yaml.safe_load(files[path])


def plain_groups(service: Service) -> list[dict[str, Any]]:
    return list(yaml.safe_load(emit_rules([service], Options())[rules_path(service)])["groups"])


def promtool_check(tmp_path: Path, groups: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    return run_promtool("check", "rules", "--lint=all", "--lint-fatal", str(path))


def vmalert_dry_run(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rules.vmalert.yml"
    path.write_text(text, encoding="utf-8")
    return subprocess.run([toolchain.path("vmalert"), "-dryRun", f"-rule={path}", "-loggerLevel=ERROR"],
                          capture_output=True, text=True, timeout=60, check=False)


# --- one file per target, the same groups ---------------------------------------------------------------------


def test_prometheus_adds_nothing_and_the_wrapped_targets_carry_the_plain_groups(service: Service) -> None:
    assert target_files(service, "prometheus") == {}
    groups = plain_groups(service)
    assert only(target_files(service, "prometheus-operator"), ".prometheusrule.yml")["spec"]["groups"] == groups
    mimir = only(target_files(service, "mimir"), ".mimir.yml")
    assert (mimir["namespace"], mimir["groups"]) == (service.name, groups)
    assert only(target_files(service, "vmalert"), ".vmalert.yml")["groups"] == groups


def test_thanos_ruler_groups_abort_on_a_partial_response(service: Service) -> None:
    groups = only(target_files(service, "thanos-ruler"), ".thanos-ruler.yml")["groups"]
    assert {g["partial_response_strategy"] for g in groups} == {"abort"}
    assert [{k: v for k, v in g.items() if k != "partial_response_strategy"} for g in groups] == plain_groups(service)


def test_the_remote_write_profile_sets_each_group_s_offset(service: Service) -> None:
    offset = Duration.parse("45s")
    prom = only(target_files(service, "prometheus", query_offset=offset), ".remote-write.yml")["groups"]
    assert [g["query_offset"] for g in prom] == ["45s"] * len(plain_groups(service))
    assert [{k: v for k, v in g.items() if k != "query_offset"} for g in prom] == plain_groups(service)
    op = only(target_files(service, "prometheus-operator", query_offset=offset), ".prometheusrule.yml")
    assert {g["query_offset"] for g in op["spec"]["groups"]} == {"45s"}
    vm = only(target_files(service, "vmalert", query_offset=offset), ".vmalert.yml")["groups"]
    assert {g["eval_delay"] for g in vm} == {"45s"}
    assert str(DEFAULT_QUERY_OFFSET) == "1m"


def test_combinations_an_engine_cannot_honour_are_refused(service: Service) -> None:
    for target, option, why in (("thanos-ruler", {"query_offset": DEFAULT_QUERY_OFFSET}, "no query_offset"),
                                ("mimir", {"query_offset": DEFAULT_QUERY_OFFSET}, "ruler_evaluation_delay_duration"),
                                ("vmalert", {"rule_labels": (("release", "x"),)}, "--target prometheus-operator"),
                                ("nagios", {}, "unknown rules format 'nagios'")):
        with pytest.raises(TargetError, match=why):
            emit_rules([service], Options(rules_format=target, **option))
    with pytest.raises(TargetError, match="slokit sets this label itself"):
        emit_rules([service], Options(rules_format="prometheus-operator",
                                      rule_labels=(("app.kubernetes.io/managed-by", "me"),)))


# --- each file passes its engine's checker ---------------------------------------------------------------------


@each_toolset
def test_every_prometheus_format_file_passes_promtool(service: Service, tmp_path: Path,
                                                      toolset: toolchain.ToolSet) -> None:
    op = only(target_files(service, "prometheus-operator"), ".prometheusrule.yml")["spec"]["groups"]
    mimir = only(target_files(service, "mimir"), ".mimir.yml")["groups"]
    thanos = [{k: v for k, v in g.items() if k != "partial_response_strategy"}
              for g in only(target_files(service, "thanos-ruler"), ".thanos-ruler.yml")["groups"]]
    for groups in (op, mimir, thanos):
        proc = promtool_check(tmp_path, groups)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    remote = only(target_files(service, "prometheus", query_offset=DEFAULT_QUERY_OFFSET), ".remote-write.yml")
    proc = promtool_check(tmp_path, remote["groups"])
    if toolset.prometheus == "2.42":  # query_offset came with 2.53: the old promtool must refuse the file
        assert proc.returncode != 0 and "field query_offset not found" in proc.stdout + proc.stderr, proc
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_vmalert_dry_run_accepts_the_vmalert_files(service: Service, tmp_path: Path) -> None:
    for options in ({}, {"query_offset": DEFAULT_QUERY_OFFSET}):
        (text,) = target_files(service, "vmalert", **options).values()
        proc = vmalert_dry_run(tmp_path, text)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_vmalert_dry_run_is_a_real_check(tmp_path: Path) -> None:
    """The checker has teeth: a Prometheus-only group field and a broken expression are refused."""
    bad_field = "groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: a:b\n    expr: sum(up)\n"
    bad_expr = "groups:\n- name: g\n  rules:\n  - record: a:b\n    expr: sum(rate(up[5m])\n"
    for text in (bad_field, bad_expr):
        assert vmalert_dry_run(tmp_path, text).returncode != 0, text


@each_toolset
def test_slokit_check_runs_each_target_s_checker(tmp_path: Path, toolset: toolchain.ToolSet) -> None:
    (service,) = load_or_raise([SPECS[0]])
    files: dict[str, str] = {}
    for target in TARGETS:
        files.update(emit_rules([service], Options(rules_format=target)))
    files.update(emit_rules([service], Options(query_offset=DEFAULT_QUERY_OFFSET)))
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    results = {(r.tool, r.target): r for r in check_rules(tmp_path, [service])}
    targets = ("onboarding.prometheusrule.yml", "onboarding.mimir.yml", "onboarding.thanos-ruler.yml")
    assert all(results[("promtool", f"alerts/{name}")].ok for name in targets), results
    assert results[("vmalert", "alerts/onboarding.vmalert.yml")].ok, results
    remote = results[("promtool", "alerts/onboarding.remote-write.yml")]
    if toolset.prometheus == "2.42":
        assert not remote.ok and "needs Prometheus 2.53 or later" in remote.detail, remote
    else:
        assert remote.ok, remote
    thanos = tmp_path / "alerts" / "onboarding.thanos-ruler.yml"
    thanos.write_text(thanos.read_text().replace("partial_response_strategy: abort", "partial_response_strategy: skip"))
    (bad,) = [r for r in check_rules(tmp_path, [service]) if r.target.endswith(".thanos-ruler.yml")]
    assert not bad.ok and "is not abort or warn" in bad.detail, bad


# --- the PrometheusRule object against the Operator's CRD ------------------------------------------------------


def _go_pattern(schema: Any) -> Any:
    """The CRD's patterns are Go (RE2) regexes: ``^(?i)...`` has its flag after the anchor, which Python only
    takes first; the same regex, flag first."""
    if isinstance(schema, list):
        return [_go_pattern(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _go_pattern(v) for k, v in schema.items()}
    if isinstance(out.get("pattern"), str) and out["pattern"].startswith("^(?i)"):
        out["pattern"] = "(?i)^" + out["pattern"][len("^(?i)"):]
    return out


def operator_validator() -> jsonschema.Draft7Validator:
    schema = strict(_go_pattern(yaml.safe_load((CRDS / "prometheus-operator-prometheusrule.schema.yaml").read_text())))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_prometheus_rules_match_the_operator_crd(service: Service) -> None:
    v = operator_validator()
    for options in ({}, {"query_offset": DEFAULT_QUERY_OFFSET}, {"rule_labels": (("release", "kube-prom"),)}):
        obj = only(target_files(service, "prometheus-operator", **options), ".prometheusrule.yml")
        assert (obj["apiVersion"], obj["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
        assert _errors(v, obj) == []
    assert obj["metadata"]["labels"]["release"] == "kube-prom"
    thanos = only(target_files(service, "thanos-ruler"), ".thanos-ruler.yml")
    assert _errors(v, {"spec": thanos}) == [], "partial_response_strategy has the value the CRD allows"


def test_the_crd_schema_rejects_what_the_operator_would() -> None:
    v = operator_validator()
    group = {"name": "g", "rules": [{"record": "a:b", "expr": "up"}]}
    assert _errors(v, {"spec": {"groups": [group]}}) == []
    for bad in ({**group, "interval": "1 minute"}, {**group, "partial_response_strategy": "ignore"},
                {**group, "evaluation_delay": "1m"}, {"rules": group["rules"]}):
        assert _errors(v, {"spec": {"groups": [bad]}}), bad


# --- the command line -----------------------------------------------------------------------------------------


def test_generate_target_flags(tmp_path: Path) -> None:
    runner = CliRunner()
    spec = str(SPECS[0])
    ok = runner.invoke(main, ["generate", spec, "--out", str(tmp_path / "a"), "--target", "prometheus-operator",
                              "--remote-write", "--query-offset", "30s", "--rule-label", "release=kube-prom"])
    assert ok.exit_code == 0, ok.output
    obj = yaml.safe_load((tmp_path / "a" / "alerts" / "onboarding.prometheusrule.yml").read_text())
    assert obj["metadata"]["labels"]["release"] == "kube-prom"
    assert {g["query_offset"] for g in obj["spec"]["groups"]} == {"30s"}
    old = runner.invoke(main, ["generate", spec, "--out", str(tmp_path / "b"), "--format", "mimir"])
    assert old.exit_code == 0 and (tmp_path / "b" / "alerts" / "onboarding.mimir.yml").is_file(), old.output
    for args, message in ((["--target", "thanos-ruler", "--remote-write"], "Thanos Ruler has no query_offset"),
                          (["--rule-label", "release"], "is not KEY=VALUE"),
                          (["--target", "prometheus-operator", "--rule-label", "a=b c"], "is not KEY=VALUE"),
                          (["--remote-write", "--query-offset", "soon"], "--query-offset"),
                          (["--remote-write", "--query-offset", "0s"], "must be more than 0")):
        bad = runner.invoke(main, ["generate", spec, "--out", str(tmp_path / "c"), *args])
        assert bad.exit_code == 2 and message in bad.output, (args, bad.output)
        assert "Traceback" not in bad.output
    assert set(TARGETS) == {"prometheus", "prometheus-operator", "mimir", "thanos-ruler", "vmalert"}
