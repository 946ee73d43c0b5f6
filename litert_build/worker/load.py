"""Load the Keras model a resolved source describes (worker only: imports Keras)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from litert_build.errors import ManifestError
from litert_build.worker.imports import import_from_project


def load_model(root: Path, source: dict[str, Any], safe_mode: bool, model_name: str):
    """Load the Keras model a resolved source describes. Imports Keras: worker only."""
    import keras

    if source["kind"] == "keras":
        path = root / source["path"]
        with _weights_read_from_disk(path):
            return keras.saving.load_model(path, compile=False, safe_mode=safe_mode)
    if source["kind"] == "preset":
        return _load_preset(root / source["path"], source.get("function"), model_name)

    builder = import_from_project(root, f"{source['module']}:{source['function']}", "source.builder",
                                  model_name)
    model = builder()
    if not isinstance(model, keras.Model):
        raise ManifestError(
            f"builder '{source['module']}:{source['function']}' returned "
            f"{type(model).__name__}, not a keras.Model.",
            model=model_name, field="source.builder",
        )
    if source.get("weights"):
        try:
            model.load_weights(root / source["weights"])
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ManifestError(
                f"weights file '{source['weights']}' does not fit the model that builder "
                f"'{source['module']}:{source['function']}' returns ({type(exc).__name__}: {first[:400]}). "
                "Save the weights from this architecture (model.save_weights) or fix the builder.",
                model=model_name, field="source.weights",
            ) from exc
    return model


def _load_preset(folder: Path, task: str | None, model_name: str):
    """Load a local preset as the task class it names (or ``task``), or as a backbone."""
    import json

    import keras_hub

    if task is None:
        task_file = folder / "task.json"
        if task_file.is_file():
            task = json.loads(task_file.read_text()).get("class_name")
    if task is None:  # a backbone-only preset
        return keras_hub.models.Backbone.from_preset(str(folder))
    cls = getattr(keras_hub.models, task, None)
    if cls is None or not hasattr(cls, "from_preset"):
        raise ManifestError(
            f"'{task}' is not a KerasHub model class (keras_hub.models.{task} does not exist).",
            model=model_name, field="source.task",
        )
    return cls.from_preset(str(folder))


@contextlib.contextmanager
def _weights_read_from_disk(path: Path) -> Iterator[None]:
    """For a large .keras file: Keras reads its ``model.weights.h5`` into memory whole when it
    thinks the machine has room (a second copy of the weights beside the model's own while it
    loads); made to think otherwise, it extracts the file beside the .keras file (a temporary
    folder it removes) and reads one weight at a time from there (issue 16)."""
    from litert_build.worker.allocator import LARGE_MODEL_BYTES

    try:
        from keras.src.saving import saving_lib
    except ImportError:  # another Keras layout: load as it does
        saving_lib = None
    if saving_lib is None or not hasattr(saving_lib, "is_memory_sufficient") or (
            not path.is_file() or path.stat().st_size < LARGE_MODEL_BYTES):
        yield
        return
    original = saving_lib.is_memory_sufficient
    saving_lib.is_memory_sufficient = lambda model: False
    try:
        yield
    finally:
        saving_lib.is_memory_sufficient = original
