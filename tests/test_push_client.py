"""GrafanaClient against the local Grafana API stand-in (tests/grafana_standin.py, not a real Grafana)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from grafana_standin import STANDIN_VERSION, GrafanaStandIn
from slokit.grafana_api import (
    ConfigError,
    DashboardConflict,
    FolderExists,
    FolderMissing,
    Forbidden,
    GrafanaClient,
    Rejected,
    ServerError,
    Unauthorized,
    Unreachable,
    check_token,
    check_url,
)
from slokit.transport import RetryPolicy, Timeouts

TOKEN = "glsa_FAKEcanaryTOKEN_0123456789abcdef_slokit"
DASHBOARD = {"uid": "slokit-checkout", "title": "SLOs / checkout", "panels": [], "schemaVersion": 39}


@pytest.fixture
def grafana(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrafanaStandIn]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with GrafanaStandIn(TOKEN, readonly_token="glsa_viewer_token") as standin:
        yield standin


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(url: str, token: str = TOKEN, attempts: int = 3, sleeps: Sleeps | None = None) -> GrafanaClient:
    return GrafanaClient(
        url,
        token,
        timeouts=Timeouts(connect=1, read=2),
        retry=RetryPolicy(attempts=attempts, backoff=0.25, max_backoff=0.5),
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_health_reports_the_standin_and_needs_no_token(grafana: GrafanaStandIn) -> None:
    assert client(grafana.url).health()["version"] == STANDIN_VERSION
    assert grafana.calls("GET", "/api/health")[0].path == "/api/health"


def test_health_fails_clearly_when_the_database_is_failing(grafana: GrafanaStandIn) -> None:
    grafana.state.database = "failing"
    sleeps = Sleeps()
    with pytest.raises(ServerError, match=r"not healthy.*503.*database failing"):
        client(grafana.url, sleeps=sleeps).health()
    assert len(grafana.calls("GET", "/api/health")) == 3  # 503 is retried, then given up
    assert sleeps == [0.25, 0.5]


def test_requests_carry_the_bearer_token(grafana: GrafanaStandIn) -> None:
    client(grafana.url).list_folders()
    assert grafana.calls("GET", "/api/folders")[0].authorization == f"Bearer {TOKEN}"


def test_netrc_credentials_do_not_replace_the_token(
    grafana: GrafanaStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password other\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client(grafana.url).list_folders()
    assert grafana.calls("GET", "/api/folders")[0].authorization == f"Bearer {TOKEN}"


def test_save_creates_then_updates_the_same_uid(grafana: GrafanaStandIn) -> None:
    api = client(grafana.url)
    api.create_folder("slokit-slos", "SLOs")
    first = api.save_dashboard(DASHBOARD, "slokit-slos", "slokit 0.1.0 from slo/checkout.yaml")
    second = api.save_dashboard({**DASHBOARD, "id": 99, "version": 1}, "slokit-slos", "again")
    assert (first.uid, first.version, first.status) == ("slokit-checkout", 1, "success")
    assert (second.uid, second.version) == ("slokit-checkout", 2)
    assert list(grafana.state.dashboards) == ["slokit-checkout"]
    sent = grafana.calls("POST", "/api/dashboards/db")[-1].body
    assert sent["dashboard"]["id"] is None and sent["overwrite"] is True and sent["folderUid"] == "slokit-slos"
    stored = api.get_dashboard("slokit-checkout")
    assert stored is not None and stored["meta"]["folderTitle"] == "SLOs"
    assert api.get_dashboard("missing") is None


def test_folders_list_page_and_conflict(grafana: GrafanaStandIn) -> None:
    for n in range(5):
        grafana.add_folder(f"f{n}", f"Folder {n}")
    api = client(grafana.url)
    assert [f["uid"] for f in api.list_folders(page_size=2)] == ["f0", "f1", "f2", "f3", "f4"]
    assert len(grafana.calls("GET", "/api/folders")) == 3
    assert api.get_folder("f3") == grafana.state.folders["f3"]
    assert api.get_folder("nope") is None
    with pytest.raises(FolderExists):
        api.create_folder("f0", "Another title")
    grafana.fail_next("GET", "/api/folders", 200, [{"uid": "a", "title": "A"}, {"uid": "b", "title": "B"}], times=5)
    assert [f["uid"] for f in api.list_folders(page_size=2)] == ["a", "b"]  # a server ignoring paging ends


def test_5xx_is_retried_then_succeeds(grafana: GrafanaStandIn) -> None:
    grafana.add_folder("slos", "SLOs")
    grafana.fail_next("POST", "/api/dashboards/db", 502, {"message": "bad gateway"}, times=2)
    sleeps = Sleeps()
    saved = client(grafana.url, sleeps=sleeps).save_dashboard(DASHBOARD, "slos", "m")
    assert saved.version == 1
    assert len(grafana.calls("POST", "/api/dashboards/db")) == 3
    assert sleeps == [0.25, 0.5]


def test_retry_after_is_honoured_up_to_the_cap(grafana: GrafanaStandIn) -> None:
    grafana.fail_next("GET", "/api/folders", 429, {"message": "too many"}, headers={"Retry-After": "0.4"})
    grafana.fail_next("GET", "/api/folders", 503, {"message": "busy"}, headers={"Retry-After": "120"})
    sleeps = Sleeps()
    assert client(grafana.url, sleeps=sleeps).list_folders() == []
    assert sleeps == [0.4, 0.5]  # the server's wish beats the shorter backoff; max_backoff caps it


def test_dropped_connection_is_retried_then_succeeds(grafana: GrafanaStandIn) -> None:
    grafana.drop_next("GET", "/api/folders", times=1)
    assert client(grafana.url).list_folders() == []
    assert len(grafana.calls("GET", "/api/folders")) == 2


def test_retries_are_bounded_and_end_in_a_server_error(grafana: GrafanaStandIn) -> None:
    grafana.add_folder("slos", "SLOs")
    grafana.fail_next("POST", "/api/dashboards/db", 500, {"message": "database is locked"}, times=100)
    sleeps = Sleeps()
    with pytest.raises(ServerError, match=r"500 \(database is locked\) \(4 attempts\)"):
        client(grafana.url, attempts=4, sleeps=sleeps).save_dashboard(DASHBOARD, "slos", "m")
    assert len(grafana.calls("POST", "/api/dashboards/db")) == 4
    assert sleeps == [0.25, 0.5, 0.5]  # exponential, capped at max_backoff


def test_a_slow_answer_times_out_and_is_retried(grafana: GrafanaStandIn) -> None:
    grafana.state.delay = 0.5
    api = GrafanaClient(
        grafana.url,
        TOKEN,
        timeouts=Timeouts(connect=1, read=0.1),
        retry=RetryPolicy(attempts=2, backoff=0),
        sleep=Sleeps(),
    )
    with pytest.raises(Unreachable, match=r"no (complete )?answer within 0.1s \(2 attempts\)"):
        api.list_folders()


def test_a_closed_port_is_unreachable_after_the_retries() -> None:
    sleeps = Sleeps()
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(Unreachable, match=f"cannot reach Grafana at {url}: connection refused") as info:
        client(url, sleeps=sleeps).health()
    assert sleeps == [0.25, 0.5]
    assert info.value.exit_code == 3 and info.value.__cause__ is None


@pytest.mark.parametrize(
    ("status", "body", "error", "exit_code"),
    [
        (401, {"message": "invalid API key"}, Unauthorized, 4),
        (403, {"message": "Access denied"}, Forbidden, 5),
        (404, {"message": "folder not found", "status": "not-found"}, FolderMissing, 6),
        (400, {"message": "folder not found"}, FolderMissing, 6),
        (
            412,
            {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"},
            DashboardConflict,
            7,
        ),
        (
            412,
            {"message": "A dashboard with the same name in the folder already exists", "status": "name-exists"},
            DashboardConflict,
            7,
        ),
        (
            412,
            {"message": "The dashboard belongs to plugin Prometheus.", "status": "plugin-dashboard"},
            DashboardConflict,
            7,
        ),
        (422, {"message": "Unprocessable Entity"}, Rejected, 9),
        (400, {"message": "Cannot save provisioned dashboard"}, Rejected, 9),
    ],
)
def test_each_error_status_becomes_its_typed_error(
    grafana: GrafanaStandIn, status: int, body: dict[str, str], error: type[Exception], exit_code: int
) -> None:
    grafana.fail_next("POST", "/api/dashboards/db", status, body)
    with pytest.raises(error) as info:
        client(grafana.url).save_dashboard(DASHBOARD, "slos", "m")
    assert body["message"] in str(info.value)
    assert getattr(info.value, "exit_code", None) == exit_code
    assert len(grafana.calls("POST", "/api/dashboards/db")) == 1  # 4xx is never retried
    if isinstance(info.value, DashboardConflict):
        assert info.value.status == body["status"]


def test_real_rules_of_the_standin_produce_the_errors(grafana: GrafanaStandIn) -> None:
    """Not injected: a wrong token, a read-only token, a missing folder, a plugin dashboard."""
    with pytest.raises(Unauthorized):
        client(grafana.url, token="glsa_wrong").list_folders()
    with pytest.raises(Forbidden):
        client(grafana.url, token="glsa_viewer_token").create_folder("x", "X")
    with pytest.raises(FolderMissing, match="404"):
        client(grafana.url).save_dashboard(DASHBOARD, "no-such-folder", "m")
    grafana.state.missing_folder_status = 400
    with pytest.raises(FolderMissing, match="400"):
        client(grafana.url).save_dashboard(DASHBOARD, "no-such-folder", "m")
    grafana.add_dashboard("slokit-checkout", "SLOs / checkout", plugin_id="prometheus")
    with pytest.raises(DashboardConflict) as info:
        client(grafana.url).save_dashboard(DASHBOARD, "", "m")
    assert info.value.status == "plugin-dashboard"
    api = client(grafana.url)
    other = {**DASHBOARD, "uid": "other", "title": "Other"}
    api.save_dashboard(other, "", "m")
    with pytest.raises(DashboardConflict) as info:
        api.save_dashboard({**other, "version": 7}, "", "m", overwrite=False)
    assert info.value.status == "version-mismatch"
    with pytest.raises(DashboardConflict) as info:
        api.save_dashboard({**other, "uid": "third"}, "", "m", overwrite=False)
    assert info.value.status == "name-exists"
    with pytest.raises(DashboardConflict) as info:
        api.save_dashboard({**DASHBOARD, "uid": "fourth"}, "", "m")
    assert info.value.status == "plugin-dashboard"  # taking it over by title is refused too


def test_a_provisioned_dashboard_is_refused(grafana: GrafanaStandIn) -> None:
    grafana.add_dashboard("slokit-checkout", "SLOs / checkout", provisioned=True)
    with pytest.raises(Rejected, match=r"400 \(Cannot save provisioned dashboard\)"):
        client(grafana.url).save_dashboard(DASHBOARD, "", "m")


def test_a_redirect_is_reported_not_followed(grafana: GrafanaStandIn) -> None:
    grafana.fail_next("GET", "/api/folders", 302, {})
    with pytest.raises(Rejected, match="redirected"):
        client(grafana.url).list_folders()


def test_a_wrong_base_url_is_named_on_the_health_check(grafana: GrafanaStandIn) -> None:
    grafana.fail_next("GET", "/api/health", 404, {"message": "Not found"})
    with pytest.raises(Rejected, match="check the URL"):
        client(grafana.url).health()


def test_the_token_never_appears_in_error_text(grafana: GrafanaStandIn) -> None:
    grafana.fail_next("POST", "/api/dashboards/db", 400, {"message": f"bad header Bearer {TOKEN}"})
    with pytest.raises(Rejected) as info:
        client(grafana.url).save_dashboard(DASHBOARD, "slos", "m")
    assert TOKEN not in str(info.value) and "<redacted>" in str(info.value)
    api = client(f"http://127.0.0.1:{closed_port()}", attempts=1)
    assert TOKEN not in repr(api) and TOKEN not in repr(api._session.auth)
    with pytest.raises(Unreachable) as unreachable:
        api.list_folders()
    assert unreachable.value.__cause__ is None and unreachable.value.__context__ is None
    assert TOKEN not in str(unreachable.value)


def test_a_requests_exception_quoting_the_header_does_not_leak(grafana: GrafanaStandIn) -> None:
    api = client(grafana.url)

    def explode(*args: object, **kwargs: object) -> None:
        raise requests.exceptions.InvalidHeader(f"Invalid header value: 'Bearer {TOKEN}'")

    api._session.request = explode  # type: ignore[method-assign,assignment]
    with pytest.raises(Unreachable) as info:
        api.list_folders()
    assert str(info.value) == "listing folders: the request failed (InvalidHeader)"
    assert info.value.__context__ is None and info.value.__cause__ is None


@pytest.mark.parametrize("bad", ["", "   \n", "two words", "tab\there", "caf\u00e9", "line\nbreak"])
def test_unusable_tokens_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_token(bad)
    assert (bad.strip() or "<none>") not in str(info.value)


def test_token_files_may_end_with_a_newline() -> None:
    assert check_token(f"{TOKEN}\n") == TOKEN


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("grafana.example.com", "must look like"),
        ("ftp://grafana", "must look like"),
        ("https://admin:s3cret@grafana.example.com", "must not contain credentials"),
        ("https://grafana.example.com/?orgId=1", "query string"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        check_url(url)
    assert "s3cret" not in str(info.value)


def test_urls_keep_their_sub_path() -> None:
    assert check_url(" https://example.com/grafana/ ") == "https://example.com/grafana"
