"""Start the conversion worker in a child process and collect its result.

A child process frees TensorFlow's memory after every task, and a converter crash
fails only that task. The child gets its own temporary folder under the state
folder (``.litert-build/tmp/<pid>-<random>``, also its ``TMPDIR``, so TensorFlow's
temporary SavedModels land there too); folders and staged files left by killed runs are
removed by :func:`clean_stale_temps`. On Linux the child is killed when its parent dies, so a
``kill -9`` of ``doit`` does not leave a worker writing behind its back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from litert_build.failures import says_disk_full
from litert_build.plan.layout import temp_root
from litert_build.store.temps import temp_folder_prefix

WORKER_LOG_TAIL = 40  # lines of worker output shown when it fails unexpectedly


def worker_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND="tensorflow",  # models saved under JAX or torch convert through TF
        TF_CPP_MIN_LOG_LEVEL=env.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        PYTHONHASHSEED="0",
        TMPDIR=str(tmp),
    )
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_worker(spec_json: dict[str, Any]) -> tuple[dict[str, Any] | None, subprocess.CompletedProcess]:
    """Run ``python -m litert_build.worker.main`` on one spec; (its result or None, the process)."""
    root = Path(spec_json["root"])
    parent = temp_root(root)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temp_folder_prefix(), dir=parent))
    try:
        spec_file, result_file = tmp / "spec.json", tmp / "result.json"
        spec_file.write_text(json.dumps(spec_json))
        proc = subprocess.run(
            [sys.executable, "-m", "litert_build.worker.main", str(spec_file), str(result_file)],
            cwd=root, env=worker_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        try:
            result = json.loads(result_file.read_text())
        except (OSError, ValueError):  # no result, or a partial one (killed, disk full)
            result = None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result, proc


def failure_message(spec_json: dict[str, Any], result, proc) -> str:
    where = f"{spec_json['model']}:{spec_json['variant']}"
    if result is not None and result.get("error"):
        return f"{where}: {result['error']}"
    if says_disk_full(proc.stdout):
        return (f"{where}: no space left on device (the conversion worker could not write its files "
                f"under {spec_json['root']}). Free some space and run again: nothing partial was left "
                "at a target path.")
    tail = "\n".join(proc.stdout.splitlines()[-WORKER_LOG_TAIL:])
    return (f"{where}: the conversion worker exited with code {proc.returncode} and no result. "
            f"Last output:\n{tail}")
