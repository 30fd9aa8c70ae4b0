"""The middleware's public surface: import weight, cache outcomes, shared configuration."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from slokit.middleware import SlokitWSGIMiddleware, cache_lookup, record_cache
from slokit.semconv import CACHE_HIT, CACHE_MISS, OTEL


def test_importing_the_middleware_pulls_no_generator_dependency() -> None:
    code = (
        "import sys, json; import slokit.middleware, slokit.middleware.asgi, slokit.middleware.wsgi; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert "prometheus_client" in loaded
    heavy = {"yaml", "jinja2", "click", "requests", "grafanalib", "starlette", "flask", "django"}
    assert not heavy & {name.split(".")[0] for name in loaded}
    assert not {
        m for m in loaded if m.startswith("slokit.") and not m.startswith(("slokit.middleware", "slokit.semconv"))
    }


def test_package_root_is_import_light() -> None:
    code = "import sys, slokit; print(sorted(m for m in sys.modules if m.startswith(('slokit', 'prometheus'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['slokit']"


def lookups(registry: CollectorRegistry, cache: str, outcome: str) -> float:
    return (
        registry.get_sample_value(OTEL.cache_lookups_total, {OTEL.cache_label: cache, OTEL.outcome_label: outcome})
        or 0.0
    )


def test_record_cache_goes_to_the_configured_middleware_registry() -> None:
    registry = CollectorRegistry()
    SlokitWSGIMiddleware(lambda environ, start_response: [], registry=registry)
    record_cache("step-definitions", True)
    record_cache("step-definitions", True)
    record_cache("step-definitions", False)
    assert lookups(registry, "step-definitions", CACHE_HIT) == 2
    assert lookups(registry, "step-definitions", CACHE_MISS) == 1


def test_cache_lookup_context_counts_hits_misses_and_failures() -> None:
    registry = CollectorRegistry()
    with cache_lookup("users", registry=registry) as lookup:
        lookup.hit = True
    with cache_lookup("users", registry=registry):
        pass
    with pytest.raises(KeyError), cache_lookup("users", registry=registry) as lookup:
        lookup.hit = True
        raise KeyError("backend down")
    assert lookups(registry, "users", CACHE_HIT) == 1
    assert lookups(registry, "users", CACHE_MISS) == 2


def test_multiprocess_switch_without_directory_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR"):
        SlokitWSGIMiddleware(lambda environ, start_response: [], registry=CollectorRegistry(), multiprocess=True)


def test_single_process_expected_but_prometheus_client_writes_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prometheus_client import values

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue())
    with pytest.raises(RuntimeError, match="unset the variable"):
        SlokitWSGIMiddleware(lambda environ, start_response: [], registry=CollectorRegistry(), multiprocess=False)


def test_multiprocess_directory_set_after_prometheus_client_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="set after prometheus_client was imported"):
        SlokitWSGIMiddleware(lambda environ, start_response: [], registry=CollectorRegistry())
