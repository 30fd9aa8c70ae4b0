"""``slokit push`` from the command line against the local Grafana API stand-in (not a real Grafana).

Every run's stdout and stderr is checked for the (fake, recognisable) token.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from grafana_standin import STANDIN_VERSION, GrafanaStandIn
from slokit import __version__
from slokit.cli import main
from tls_helpers import make_tls

TOKEN = "glsa_FAKEcanaryTOKEN_0123456789abcdef_slokit"
SPEC = Path(__file__).resolve().parent.parent / "slo" / "onboarding.yaml"


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrafanaStandIn]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with GrafanaStandIn(TOKEN, readonly_token="glsa_viewer_token") as standin:
        yield standin


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A generated tree as ``slokit generate`` leaves it (dashboards only)."""
    folder = tmp_path / "dashboards"
    folder.mkdir()
    for name, uid, title in [
        ("onboarding", "slokit-onboarding", "SLOs / onboarding"),
        ("slo-overview", "slokit-overview", "SLO overview"),
    ]:
        (folder / f"{name}.json").write_text(json.dumps({"uid": uid, "title": title, "panels": []}))
    return tmp_path


def run(out: Path, *args: str, url: str | None = None, token: str | None = TOKEN) -> Result:
    env = {"GRAFANA_URL": url, "GRAFANA_TOKEN": token}
    result = CliRunner().invoke(
        main, ["push", str(SPEC), "--out", str(out), "--retries", "2", "--backoff", "0", *args], env=env
    )
    assert TOKEN not in result.stdout and TOKEN not in result.stderr
    assert "Traceback" not in result.output
    return result


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_push_over_tls_with_a_private_ca(out: Path, tmp_path: Path) -> None:
    """The stand-in served over HTTPS with a certificate of a CA made here: --ca-file (or GRAFANA_CA_FILE)
    trusts it; without, the push stops at once with exit 3 and says which option is missing."""
    tls = make_tls(tmp_path / "tls")
    with GrafanaStandIn(TOKEN, tls=tls.server_context()) as grafana:
        assert grafana.url.startswith("https://")
        pushed = run(out, "--ca-file", str(tls.ca), url=grafana.url)
        assert pushed.exit_code == 0, pushed.output
        assert "2 created" in pushed.stdout
        untrusted = run(out, url=grafana.url)
        assert untrusted.exit_code == 3, untrusted.output
        assert "TLS certificate not trusted (pass the CA file that signed it)" in untrusted.stderr
        from_env = CliRunner().invoke(main, ["push", str(SPEC), "--out", str(out), "--dry-run"],
                                      env={"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN,
                                           "GRAFANA_CA_FILE": str(tls.ca)})
        assert from_env.exit_code == 0 and "2 unchanged" in from_env.stdout, from_env.output
        not_pem = run(out, "--ca-file", str(tmp_path / "tls" / "server.ext"), url=grafana.url)
        assert not_pem.exit_code == 2 and "holds no PEM certificate" in not_pem.stderr


def test_push_then_dry_run(grafana: GrafanaStandIn, out: Path) -> None:
    first = run(out, url=grafana.url)
    assert first.exit_code == 0, first.output
    assert "created   dashboards/onboarding.json: uid slokit-onboarding, version 1, folder 'SLOs'" in first.stdout
    assert f"2 dashboard file(s) pushed to {grafana.url} (version {STANDIN_VERSION}): 2 created" in first.stdout
    second = run(out, url=grafana.url)
    assert "2 updated" in second.stdout and second.exit_code == 0
    dry = run(out, "--dry-run", url=grafana.url)
    assert dry.exit_code == 0
    assert "unchanged dashboards/onboarding.json" in dry.stdout and "nothing written" in dry.stdout
    assert {d["version"] for d in grafana.state.dashboards.values()} == {2}


def test_token_file_with_trailing_newline(grafana: GrafanaStandIn, out: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    result = run(out, "--token-file", str(token_file), "--url", grafana.url, token=None)
    assert result.exit_code == 0, result.output
    assert grafana.calls("POST", "/api/dashboards/db")[0].authorization == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("url", "token", "args", "message"),
    [
        (None, TOKEN, [], "no Grafana URL: set GRAFANA_URL or pass --url"),
        ("http://127.0.0.1:1", None, [], "no Grafana token: set GRAFANA_TOKEN or pass --token-file"),
        ("http://127.0.0.1:1", None, ["--token-file", "/nonexistent/token"], "cannot read the Grafana token file"),
        ("http://127.0.0.1:1", f"{TOKEN} extra", [], "contains whitespace"),
        (f"http://user:{TOKEN}@127.0.0.1:1", TOKEN, [], "must not contain credentials"),
    ],
)
def test_configuration_errors_exit_2_before_sending(
    out: Path, url: str | None, token: str | None, args: list[str], message: str
) -> None:
    result = run(out, *args, url=url, token=token)
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_dashboards_exit_2(grafana: GrafanaStandIn, tmp_path: Path) -> None:
    result = run(tmp_path, url=grafana.url)
    assert result.exit_code == 2
    assert "dashboards/onboarding.json: not found: run `slokit generate`" in result.stderr


def test_unreachable_host_exits_3(out: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = run(out, url=url)
    assert result.exit_code == 3
    assert f"cannot reach Grafana at {url}: connection refused (3 attempts)" in result.stderr
    assert "skipped   dashboards/onboarding.json: not attempted" in result.stdout


@pytest.mark.parametrize(
    ("inject", "token", "code", "message"),
    [
        (None, "glsa_not_the_token", 4, "401 Unauthorized"),
        (None, "glsa_viewer_token", 5, "403 Forbidden"),
        ((404, {"message": "folder not found"}), TOKEN, 6, "the folder does not exist"),
        ((412, {"message": "Changed", "status": "version-mismatch"}), TOKEN, 7, "412 version-mismatch (Changed)"),
        ((412, {"message": "Same name", "status": "name-exists"}), TOKEN, 7, "412 name-exists"),
        ((412, {"message": "Plugin", "status": "plugin-dashboard"}), TOKEN, 7, "412 plugin-dashboard"),
        ((503, {"message": "unavailable"}), TOKEN, 8, "503 (unavailable) (3 attempts)"),
        ((422, {"message": "Unprocessable"}), TOKEN, 9, "422 (Unprocessable)"),
    ],
)
def test_grafana_errors_have_distinct_exit_codes(
    grafana: GrafanaStandIn, out: Path, inject: tuple[int, dict[str, str]] | None, token: str, code: int, message: str
) -> None:
    if inject is not None:
        grafana.fail_next("POST", "/api/dashboards/db", *inject, times=3)
    result = run(out, url=grafana.url, token=token)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "failed    dashboards/onboarding.json" in result.stderr


def test_unhealthy_database_exits_8(grafana: GrafanaStandIn, out: Path) -> None:
    grafana.state.database = "failing"
    result = run(out, url=grafana.url)
    assert result.exit_code == 8
    assert "is not healthy" in result.stderr and "(database failing)" in result.stderr
    assert grafana.calls("POST") == []


def test_dry_run_lists_each_state(grafana: GrafanaStandIn, out: Path) -> None:
    assert run(out, url=grafana.url).exit_code == 0
    changed = json.loads((out / "dashboards" / "onboarding.json").read_text()) | {"tags": ["slo"]}
    (out / "dashboards" / "onboarding.json").write_text(json.dumps(changed))
    del grafana.state.dashboards["slokit-overview"]
    result = run(out, "--dry-run", url=grafana.url)
    assert result.exit_code == 0
    assert (
        "changed   dashboards/onboarding.json: uid slokit-onboarding, Grafana's version 1: tags differ" in result.stdout
    )
    assert "new       dashboards/slo-overview.json" in result.stdout
    assert grafana.calls("POST", "/api/dashboards/db")[-1].body["dashboard"].get("tags") is None


def test_the_installed_command_exits_with_the_code_and_keeps_the_token_out(out: Path, tmp_path: Path) -> None:
    """A real process: exit status and both streams as a CI job sees them."""
    slokit = Path(sys.executable).parent / "slokit"
    env = {"GRAFANA_URL": f"http://127.0.0.1:{closed_port()}", "GRAFANA_TOKEN": TOKEN, "NO_PROXY": "127.0.0.1"}
    proc = subprocess.run(
        [str(slokit), "push", str(SPEC), "--out", str(out), "--retries", "1", "--backoff", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 3
    assert "cannot reach Grafana" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr


def test_generated_dashboards_push_and_then_compare_unchanged(grafana: GrafanaStandIn, tmp_path: Path) -> None:
    """End to end: `slokit generate` for two services in different folders, then push and dry-run."""
    specs = tmp_path / "slo"
    specs.mkdir()
    text = SPEC.read_text()
    (specs / "onboarding.yaml").write_text(text)
    billing = text.replace("service: onboarding", "service: billing").replace("{folder: SLOs}", "{folder: Payments}")
    assert billing.count("billing") == 1 and "Payments" in billing
    (specs / "billing.yaml").write_text(billing)
    generated = CliRunner().invoke(main, ["generate", str(specs), "--out", str(tmp_path)])
    assert generated.exit_code == 0, generated.output

    pushed = CliRunner().invoke(
        main, ["push", str(specs), "--out", str(tmp_path)], env={"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN}
    )
    assert pushed.exit_code == 0, pushed.output
    assert pushed.stdout.count("created   dashboards/") == 3
    folders = {f["uid"]: f["title"] for f in grafana.state.folders.values()}
    placed = {uid: folders[d["folderUid"]] for uid, d in grafana.state.dashboards.items()}
    assert placed == {"slokit-onboarding": "SLOs", "slokit-billing": "Payments", "slokit-overview": "Payments"}
    assert (
        grafana.state.dashboards["slokit-billing"]["message"] == f"slokit {__version__} from {specs / 'billing.yaml'}"
    )

    dry = CliRunner().invoke(
        main,
        ["push", str(specs), "--out", str(tmp_path), "--dry-run"],
        env={"GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": TOKEN},
    )
    assert dry.exit_code == 0 and dry.stdout.count("unchanged dashboards/") == 3, dry.output
