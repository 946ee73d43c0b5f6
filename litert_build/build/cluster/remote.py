"""What runs on a Dask worker: one conversion session, from inputs by content to a cache entry.

:func:`run_remote` is the function the build submits. It never raises for a build's own
failures (a bad model, a verification): it returns them, worded as a local build words them, so
Dask does not retry what would fail again. Dask retries it elsewhere only when its worker dies
(``distributed.scheduler.allowed-failures``); the conversion child dies with its worker
(:func:`litert_build.processes.die_with_parent`), and nothing is stored before it is verified.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from litert_build.build.cluster.connect import TOPIC, version_difference
from litert_build.build.cluster.inputs import InputUnavailable, materialize
from litert_build.build.workers import failure_message, run_session
from litert_build.plan.layout import artifact_files, log_dir, targets
from litert_build.store.artifact_cache import ArtifactCache
from litert_build.store.safepath import UnsafePath
from litert_build.versions import tool_versions


def run_remote(request: dict[str, Any]) -> dict[str, Any]:
    """Build ``request["specs"]`` (one model's variants, project-relative) here: ``results`` and
    ``failures`` (a message or None) per spec, the worker's address and host, the log files
    the worker wrote (so the messages that name them hold locally too) and the seconds spent
    getting the inputs, in the conversion session and storing the results."""
    from distributed import get_worker

    worker = get_worker()
    where = request["where"]
    here = {"worker": worker.address, "host": socket.gethostname()}
    worker.log_event(TOPIC, {"token": request["token"], "task": where, "worker": worker.address})
    count = len(request["specs"])
    mine = tool_versions()
    if mine != request["tools"]:
        message = (f"{where}: refused by the Dask worker {worker.address}: its tool versions differ "
                   f"from this build's ({version_difference(request['tools'], mine)}), so it would "
                   f"build an artifact keyed by other versions. This build: {_listed(request['tools'])}. "
                   f"The worker: {_listed(mine)}. Install the same versions on every worker (or "
                   "these on this machine).")
        return {"results": [None] * count, "failures": [message] * count, **here}
    cache = ArtifactCache(request["store"])
    base = Path(worker.local_directory) / "litert-build"
    (base / "tasks").mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="task-", dir=base / "tasks"))
    seconds: dict[str, float] = {}
    mark = time.monotonic()
    try:
        try:
            materialize(cache, request["inputs"], base / "inputs", scratch)
        except (InputUnavailable, UnsafePath, OSError) as exc:
            message = f"{where}: the Dask worker {worker.address} could not get its inputs: {exc}"
            return {"results": [None] * count, "failures": [message] * count, **here}
        specs = [{**spec, "root": str(scratch), "cache": request["store"]} for spec in request["specs"]]
        seconds["inputs"], mark = time.monotonic() - mark, time.monotonic()
        results, proc = run_session(specs)
        seconds["session"], mark = time.monotonic() - mark, time.monotonic()
        failures = [None if result and result.get("ok") else failure_message(spec, result, proc)
                    for spec, result in zip(specs, results, strict=True)]
        for i, spec in enumerate(specs):
            if failures[i] is None:
                try:
                    tflite, manifest, _ = targets(spec)
                    cache.store(spec["cache_key"], tflite.parent, artifact_files(manifest),
                                f"{spec['model']}:{spec['variant']}", tool_versions())
                except Exception as exc:  # noqa: BLE001 - said to the build, which cannot restore it
                    results[i] = None
                    failures[i] = (f"{spec['model']}:{spec['variant']}: built on the Dask worker "
                                   f"{worker.address}, which could not store it in the artifact cache "
                                   f"{request['store']} ({type(exc).__name__}: {exc}). Every worker "
                                   "needs write access to it.")
        seconds["store"] = time.monotonic() - mark
        logs = {path.name: path.read_text(errors="replace")
                for path in sorted(log_dir(scratch).glob("*.log"))}
        return {"results": results, "failures": failures, "logs": logs, "seconds": seconds, **here}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _listed(versions: dict[str, str]) -> str:
    return ", ".join(f"{name} {value}" for name, value in sorted(versions.items()))
