"""Django integration: the route label is the resolver match's route (``/users/<int:pk>/``).

In ``settings.py``, first in ``MIDDLEWARE``::

    "slokit.middleware.django.SlokitRouteMiddleware",

in ``wsgi.py``::

    application = SlokitWSGIMiddleware(get_wsgi_application(), service=load_service("slo/x.yaml"))

and in ``urls.py``: ``path("metrics", metrics_view)``.

The WSGI middleware does the measuring (so exceptions, streaming and the time spent in Django's own
middleware are covered); this one only tells it the route. ``request.META`` is the WSGI environ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slokit.middleware.exposition import render
from slokit.middleware.wsgi import ROUTE_ENVIRON_KEY


class SlokitRouteMiddleware:
    """Notes the template of the URL pattern Django resolved, for ``SlokitWSGIMiddleware``."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None:
            request.META[ROUTE_ENVIRON_KEY] = "/" + str(match.route)
        return response


def metrics_view(request: Any) -> Any:
    """The ``/metrics`` view (aggregated in multiprocess mode); not measured by default."""
    from django.http import HttpResponse  # type: ignore[import-untyped]

    body, content_type = render(None, request.META.get("HTTP_ACCEPT", ""))
    return HttpResponse(body, content_type=content_type)
