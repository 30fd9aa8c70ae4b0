"""Loading and validating SLO specs into the immutable model."""

from slokit.spec.load import (
    Diagnostic,
    LoadResult,
    SpecError,
    UsageError,
    discover,
    load_or_raise,
    load_service,
    load_services,
    with_diagnostics,
)

__all__ = [
    "Diagnostic", "LoadResult", "SpecError", "UsageError", "discover", "load_or_raise", "load_service", "load_services",
    "with_diagnostics",
]
