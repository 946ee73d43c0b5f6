"""The build side of a cluster conversion: upload the inputs, submit, wait, bring the result home.

:func:`remote_problem` says why a spec converts here even on a cluster build (an AOT compile
reads another task's artifact; a file outside the project has no project-relative name).
:func:`convert_on_cluster` returns what :func:`litert_build.build.workers.run_session` returns
for a local session, in the form the convert action uses: a result and a failure message (or
None) per spec; each successful result is then in the artifact cache, for the task to restore.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from litert_build.build.cluster.connect import get_client, submitted
from litert_build.build.memory import expected_peak
from litert_build.config.kinds import KINDS
from litert_build.plan.layout import log_dir
from litert_build.store.artifact_cache import ArtifactCache
from litert_build.store.safepath import UnsafePath, check_name, inside
from litert_build.versions import tool_versions

MEMORY_RESOURCE = "MEMORY"  # dask worker --resources MEMORY=<bytes>: placed by expected peak


def remote_problem(spec: dict[str, Any]) -> str | None:
    """Why this spec must convert on this machine; None when the cluster can build it."""
    if KINDS[spec["settings"]["kind"]].pipeline == "compile":
        return "an AOT compile of an artifact built here"
    root = Path(spec["root"])
    for name in _input_files(spec):
        try:
            inside(root, name)
        except UnsafePath:
            return f"its input {name} lies outside the project folder"
    return None


def convert_on_cluster(address: str, specs: list[dict[str, Any]], cache: ArtifactCache
                       ) -> tuple[list[dict[str, Any] | None], list[str | None], dict[str, Any]]:
    """Convert ``specs`` (one model's session) on a Dask worker: (result per spec, failure
    message per spec, where it ran and ``cluster_seconds``: uploading the inputs, from submitting
    to the reply, and on the worker getting the inputs, converting and storing)."""
    client = get_client(address)
    root = Path(specs[0]["root"])
    first = specs[0]
    where = f"{first['model']}:{first['variant']}"
    from litert_build.build.cluster.inputs import upload

    started = time.monotonic()
    try:
        digests = upload(cache, root, [name for spec in specs for name in _input_files(spec)])
    except Exception as exc:  # noqa: BLE001 - a store that refuses writes: this task fails, located
        message = (f"{where}: could not upload its inputs to the artifact cache {cache.location} "
                   f"for the Dask cluster ({type(exc).__name__}: {exc}).")
        return [None] * len(specs), [message] * len(specs), {}
    token = uuid.uuid4().hex
    request = {"token": token, "where": where, "store": cache.location, "tools": tool_versions(),
               "inputs": digests, "specs": [_portable(spec) for spec in specs]}
    submitted(token)
    from litert_build.build.cluster.remote import run_remote

    uploaded = time.monotonic()
    future = client.submit(run_remote, request, key=f"convert-{where}-{token[:8]}", pure=False,
                           **_placement(client, first))
    try:
        reply = future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost scheduler: the task fails, said
        message = _lost(where, address, exc)
        return [None] * len(specs), [message] * len(specs), {"executor": {"scheduler": address}}
    _keep_logs(root, reply.get("logs") or {})
    executor = {"scheduler": address, "worker": reply.get("worker"), "host": reply.get("host")}
    seconds = {"upload": uploaded - started, "cluster": time.monotonic() - uploaded,
               **{f"worker_{k}": v for k, v in (reply.get("seconds") or {}).items()}}
    timings = {key: round(value, 3) for key, value in seconds.items() if isinstance(value, int | float)}
    return list(reply["results"]), list(reply["failures"]), {"executor": executor, "cluster_seconds": timings}


def _input_files(spec: dict[str, Any]) -> list[str]:
    return [name for name in spec["input_hashes"] if name != "settings"]


def _portable(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without what only holds on this machine (the Dask worker sets its own)."""
    return {key: value for key, value in spec.items() if key not in ("root", "cache")}


def _placement(client, spec: dict[str, Any]) -> dict[str, Any]:
    """Where the task may run, by the memory it is expected to take: as a ``MEMORY`` resource when
    the workers declare one, else among the workers whose memory limit holds it (if not all)."""
    peak, _ = expected_peak(spec)
    try:
        workers = client.scheduler_info(n_workers=-1).get("workers", {})
    except Exception:  # noqa: BLE001 - placement is a hint
        return {}
    declared = [(info.get("resources") or {}).get(MEMORY_RESOURCE) for info in workers.values()]
    declared = [amount for amount in declared if isinstance(amount, int | float)]
    if declared:  # more than the largest worker has would wait forever: that one, alone, then
        return {"resources": {MEMORY_RESOURCE: min(peak, max(declared))}}
    fit = [address for address, info in workers.items()
           if not info.get("memory_limit") or info["memory_limit"] >= peak]
    return {"workers": fit} if fit and len(fit) < len(workers) else {}


def _lost(where: str, address: str, exc: Exception) -> str:
    if type(exc).__name__ == "KilledWorker":
        return (f"{where}: the Dask workers running its conversion died, each time (the cluster "
                "gives up after distributed.scheduler.allowed-failures). The usual cause is memory: "
                "give workers more, or declare it with dask worker --resources MEMORY=<bytes>. "
                f"({exc})")
    return (f"{where}: the Dask cluster at {address} did not finish its conversion "
            f"({type(exc).__name__}: {exc}).")


def _keep_logs(root: Path, logs: dict[str, str]) -> None:
    """The worker's tracebacks, under the names its messages give, in this project's log folder."""
    for name, text in logs.items():
        try:
            check_name(name)
        except UnsafePath:
            continue
        if "/" in name or not name.endswith(".log"):
            continue
        try:
            folder = log_dir(root)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        except OSError:
            pass

