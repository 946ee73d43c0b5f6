"""Plan -> doit tasks: one ``convert:<model>:<variant>`` task per build spec.

Tasks are plain dicts (doit's own style). The action only spawns the conversion
worker; nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from .artifacts import remove_quietly, remove_tree
from .errors import ManifestError
from .hashing import XXH3Checker
from .plan import BuildSpec, make_plan, manifest_path

STATE_DIR = ".litert-build"
WORKER_LOG_TAIL = 40  # lines of worker output shown when it fails unexpectedly


def doit_config(state_dir: str | os.PathLike[str] = STATE_DIR) -> dict[str, Any]:
    """doit settings for litert-build: xxh3 checker, sqlite state, keep going on failure."""
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    return {
        "default_tasks": ["convert"],
        "dep_file": str(Path(state_dir) / "doit.sqlite3"),
        "backend": "sqlite3",
        "check_file_uptodate": XXH3Checker,
        "continue": True,
        "verbosity": 2,
    }


class settings_changed(config_changed):  # noqa: N801 - used like doit's config_changed
    """doit ``uptodate`` check on the settings hash, named so ``doit info`` says what it is."""

    def __init__(self, digest: str, where: str):
        super().__init__(digest)
        self.where = where

    def __repr__(self) -> str:
        return f"settings of {self.where} in models.yaml (or litert-build's version) changed"


def _path_for_doit(root: Path, rel: str) -> str:
    """Paths relative to the working directory when the project is there, else absolute."""
    path = root / rel
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def _fail(message: str):
    def action():
        return TaskFailed(message)

    return action


def task_convert():
    """Convert, verify and write one LiteRT artifact per model/variant in models.yaml."""
    try:
        plan = make_plan()
    except ManifestError as exc:
        yield {
            "name": manifest_path().name,
            "doc": "models.yaml could not be read",
            "actions": [_fail(str(exc))],
            "uptodate": [False],
        }
        return
    for spec in plan.specs:
        if spec.error is not None:
            yield {
                "name": spec.task_name,
                "doc": "invalid manifest entry",
                "actions": [_fail(spec.error)],
                "uptodate": [False],
            }
            continue
        root = Path(spec.root)
        targets = [_path_for_doit(root, spec.tflite), _path_for_doit(root, spec.manifest)]
        targets_abs = [root / spec.tflite, root / spec.manifest]
        assets_dir = (root / spec.tflite).parent / f"{spec.model}.assets"  # KerasHub runtime assets
        yield {
            "name": spec.task_name,
            "doc": f"{spec.kind} -> {spec.tflite}",
            "actions": [(run_worker, [spec.to_json()])],
            "file_dep": [_path_for_doit(root, rel) for rel in spec.deps],
            "targets": targets,
            "uptodate": [settings_changed(spec.settings_hash, spec.task_name)],
            "clean": [(remove_quietly, targets_abs), (remove_tree, [assets_dir])],
        }


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND="tensorflow",  # models saved under JAX or torch convert through TF
        TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        PYTHONHASHSEED="0",
    )
    return env


def run_worker(spec_json: dict[str, Any]):
    """doit action: run the conversion worker in a child process and report its result.

    A child process frees TensorFlow's memory after every task, and a crash in the
    converter fails only this task. On failure no file is left at the target paths.
    """
    spec = BuildSpec(**spec_json)
    root = Path(spec.root)
    targets = (root / spec.tflite, root / spec.manifest)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="litert-build-") as tmp:
        spec_file = Path(tmp) / "spec.json"
        result_file = Path(tmp) / "result.json"
        spec_file.write_text(json.dumps(spec_json))
        proc = subprocess.run(
            [sys.executable, "-m", "litert_build.worker", str(spec_file), str(result_file)],
            cwd=root, env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
        )
        result = json.loads(result_file.read_text()) if result_file.exists() else None
    elapsed = time.monotonic() - started
    if result is None or not result.get("ok"):
        remove_quietly(*targets)
        if result is not None and result.get("error"):
            return TaskFailed(f"{spec.model}:{spec.variant}: {result['error']}")
        tail = "\n".join(proc.stdout.splitlines()[-WORKER_LOG_TAIL:])
        return TaskFailed(
            f"{spec.model}:{spec.variant}: the conversion worker exited with code "
            f"{proc.returncode} and no result. Last output:\n{tail}"
        )
    print(f"  {spec.model}:{spec.variant}: {result['summary']} in {elapsed:.1f}s")
    return None
