"""Import ``package.module:function`` from a project (the folder of models.yaml on sys.path)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litert_build.errors import ManifestError


def import_from_project(root: Path, target: str, field: str, model: str | None = None) -> Callable[..., Any]:
    """The function ``target`` names (``package.module:function``); a located error if the
    module has no such function."""
    module_name, _, function = target.partition(":")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    func = getattr(importlib.import_module(module_name), function, None)
    if not callable(func):
        raise ManifestError(f"'{module_name}' has no function '{function}'.", model=model, field=field)
    return func
