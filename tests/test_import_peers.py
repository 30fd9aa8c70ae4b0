"""``slokit import`` on the peers' published examples: each converts into a valid spec or fails, precisely.

Every Sloth v0.16 example and every OpenSLO v1 example either converts (and the spec validates) or is
refused with a diagnostic at the construct's line that says why. Sloth's two OpenSLO ``v1alpha`` examples
are refused by ``import sloth`` with a pointer to ``import openslo``, which converts them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from peers import need, peer_files
from slokit.cli import main
from slokit.importers import openslo, sloth
from slokit.spec import load_services

#: Examples that cannot be converted: (line, field path, words of the reason).
SLOTH_REFUSED: dict[str, list[tuple[int, str, str]]] = {
    "plugin-getting-started.yml": [(13, "slos[0].sli.plugin", "SLI plugins are Go code")],
    "plugin-k8s-getting-started.yml": [(27, "spec.slos[0].sli.plugin", "SLI plugins are Go code")],
    "victoria-metrics.yml": [(12, "slo_plugins.chain[0].id", "MetricsQL")],
    "openslo-getting-started.yml": [(6, "apiVersion", "use slokit import openslo")],
    "openslo-kubernetes-apiserver.yml": [(8, "apiVersion", "use slokit import openslo"),
                                         (34, "apiVersion", "use slokit import openslo")],
}
OPENSLO_REFUSED: dict[str, list[tuple[int, str, str]]] = {
    "occurences-slo.yaml": [(15, "spec.indicator.spec.thresholdMetric", "threshold metrics")],
    "ratio-timeslices.yaml": [
        (29, "spec.budgetingMethod", "RatioTimeslices budgeting has no slokit equivalent"),
        (18, "spec.indicator.spec.ratioMetric.good.metricSource.type", "'Any' is not Prometheus"),
        (23, "spec.indicator.spec.ratioMetric.total.metricSource.type", "'Any' is not Prometheus"),
        (31, "spec.objectives[0]", "time-slice targets"),
    ],
    "timeslices-slo.yaml": [
        (0, "spec.timeWindow[0]", "calendar-aligned windows"),
        (0, "spec.budgetingMethod", "Timeslices budgeting"),
        (0, "spec.indicator.spec.ratioMetric.good.metricSource.type", "'Any' is not Prometheus"),
        (0, "spec.indicator.spec.ratioMetric.total.metricSource.type", "'Any' is not Prometheus"),
    ],
}


def _validates(tmp_path: Path, texts: dict[str, str]) -> None:
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = load_services([tmp_path])
    assert result.ok, "\n".join(map(str, result.errors))
    assert len(result.services) == len(texts)


@pytest.mark.parametrize("path", peer_files("sloth", "*.y*ml"), ids=lambda p: p.name if p else "absent")
def test_every_sloth_example_converts_or_is_refused_precisely(path: Path | None, tmp_path: Path) -> None:
    file = need(path)
    result = sloth.convert(str(file), file.read_text(encoding="utf-8"))
    refused = SLOTH_REFUSED.get(file.name)
    if refused is None:
        assert not result.diagnostics, "\n".join(map(str, result.diagnostics))
        assert result.drafts
        _validates(tmp_path, {f"{d.service}.yaml": d.text("Sloth") for d in result.drafts})
        return
    got = [(d.loc.line, d.path, d.message) for d in result.diagnostics]
    assert len(got) == len(refused), got
    for (line, field, words), (got_line, got_field, message) in zip(refused, got, strict=True):
        assert (got_line, got_field) == (line, field) and words in message, got
        assert all(d.loc.file == str(file) for d in result.diagnostics)


@pytest.mark.parametrize("path", peer_files("openslo", "examples/**/*.yaml"),
                         ids=lambda p: f"{p.parent.name}/{p.name}" if p else "absent")
def test_every_openslo_v1_example_converts_or_is_refused_precisely(path: Path | None) -> None:
    file = need(path)
    result = openslo.convert([(str(file), file.read_text(encoding="utf-8"))])
    expected = OPENSLO_REFUSED[file.name]  # none of the published v1 examples uses Prometheus
    got = [(d.loc.line, d.path, d.message) for d in result.diagnostics]
    assert not result.drafts
    for line, field, words in expected:
        assert any(f == field and words in m and (not line or ln == line) for ln, f, m in got), (field, got)


@pytest.mark.parametrize("name", ["openslo-getting-started.yml", "openslo-kubernetes-apiserver.yml"])
def test_sloths_openslo_v1alpha_examples_convert_with_import_openslo(name: str, tmp_path: Path) -> None:
    (folder,) = {p.parent for p in map(need, peer_files("sloth", name))}
    file = folder / name
    result = openslo.convert([(str(file), file.read_text(encoding="utf-8"))])
    assert not result.diagnostics, "\n".join(map(str, result.diagnostics))
    _validates(tmp_path, {f"{d.service}.yaml": d.text("OpenSLO") for d in result.drafts})
    slos = [s["name"] for d in result.drafts for s in d.data["slos"]]
    # Sloth's OpenSLO example with two objectives becomes two SLOs, one per objective.
    assert len(slos) == {"openslo-getting-started.yml": 1, "openslo-kubernetes-apiserver.yml": 3}[name]


def test_cli_refuses_with_file_line_and_writes_nothing(tmp_path: Path) -> None:
    files = [str(need(p)) for p in peer_files("sloth", "getting-started.yml")]
    files += [str(need(p)) for p in peer_files("sloth", "plugin-getting-started.yml")]
    out = tmp_path / "slo"
    run = CliRunner().invoke(main, ["import", "sloth", *files, "--out", str(out)])
    assert run.exit_code == 1, run.output
    assert f"{files[1]}:13:7: slos[0].sli.plugin: SLI plugin 'getting_started_availability'" in run.output
    assert "Traceback" not in run.output
    assert not out.exists()


def test_cli_writes_specs_and_never_overwrites_without_force(tmp_path: Path) -> None:
    files = [str(need(p)) for p in peer_files("sloth", "k8s-multifile.yml")]
    out = tmp_path / "slo"
    run = CliRunner().invoke(main, ["import", "sloth", *files, "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in out.iterdir()) == ["myservice.yaml", "myservice2.yaml"]
    text = (out / "myservice2.yaml").read_text(encoding="utf-8")
    assert "owner: myteam2" in text and "objective: 99.99" in text
    assert "# Sloth alert name MyServiceHighErrorRate" in text
    again = CliRunner().invoke(main, ["import", "sloth", *files, "--out", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
    assert (out / "myservice2.yaml").read_text(encoding="utf-8") == text
    forced = CliRunner().invoke(main, ["import", "sloth", *files, "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert CliRunner().invoke(main, ["validate", str(out)]).exit_code == 0


def test_cli_prints_to_stdout_without_out(tmp_path: Path) -> None:
    files = [str(need(p)) for p in peer_files("sloth", "no-alerts.yml")]
    run = CliRunner().invoke(main, ["import", "sloth", *files])
    assert run.exit_code == 0, run.output
    assert "burn_rate: false" in run.stdout and "service: myapp" in run.stdout


def test_a_file_that_is_not_yaml_is_one_positioned_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yml"
    bad.write_text('version: "prometheus/v1"\nservice: [unclosed\n', encoding="utf-8")
    result = sloth.convert(str(bad), bad.read_text(encoding="utf-8"))
    assert [d.loc.file for d in result.diagnostics] == [str(bad)]
    assert result.diagnostics[0].message.startswith("invalid YAML")


def test_only_one_tier_disabled_is_refused_at_its_line(tmp_path: Path) -> None:
    text = """version: prometheus/v1
service: svc
labels: {owner: team-a}
slos:
  - name: availability
    objective: 99.9
    sli: {events: {error_query: 'sum(rate(e[{{.window}}]))', total_query: 'sum(rate(t[{{.window}}]))'}}
    alerting:
      page_alert: {disable: true}
"""
    result = sloth.convert("s.yml", text)
    assert [(d.loc.line, d.path) for d in result.diagnostics] == [(9, "slos[0].alerting.page_alert.disable")]
    assert "on or off together" in result.diagnostics[0].message


def test_labels_that_may_hold_secrets_never_reach_the_spec() -> None:
    text = """version: prometheus/v1
service: svc
labels: {owner: team-a, slack_webhook: 'https://hooks.slack.com/services/T0/B0/SECRET1'}
slos:
  - name: a
    objective: 99
    sli: {events: {error_query: 'sum(rate(e[{{.window}}]))', total_query: 'sum(rate(t[{{.window}}]))'}}
    alerting:
      labels: {pd_routing_key: SECRET2}
      annotations: {note: 'https://hooks.slack.com/services/T0/B0/SECRET3'}
      page_alert: {labels: {routing_key: SECRET4}}
"""
    result = sloth.convert("s.yml", text)
    assert not result.diagnostics
    spec = result.drafts[0].text("Sloth")
    assert "SECRET" not in spec and "hooks.slack.com" not in spec
    assert "pd_routing_key left out: it may hold a secret" in spec


def test_a_query_prometheus_cannot_parse_is_not_written(tmp_path: Path) -> None:
    spec = tmp_path / "s.yml"
    spec.write_text("""version: prometheus/v1
service: svc
labels: {owner: team-a}
slos:
  - name: a
    objective: 99
    sli: {events: {error_query: 'sum(rate(e[{{.window}}])', total_query: 'sum(rate(t[{{.window}}]))'}}
""", encoding="utf-8")
    out = tmp_path / "slo"
    run = CliRunner().invoke(main, ["import", "sloth", str(spec), "--out", str(out)])
    assert run.exit_code == 1, run.output
    assert "slos[0].sli.ratio.bad" in run.output and "nothing written" in run.output
    assert not out.exists()
