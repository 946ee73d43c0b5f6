"""Where the artifact cache is: ``LITERT_BUILD_CACHE`` > models.yaml ``cache:`` > the XDG default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CACHE_ENV = "LITERT_BUILD_CACHE"
OFF_VALUES = ("off", "none", "false", "0", "")


def default_location() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "litert-build")


def resolve_location(manifest_value: Any, root: Path) -> str | None:
    """Where the cache is: ``LITERT_BUILD_CACHE`` > models.yaml ``cache:`` > the XDG default.

    ``None`` means the cache is off (``--no-cache``, ``LITERT_BUILD_CACHE=off`` or
    ``cache: false``). A relative local path is relative to the folder of models.yaml.
    """
    value: Any = os.environ.get(CACHE_ENV)
    if value is None:
        value = manifest_value
    if value is None or value is True:
        return default_location()
    if value is False or str(value).strip().lower() in OFF_VALUES:
        return None
    value = os.path.expanduser(str(value))
    if "://" in value or os.path.isabs(value):
        return value
    return str((root / value).resolve())
