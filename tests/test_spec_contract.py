"""The spec agrees with what the middleware records: routes as the frameworks write them, buckets it has,
and the middleware page's one call that ties a service's middleware to its spec file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

import test_middleware_wsgi
from slokit import semconv
from slokit.middleware import SlokitMiddleware, SlokitWSGIMiddleware
from slokit.middleware.flask import instrument_flask
from slokit.spec import SpecError, UsageError, load_or_raise, load_service, load_services
from slokit.spec.model import Service
from test_middleware_wsgi import call, django_urls, django_wsgi  # noqa: F401  (django_wsgi is a fixture)

ROOT = Path(__file__).resolve().parent.parent

SPEC = """service: shop
owner: team-a
slos:
  - name: avail
    objective: 99.9
    sli:
      http_errors: {{status: "5..", route: {route!r}}}
"""


def recorded_routes(registry: CollectorRegistry) -> set[str]:
    return {
        s.labels[semconv.OTEL.route_label]
        for metric in registry.collect()
        for s in metric.samples
        if semconv.OTEL.route_label in s.labels
    } - {semconv.UNMATCHED_ROUTE}


def accepted(route: str, tmp_path: Path) -> bool:
    path = tmp_path / "shop.yaml"
    path.write_text(SPEC.format(route=route), encoding="utf-8")
    return load_services([path]).ok


def test_starlette_and_fastapi_templates_validate(tmp_path: Path) -> None:
    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    registry = CollectorRegistry()
    app = Starlette(routes=[
        Route("/items/{id}", ok), Route("/items/{id:int}/notes", ok), Route("/files/{rest:path}", ok),
        Mount("/v1", routes=[Route("/users/{name}", ok)]),
    ])
    app.add_middleware(SlokitMiddleware, registry=registry)
    client = TestClient(app)
    for url in ("/items/a", "/items/1/notes", "/files/a/b.txt", "/v1/users/bo"):
        assert client.get(url).status_code == 200
    routes = recorded_routes(registry)
    assert routes == {"/items/{id}", "/items/{id}/notes", "/files/{rest}", "/v1/users/{name}"}
    assert all(accepted(r, tmp_path) for r in routes)
    assert not accepted("/files/{rest:path}", tmp_path)  # as written in the code, not as recorded


def test_flask_and_django_templates_validate(tmp_path: Path, django_wsgi: Any) -> None:  # noqa: F811
    from flask import Flask

    registry = CollectorRegistry()
    app = Flask("shop")
    app.add_url_rule("/users/<int:user_id>", "user", lambda user_id: "u")
    app.add_url_rule("/codes/<string(length=2):code>", "code", lambda code: "c")
    app.add_url_rule("/files/<path:rest>", "file", lambda rest: "f")
    instrument_flask(app, registry=registry)
    client = app.test_client()
    for url in ("/users/1", "/codes/ab", "/files/a/b"):
        assert client.get(url, buffered=True).status_code == 200
    flask_routes = recorded_routes(registry)
    assert flask_routes == {"/users/<int:user_id>", "/codes/<string(length=2):code>", "/files/<path:rest>"}
    from django.http import HttpResponse
    from django.urls import re_path

    test_middleware_wsgi.urlpatterns[:] = [*django_urls(),
                                           re_path(r"^items/(?P<pk>[0-9]+)/$", lambda request, pk: HttpResponse())]
    registry = CollectorRegistry()
    django_app = SlokitWSGIMiddleware(django_wsgi, registry=registry)
    assert call(django_app, "/orders/7/", "POST")[0] == 409
    assert call(django_app, "/reports/2026/")[0] == 200
    assert call(django_app, "/items/3/")[0] == 200
    django_routes = recorded_routes(registry)
    assert django_routes == {"/orders/<int:pk>/", "/reports/<int:year>/", "/^items/(?P<pk>[0-9]+)/$"}
    assert all(accepted(r, tmp_path) for r in flask_routes | django_routes)


@pytest.mark.parametrize("route", ["api/checkout", "/checkout?step=1", "/checkout/*", "/check out", "/items/{id"])
def test_routes_no_framework_records_are_rejected(route: str, tmp_path: Path) -> None:
    assert not accepted(route, tmp_path)


# --- load_service / load_or_raise -----------------------------------------------------------------------


def test_load_or_raise_takes_one_path_as_str_or_path() -> None:
    spec = ROOT / "slo" / "onboarding.yaml"
    by_str, by_path, by_list = load_or_raise(str(spec)), load_or_raise(spec), load_or_raise([spec])
    assert [s.name for s in by_str] == [s.name for s in by_path] == [s.name for s in by_list] == ["onboarding"]


def test_load_service_errors_are_spec_errors(tmp_path: Path) -> None:
    bad = tmp_path / "shop.yaml"
    bad.write_text(SPEC.format(route="api/checkout"), encoding="utf-8")
    with pytest.raises(SpecError, match=r"shop.yaml:7:43: slos\[0\].sli.http_errors.route: must start with '/'"):
        load_service(bad)
    with pytest.raises(UsageError, match="no such file"):
        load_service(tmp_path / "missing.yaml")
    (tmp_path / "two").mkdir()
    for name in ("a", "b"):
        (tmp_path / "two" / f"{name}.yaml").write_text(
            SPEC.format(route="/x").replace("service: shop", f"service: {name}"), encoding="utf-8")
    with pytest.raises(UsageError, match="holds 2 services"):
        load_service(tmp_path / "two")


def docs_block(after: str) -> str:
    """The first Python code block of ``docs/middleware.md`` after the line ``after``."""
    text = (ROOT / "docs" / "middleware.md").read_text(encoding="utf-8")
    m = re.search(re.escape(after) + r".*?```python\n(.*?)```", text, re.S)
    assert m is not None, f"no python block after {after!r} in docs/middleware.md"
    return m.group(1)


def test_docs_starlette_wiring_works_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middleware page's lines, run as they are on a Starlette app, expose the spec's buckets and routes."""
    monkeypatch.chdir(ROOT)

    async def step(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    namespace: dict[str, Any] = {"app": Starlette(routes=[Route("/api/onboarding/steps/{id}", step)])}
    exec(docs_block("FastAPI / Starlette"), namespace)  # the page's snippet, verbatim
    client = TestClient(namespace["app"])
    assert client.get("/api/onboarding/steps/1").status_code == 200
    body = client.get("/metrics").text
    service: Service = load_service("slo/onboarding.yaml")
    assert 0.3 in service.buckets  # the example's latency threshold, listed in its buckets:
    line = re.search(r'http_server_request_duration_seconds_bucket\{[^}]*http_route="/api/onboarding/steps/\{id\}"'
                     r'[^}]*le="0.3"\} ([0-9.]+)', body)
    assert line is not None and float(line.group(1)) >= 1, body


def test_docs_flask_wiring_works_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from flask import Flask

    monkeypatch.chdir(ROOT)
    app = Flask("onboarding")
    app.add_url_rule("/steps/<int:id>", "step", lambda id: "ok")
    namespace: dict[str, Any] = {"app": app}
    exec(docs_block("Flask:"), namespace)
    client = app.test_client()
    assert client.get("/steps/1", buffered=True).status_code == 200
    body = client.get("/metrics", buffered=True).get_data(as_text=True)
    assert re.search(r'http_route="/steps/<int:id>",le="0.3"\} [1-9]', body), body


def test_middleware_says_what_service_takes() -> None:
    services = load_or_raise(ROOT / "slo" / "onboarding.yaml")
    with pytest.raises(TypeError, match=r"service= takes one loaded spec, slokit.spec.load_service\(path\), got tuple"):
        SlokitMiddleware(Starlette(), service=services, registry=CollectorRegistry())
