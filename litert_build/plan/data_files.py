"""Where calibration and evaluation arrays come from: ``npz:`` files or ``builder:`` functions.

Resolving (which files count in the hash) happens at plan time and imports nothing
heavy; loading and checking the arrays happens in the worker.
"""

from __future__ import annotations

from pathlib import Path

from litert_build.config.settings import Calibration, Eval
from litert_build.errors import ManifestError
from litert_build.plan.layout import project_relative
from litert_build.plan.sources import existing_file, module_file


def resolve_data_files(root: Path, model: str, variant: str, block: Calibration | Eval,
                       field: str) -> list[str]:
    """Files whose bytes define a calibration/eval data block (relative to root)."""
    given = block.given("npz", "builder")
    if len(given) != 1:
        raise ManifestError(
            "give exactly one of 'npz: path/to/data.npz' or 'builder: package.module:function' "
            f"(got {', '.join(given) or 'neither'}).",
            model=model, variant=variant, field=field,
        )
    if block.given("npz"):
        path = existing_file(root, block.npz, f"{field}.npz", model)
        return [project_relative(root, path)]
    module = block.builder.partition(":")[0]
    origin = module_file(root, module)
    if origin is None:
        raise ManifestError(
            f"module '{module}' not found (the folder of models.yaml, {root}, is on sys.path).",
            model=model, variant=variant, field=f"{field}.builder",
        )
    return [project_relative(root, origin)]
