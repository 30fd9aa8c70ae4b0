"""The push use case (slokit.push) against the local Grafana API stand-in (not a real Grafana)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from grafana_standin import GrafanaStandIn
from slokit import __version__
from slokit.grafana_api import GrafanaClient
from slokit.push import (
    INPUT_ERROR,
    MESSAGE_MAX,
    UID_MAX,
    Target,
    changed_keys,
    collect,
    folder_uid,
    push,
)
from slokit.spec.model import Service
from slokit.transport import RetryPolicy, Timeouts

TOKEN = "glsa_FAKEcanaryTOKEN_0123456789abcdef_slokit"


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrafanaStandIn]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with GrafanaStandIn(TOKEN) as standin:
        yield standin


def client(url: str) -> GrafanaClient:
    return GrafanaClient(url, TOKEN, timeouts=Timeouts(1, 2), retry=RetryPolicy(3, 0), sleep=lambda _: None)


@pytest.fixture
def services(onboarding: Service) -> list[Service]:
    """The example service plus two more: one in its own folder, one sharing the example's."""
    return [
        onboarding,
        dataclasses.replace(onboarding, name="billing", grafana_folder="Payments", source="slo/billing.yaml"),
        dataclasses.replace(onboarding, name="search", source="slo/search.yaml"),
    ]


def dashboard(uid: str, title: str, **extra: object) -> dict[str, object]:
    return {"uid": uid, "title": title, "panels": [{"id": 1, "type": "stat"}], "refresh": "1m", **extra}


def write_dashboards(root: Path, services: list[Service]) -> Path:
    """What ``slokit generate`` writes: one bare model per service plus the overview."""
    folder = root / "dashboards"
    folder.mkdir(parents=True, exist_ok=True)
    for s in services:
        (folder / f"{s.name}.json").write_text(json.dumps(dashboard(f"slokit-{s.name}", f"SLOs / {s.name}")))
    (folder / "slo-overview.json").write_text(json.dumps(dashboard("slokit-overview", "SLO overview")))
    return folder


def test_push_creates_folders_and_dashboards(grafana: GrafanaStandIn, services: list[Service], tmp_path: Path) -> None:
    targets, problems = collect(write_dashboards(tmp_path, services), services)
    report = push(client(grafana.url), targets)
    assert problems == [] and report.exit_code == 0
    assert [(o.file, o.state) for o in report.outcomes] == [
        ("dashboards/onboarding.json", "created"),
        ("dashboards/billing.json", "created"),
        ("dashboards/search.json", "created"),
        ("dashboards/slo-overview.json", "created"),
    ]
    titles = {f["uid"]: f["title"] for f in grafana.state.folders.values()}
    assert titles == {folder_uid("SLOs"): "SLOs", folder_uid("Payments"): "Payments"}
    stored = grafana.state.dashboards
    assert stored["slokit-billing"]["folderUid"] == folder_uid("Payments")
    assert stored["slokit-overview"]["folderUid"] == folder_uid("SLOs")  # most services use SLOs
    assert stored["slokit-onboarding"]["message"] == f"slokit {__version__} from {services[0].source}"
    assert stored["slokit-overview"]["message"] == (
        f"slokit {__version__} from {services[0].source}, slo/billing.yaml, slo/search.yaml"
    )
    assert len(grafana.calls("POST", "/api/folders")) == 2  # each folder created once
    assert "/d/slokit-billing/" in report.outcomes[1].detail


def test_push_again_updates_the_same_uids(grafana: GrafanaStandIn, services: list[Service], tmp_path: Path) -> None:
    targets, _ = collect(write_dashboards(tmp_path, services), services)
    push(client(grafana.url), targets)
    report = push(client(grafana.url), targets)
    assert {o.state for o in report.outcomes} == {"updated"}
    assert sorted(grafana.state.dashboards) == [
        "slokit-billing",
        "slokit-onboarding",
        "slokit-overview",
        "slokit-search",
    ]
    assert {d["version"] for d in grafana.state.dashboards.values()} == {2}
    assert len(grafana.state.folders) == 2 and len(grafana.calls("POST", "/api/folders")) == 2


def test_an_existing_folder_is_found_by_title(grafana: GrafanaStandIn, onboarding: Service, tmp_path: Path) -> None:
    grafana.add_folder("hand-made", "SLOs")
    targets, _ = collect(write_dashboards(tmp_path, [onboarding]), [onboarding])
    assert push(client(grafana.url), targets).exit_code == 0
    assert grafana.calls("POST", "/api/folders") == []
    assert grafana.state.dashboards["slokit-onboarding"]["folderUid"] == "hand-made"


def test_the_general_folder_is_grafanas_root(grafana: GrafanaStandIn, onboarding: Service, tmp_path: Path) -> None:
    general = dataclasses.replace(onboarding, grafana_folder="General")
    targets, _ = collect(write_dashboards(tmp_path, [general]), [general])
    assert push(client(grafana.url), targets).exit_code == 0
    assert grafana.calls("POST", "/api/folders") == [] and grafana.state.folders == {}
    assert {d["folderUid"] for d in grafana.state.dashboards.values()} == {""}
    assert {o.state for o in push(client(grafana.url), targets, dry_run=True).outcomes} == {"unchanged"}


def test_folder_created_meanwhile_409_is_handled(grafana: GrafanaStandIn, onboarding: Service, tmp_path: Path) -> None:
    """The listing misses the folder (another push created it just after): POST answers 409, push goes on."""
    grafana.add_folder(folder_uid("SLOs"), "SLOs")
    grafana.fail_next("GET", "/api/folders", 200, [])
    targets, _ = collect(write_dashboards(tmp_path, [onboarding]), [onboarding])
    report = push(client(grafana.url), targets)
    assert report.exit_code == 0
    assert [c.path for c in grafana.calls("POST")] == ["/api/folders", "/api/dashboards/db", "/api/dashboards/db"]
    assert grafana.state.dashboards["slokit-onboarding"]["folderUid"] == folder_uid("SLOs")


def test_409_for_a_title_that_differs_in_case_finds_that_folder(
    grafana: GrafanaStandIn, onboarding: Service, tmp_path: Path
) -> None:
    grafana.add_folder("theirs", "slos")
    grafana.fail_next("GET", "/api/folders", 200, [])
    grafana.fail_next("POST", "/api/folders", 409, {"message": "a folder with the same name already exists"})
    targets, _ = collect(write_dashboards(tmp_path, [onboarding]), [onboarding])
    assert push(client(grafana.url), targets).exit_code == 0
    assert grafana.state.dashboards["slokit-onboarding"]["folderUid"] == "theirs"


def test_one_failure_does_not_hide_the_others(grafana: GrafanaStandIn, services: list[Service], tmp_path: Path) -> None:
    targets, _ = collect(write_dashboards(tmp_path, services), services)
    grafana.fail_next(
        "POST", "/api/dashboards/db", 412, {"message": "The dashboard has been changed", "status": "version-mismatch"}
    )
    report = push(client(grafana.url), targets)
    assert [o.state for o in report.outcomes] == ["failed", "created", "created", "created"]
    assert "412 version-mismatch" in report.outcomes[0].detail
    assert report.exit_code == 7


def test_a_fatal_failure_skips_the_rest(grafana: GrafanaStandIn, services: list[Service], tmp_path: Path) -> None:
    targets, _ = collect(write_dashboards(tmp_path, services), services)
    grafana.fail_next("GET", "/api/folders", 401, {"message": "invalid API key"})
    report = push(client(grafana.url), targets)
    assert [o.state for o in report.outcomes] == ["failed", "skipped", "skipped", "skipped"]
    assert report.exit_code == 4
    assert grafana.calls("POST") == []


def test_an_unhealthy_server_gets_no_writes(grafana: GrafanaStandIn, onboarding: Service, tmp_path: Path) -> None:
    grafana.state.database = "failing"
    targets, _ = collect(write_dashboards(tmp_path, [onboarding]), [onboarding])
    report = push(client(grafana.url), targets)
    assert report.error is not None and report.exit_code == 8
    assert {o.state for o in report.outcomes} == {"skipped"}
    assert [c.path for c in grafana.state.requests] == ["/api/health"] * 3


def test_taking_over_a_same_titled_dashboard_is_reported(
    grafana: GrafanaStandIn, onboarding: Service, tmp_path: Path
) -> None:
    """Grafana (and the stand-in) save over a same-titled dashboard in the folder, keeping its uid."""
    grafana.add_folder(folder_uid("SLOs"), "SLOs")
    api = client(grafana.url)
    api.save_dashboard(dashboard("hand-made", "SLOs / onboarding"), folder_uid("SLOs"), "by hand")
    targets, _ = collect(write_dashboards(tmp_path, [onboarding]), [onboarding])
    report = push(api, targets)
    assert report.outcomes[0].state == "failed" and report.exit_code == 7
    assert "uid hand-made" in report.outcomes[0].detail and "slokit-onboarding" in report.outcomes[0].detail


def test_dry_run_reports_new_changed_unchanged_and_writes_nothing(
    grafana: GrafanaStandIn, services: list[Service], tmp_path: Path
) -> None:
    folder = write_dashboards(tmp_path, services)
    targets, _ = collect(folder, services)
    push(client(grafana.url), [t for t in targets if t.uid != "slokit-search"])
    (folder / "onboarding.json").write_text(
        json.dumps(dashboard("slokit-onboarding", "SLOs / onboarding", refresh="5m"))
    )
    moved = [dataclasses.replace(services[0]), dataclasses.replace(services[1], grafana_folder="Money"), services[2]]
    targets, _ = collect(folder, moved)
    before = len(grafana.state.requests)
    report = push(client(grafana.url), targets, dry_run=True)
    states = {o.file: (o.state, o.detail) for o in report.outcomes}
    assert states["dashboards/onboarding.json"][0] == "changed"
    assert "refresh differ" in states["dashboards/onboarding.json"][1]
    assert states["dashboards/billing.json"][0] == "changed"
    assert "moves from folder 'Payments' to 'Money'" in states["dashboards/billing.json"][1]
    assert states["dashboards/search.json"][0] == "new"
    assert states["dashboards/slo-overview.json"] == ("unchanged", "uid slokit-overview, Grafana's version 1")
    assert report.exit_code == 0
    assert {r.method for r in grafana.state.requests[before:]} == {"GET"}
    assert {d["version"] for d in grafana.state.dashboards.values()} == {1}


def test_dry_run_warns_about_a_provisioned_dashboard(
    grafana: GrafanaStandIn, onboarding: Service, tmp_path: Path
) -> None:
    grafana.add_dashboard("slokit-onboarding", "SLOs / onboarding", provisioned=True)
    targets, _ = collect(write_dashboards(tmp_path, [onboarding]), [onboarding])
    outcome = push(client(grafana.url), targets, dry_run=True).outcomes[0]
    assert outcome.state == "changed" and "Grafana will refuse a push" in outcome.detail
    assert push(client(grafana.url), targets).outcomes[0].detail.endswith("(Cannot save provisioned dashboard)")


def test_changed_keys_ignore_what_grafana_sets() -> None:
    local = dashboard("u", "T")
    remote = {**local, "id": 12, "version": 7, "iteration": 1700000000}
    assert changed_keys(local, remote) == []
    assert changed_keys(local, {**remote, "tags": ["x"]}) == ["tags"]
    assert changed_keys({**local, "time": {"from": "now-6h"}}, remote) == ["time"]


def test_collect_reports_missing_and_malformed_files(onboarding: Service, tmp_path: Path) -> None:
    folder = tmp_path / "dashboards"
    folder.mkdir()
    (folder / "slo-overview.json").write_text("{not json")
    (folder / "retired.json").write_text(json.dumps(dashboard("slokit-retired", "old")))
    targets, problems = collect(folder, [onboarding])
    assert targets == []
    assert [(p.file, p.state, p.exit_code) for p in problems] == [
        ("dashboards/onboarding.json", "failed", INPUT_ERROR),
        ("dashboards/slo-overview.json", "failed", INPUT_ERROR),
        ("dashboards/retired.json", "skipped", 0),
    ]
    assert "slokit generate" in problems[0].detail and "not valid JSON" in problems[1].detail


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"dashboard": {"uid": "x", "title": "t"}}, "bare dashboard model"),
        ({"title": "t"}, "uid"),
        ({"uid": "x" * 41, "title": "t"}, "uid"),
        ({"uid": "x", "title": " "}, "title"),
        ([1, 2], "bare dashboard model"),
    ],
)
def test_collect_checks_the_model(onboarding: Service, tmp_path: Path, model: object, message: str) -> None:
    write_dashboards(tmp_path, [onboarding])
    (tmp_path / "dashboards" / "onboarding.json").write_text(json.dumps(model))
    targets, problems = collect(tmp_path / "dashboards", [onboarding])
    assert [t.uid for t in targets] == ["slokit-overview"]
    assert message in problems[0].detail


@pytest.mark.parametrize("title", ["SLOs", "Team Payments / SLOs", "x" * 80, "日本語", "!!!"])
def test_folder_uids_are_stable_valid_and_distinct(title: str) -> None:
    uid = folder_uid(title)
    assert uid == folder_uid(title) and 0 < len(uid) <= UID_MAX
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in uid)
    assert uid != folder_uid(title + "2")


def test_version_message_fits_grafanas_limit() -> None:
    target = Target(
        "dashboards/slo-overview.json", dashboard("u", "t"), "SLOs", tuple(f"slo/s{n}.yaml" for n in range(80))
    )
    assert len(target.message) == MESSAGE_MAX and target.message.endswith("...")
    assert target.message.startswith(f"slokit {__version__} from slo/s0.yaml, slo/s1.yaml")
