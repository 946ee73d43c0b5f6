"""Where a model comes from: resolve a manifest ``source`` to files, and load it.

Resolving (paths, hashed files) happens at plan time and imports nothing heavy.
Loading (:func:`load_model`) runs only inside the conversion worker.
"""

from __future__ import annotations

import glob
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litert_build.config.settings import Source
from litert_build.errors import ManifestError
from litert_build.plan.layout import project_relative

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass
class ResolvedSource:
    """A model's source with every file it depends on (paths relative to the project root)."""

    kind: str  # "keras" | "builder" | "preset"
    path: str | None = None  # keras file
    module: str | None = None  # builder module
    function: str | None = None  # builder function
    weights: str | None = None
    files: list[str] = field(default_factory=list)  # everything the content hash covers

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": self.path,
            "module": self.module,
            "function": self.function,
            "weights": self.weights,
            "files": list(self.files),
        }


def existing_file(root: Path, value: str, field_name: str, model: str) -> Path:
    path = (root / value).resolve()
    if not path.is_file():
        raise ManifestError(
            f"file '{value}' not found (paths are relative to the folder of models.yaml: {root}).",
            model=model, field=field_name,
        )
    return path


def module_file(root: Path, module: str) -> Path | None:
    """Find a module's source file without running it (its parent packages are imported)."""
    added = str(root) not in sys.path
    if added:
        sys.path.insert(0, str(root))
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    finally:
        if added:
            sys.path.remove(str(root))
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    return Path(spec.origin)


def resolve_source(root: Path, model: str, source: Source) -> ResolvedSource:
    """Check a model's ``source`` and list the files whose bytes define the model."""
    given = source.given("keras", "builder", "preset")
    if len(given) != 1:
        raise ManifestError(
            "give exactly one of 'keras: path/to/model.keras', 'builder: package.module:function' "
            f"or 'preset: path/to/kerashub_preset_folder' (got {', '.join(given) or 'none'}).",
            model=model, field="source",
        )
    if source.given("task") and not source.given("preset"):
        raise ManifestError("'task' goes with 'preset:'.", model=model, field="source.task")
    if source.given("preset"):
        return _resolve_preset(root, model, source)
    if source.given("keras"):
        return _resolve_keras_file(root, model, source)
    return _resolve_builder(root, model, source)


def _resolve_keras_file(root: Path, model: str, source: Source) -> ResolvedSource:
    for key in source.given("weights", "deps"):
        raise ManifestError(
            f"'{key}' goes with 'builder:', not with 'keras:' (a .keras file holds its weights).",
            model=model, field=f"source.{key}",
        )
    path = existing_file(root, source.keras, "source.keras", model)
    if not path.name.endswith(KERAS_SUFFIXES):
        raise ManifestError(
            f"'{source.keras}' is not a Keras model file: expected one of "
            f"{', '.join(KERAS_SUFFIXES)}.", model=model, field="source.keras",
        )
    rel = project_relative(root, path)
    return ResolvedSource(kind="keras", path=rel, files=[rel])


def _resolve_builder(root: Path, model: str, source: Source) -> ResolvedSource:
    """The builder's module file, its ``weights:`` and ``deps:`` globs: all in the hash."""
    module, _, function = source.builder.partition(":")
    origin = module_file(root, module)
    if origin is None:
        raise ManifestError(
            f"module '{module}' not found. It is imported with the folder of models.yaml "
            f"({root}) on sys.path; check the spelling or install the package.",
            model=model, field="source.builder",
        )
    resolved = ResolvedSource(kind="builder", module=module, function=function)
    files = [project_relative(root, origin)]
    if source.given("weights"):
        weights = existing_file(root, source.weights, "source.weights", model)
        resolved.weights = project_relative(root, weights)
        files.append(resolved.weights)
    for pattern in source.deps:
        matches = sorted(glob.glob(str(root / pattern), recursive=True))
        matches = [m for m in matches if Path(m).is_file()]
        if not matches:
            raise ManifestError(
                f"glob '{pattern}' matches no file (relative to {root}).",
                model=model, field="source.deps",
            )
        files.extend(project_relative(root, Path(m)) for m in matches)
    resolved.files = sorted(set(files), key=files.index)
    return resolved


REMOTE_PRESET = re.compile(r"^(kaggle|hf|gs|s3|https?|modelscope)://")


def _resolve_preset(root: Path, model: str, source: Source) -> ResolvedSource:
    """A local KerasHub preset folder: every file in it counts in the hash."""
    for key in source.given("weights", "deps"):
        raise ManifestError(
            f"'{key}' goes with 'builder:', not with 'preset:' (the preset holds its weights).",
            model=model, field=f"source.{key}",
        )
    value = source.preset
    folder = (root / value).resolve()
    if REMOTE_PRESET.match(value) or not folder.is_dir():
        raise ManifestError(
            f"preset '{value}' is not a local folder. litert-build never downloads: on a machine "
            "with network, load it once (e.g. keras_hub.models.CausalLM.from_preset(...)) and "
            "save it with task.save_to_preset('presets/<name>'), then set preset: to that folder.",
            model=model, field="source.preset",
        )
    files = sorted(
        project_relative(root, p) for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    if not any(Path(f).name in ("config.json", "task.json") for f in files):
        raise ManifestError(
            f"'{value}' is not a KerasHub preset folder (no config.json or task.json in it).",
            model=model, field="source.preset",
        )
    return ResolvedSource(kind="preset", path=project_relative(root, folder), function=source.task,
                          files=files)
