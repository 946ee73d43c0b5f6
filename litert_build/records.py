"""Reading the records litert-build writes: one place that knows the signature manifest's shape
where several consumers (the worker's summary line, bundles' index.json, the build report) need
the same number from it."""

from __future__ import annotations

from typing import Any


def max_abs_error(verification: dict[str, Any] | None) -> float | None:
    """The largest ``max_abs_error`` over a verification record's outputs; None when it has no
    outputs or any output lacks the number (a skipped or failed verification)."""
    outputs = (verification or {}).get("outputs") or {}
    errors = [out.get("max_abs_error") for out in outputs.values()]
    if not errors or any(e is None for e in errors):
        return None
    return max(errors)


def worst_sqnr_db(verification: dict[str, Any] | None) -> float | None:
    """The lowest ``sqnr_db`` over the outputs (None when not recorded)."""
    values = [out.get("sqnr_db") for out in ((verification or {}).get("outputs") or {}).values()]
    return min(values) if values and all(v is not None for v in values) else None
