"""Flask integration: the route label is the matched ``url_rule`` (``/users/<int:user_id>``).

    from slokit.middleware.flask import instrument_flask
    instrument_flask(app, service=load_service("slo/x.yaml"), metrics_path="/metrics")

This module is imported only by Flask services; it imports Flask.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from slokit.middleware.exposition import render
from slokit.middleware.wsgi import ROUTE_ENVIRON_KEY, SlokitWSGIMiddleware


def _remember_route() -> None:
    rule = request.url_rule
    if rule is not None:
        request.environ[ROUTE_ENVIRON_KEY] = rule.rule


def instrument_flask(app: Flask, *, metrics_path: str | None = None, **options: Any) -> SlokitWSGIMiddleware:
    """Wrap ``app.wsgi_app`` with the WSGI middleware and label requests with their url_rule.

    The rule is noted by the first before-request function of the app, so it is known even when a later
    one (authentication, rate limiting) answers instead of the view. ``metrics_path`` adds a view serving
    the exposition (of ``options["registry"]``, or aggregated in multiprocess mode). ``options`` are those
    of :class:`SlokitWSGIMiddleware`.
    """
    app.before_request_funcs.setdefault(None, []).insert(0, _remember_route)
    middleware = SlokitWSGIMiddleware(app.wsgi_app, **options)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    if metrics_path is not None:
        registry = options.get("registry")

        def metrics() -> Response:
            body, content_type = render(registry, request.headers.get("Accept", ""))
            return Response(body, content_type=content_type)

        app.add_url_rule(metrics_path, "slokit_metrics", metrics)
    return middleware
