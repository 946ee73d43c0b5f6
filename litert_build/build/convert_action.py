"""The action of one ``convert:<model>:<variant>`` task.

In order, under a per-task file lock (a second ``doit`` running the same task waits
for the first, then reuses its result):

1. remove temp files that killed runs left behind;
2. reuse the artifact already at the target paths if it was built from the same
   inputs (its manifest's ``build_key`` is this spec's cache key and its bytes match),
   storing it in the cache if the cache lacks it; when a sibling variant's worker built it in
   this run (:mod:`litert_build.build.sessions`), it counts as converted (or fails with that
   worker's message for it);
3. else restore it from the artifact cache (:mod:`litert_build.store.artifact_cache`);
4. else run the conversion worker (:mod:`litert_build.build.workers`) for it and the sibling
   variants it can claim, and store the result in the cache; on a cluster build the worker runs
   on a Dask worker (:mod:`litert_build.build.cluster`), which stores the result in the cache,
   and it is restored from there;
5. write the provenance statement (:mod:`litert_build.release.provenance`).

A failure removes the task's targets, so no target path holds a stale or partial file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed

from litert_build.build.cluster.connect import active as cluster_address
from litert_build.build.cluster.submit import convert_on_cluster, remote_problem
from litert_build.build.memory import reserved
from litert_build.build.progress import say
from litert_build.build.sessions import leave_note, mark_ran, ran, siblings, take_note
from litert_build.build.workers import failure_message, run_session
from litert_build.failures import guarded
from litert_build.plan.layout import (
    artifact_files,
    assets_dir,
    build_record_path,
    lock_path,
    log_dir,
    targets,
    temp_root,
)
from litert_build.release.provenance import statement
from litert_build.store.artifact_cache import ArtifactCache, file_sha256, warn
from litert_build.store.files import atomic_write_bytes, dumps_manifest, remove_quietly
from litert_build.store.safepath import inside
from litert_build.store.temps import TEMP_FOLDER, clean_stale_temps
from litert_build.versions import tool_versions

NO_CACHE_ENV = "LITERT_BUILD_NO_CACHE"


def built_in_place(spec: dict[str, Any]) -> bool:
    """True when the files at the target paths are exactly what this spec builds."""
    tflite, manifest, _ = targets(spec)
    try:
        meta = json.loads(manifest.read_text())
        if meta.get("build_key") != spec["cache_key"]:
            return False
        if file_sha256(tflite) != meta["artifact"]["sha256"]:
            return False
        assets = meta.get("assets") or {}
        package = meta.get("litertlm") or {}
        if package and file_sha256(inside(tflite.parent, package["file"])) != package["sha256"]:
            return False
        return all(file_sha256(inside(tflite.parent, f"{assets['folder']}/{name}")) == digest
                   for name, digest in assets.get("files", {}).items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def open_cache(spec: dict[str, Any]) -> ArtifactCache | None:
    location = spec.get("cache")
    if not location or os.environ.get(NO_CACHE_ENV):
        return None
    try:
        return ArtifactCache(location)
    except Exception as exc:  # a missing fsspec backend, a bad URL: build without the cache
        warn(f"artifact cache {location} unavailable ({type(exc).__name__}: {exc}); "
             "building without it")
        return None


def write_provenance(spec: dict[str, Any], executor: dict[str, Any] | None = None) -> None:
    """The provenance statement; ``executor``: the Dask worker that converted it, if one did."""
    tflite, manifest, intoto = targets(spec)
    folder = tflite.parent
    subjects = {name: folder / name for name in artifact_files(manifest)}
    tools = json.loads(manifest.read_text()).get("tools", tool_versions())
    atomic_write_bytes(intoto, dumps_manifest(statement(spec, subjects, tools, executor)))


@guarded("building {name}", lambda spec: f"{spec['model']}:{spec['variant']}",
         lambda spec: log_dir(Path(spec["root"])))
def convert_step(spec: dict[str, Any]):
    """doit action: make the targets of one spec exist and match its inputs."""
    from filelock import FileLock

    root = Path(spec["root"])
    tflite, manifest, intoto = targets(spec)
    where = f"{spec['model']}:{spec['variant']}"
    lock = lock_path(root, spec["model"], spec["variant"])
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock):
        try:
            return _convert_locked(spec, where, root)
        finally:
            mark_ran(spec)


def _convert_locked(spec: dict[str, Any], where: str, root: Path):
    """:func:`convert_step`, with the task's lock held."""
    tflite, manifest, intoto = targets(spec)
    clean_stale_temps(tflite.parent)
    clean_stale_temps(assets_dir(tflite, spec["model"]))
    clean_stale_temps(temp_root(root), TEMP_FOLDER)
    started = time.monotonic()
    obtained = _obtain(spec, where)
    if isinstance(obtained, TaskFailed):
        remove_quietly(tflite, manifest, intoto)
        return obtained
    outcome, how, details, elsewhere = obtained
    try:
        write_provenance(spec, details.get("executor"))
    except (OSError, ValueError, KeyError) as exc:
        remove_quietly(tflite, manifest, intoto)
        return TaskFailed(f"{where}: could not write the provenance statement: {exc}")
    seconds = round(time.monotonic() - started + elsewhere, 2)
    record = {"outcome": outcome, "seconds": seconds, "build_key": spec["cache_key"], **details}
    atomic_write_bytes(build_record_path(root, spec["model"], spec["variant"]), dumps_manifest(record))
    say(f"  {where}: {how} in {seconds:.1f}s")
    return {"outcome": outcome, "seconds": seconds}  # the task's values: the run summary counts them


def _obtain(spec: dict[str, Any], where: str) -> tuple[str, str, dict[str, Any], float] | TaskFailed:
    """Make the spec's files exist at its target paths: (outcome, what happened, the build
    record's details, seconds spent on it in another task: a sibling's worker), or the task's
    failure."""
    tflite, manifest, _ = targets(spec)
    cache = open_cache(spec)
    key = spec["cache_key"]
    note = take_note(spec)  # this variant was built by a sibling's worker in this run
    if note is not None and not note["result"]["ok"]:
        return TaskFailed(f"{where}: {note['result']['error']}")
    if built_in_place(spec):
        if cache is not None and not _cached(cache, key):
            _store(cache, spec, tflite.parent, manifest)  # e.g. a run killed while storing
        if note is None:
            return "reused", "already built from these inputs (by another run), reused", {}, 0.0
        steps = note["result"].get("steps") or {}
        details = {"steps": steps, "session": {"leader": note["leader"]}}
        if isinstance(note["result"].get("executor"), dict):
            details["executor"] = note["result"]["executor"]
        worked = sum(v for v in steps.values() if isinstance(v, int | float) and 0 <= v < 1e6)
        return ("converted", f"converted: {note['result']['summary']}; in {note['leader']}'s worker"
                f"{_placed(details)}", details, worked)
    if cache is not None and _restore(cache, spec, tflite.parent):
        return "restored", f"restored from cache (key {key[:12]})", {}, 0.0
    result, failure, details = _convert(spec, cache)
    if failure is not None or result is None:
        return TaskFailed(failure or f"{where}: the conversion worker gave no result")
    if cache is not None:
        _store(cache, spec, tflite.parent, manifest)
    return "converted", f"converted: {result['summary']}{_placed(details)}", details, 0.0


def _placed(details: dict[str, Any]) -> str:
    """Where a conversion ran, when it was not simply here."""
    executor = details.get("executor")
    if executor:
        return f" (on {executor.get('worker')})"
    return f" (here: {details['here']})" if details.get("here") else ""


def _convert(spec: dict[str, Any], cache: ArtifactCache | None
             ) -> tuple[dict[str, Any] | None, str | None, dict[str, Any]]:
    """Run a worker for the spec and the siblings it can claim (:mod:`litert_build.build.sessions`),
    here or on the run's Dask cluster (:mod:`litert_build.build.cluster`): (the spec's result, its
    failure message or None, the build record's details). Each claimed sibling gets a note with
    its result, for its own task."""
    claimed = _claim_siblings(spec, cache)
    session = [spec] + [sibling for sibling, _ in claimed]
    where = f"{spec['model']}:{spec['variant']}"
    try:
        address, here_because = _executor(spec, cache)
        if address is not None:
            results, failures, details = _convert_on_cluster(address, session, cache)
        else:
            with reserved(spec, where):  # waits while its expected peak does not fit in memory
                results, proc = run_session(session)
            failures = [None if result and result.get("ok") else failure_message(one, result, proc)
                        for one, result in zip(session, results, strict=True)]
            details = {"here": here_because} if here_because else {}
        for (sibling, _), result in zip(claimed, results[1:], strict=True):
            if result is not None:
                leave_note(sibling, where, {**result, **details})
    finally:
        for _, lock in claimed:
            lock.release()
    result = results[0] or {}
    details.update({key: result[key] for key in ("steps", "worker", "peak_rss") if key in result})
    if claimed:
        variants = [spec["variant"]] + [sibling["variant"] for sibling, _ in claimed]
        details["session"] = {"leader": where, "variants": variants}
    return results[0], failures[0], details


def _executor(spec: dict[str, Any], cache: ArtifactCache | None) -> tuple[str | None, str | None]:
    """(the scheduler to convert on, or None; why this one converts here on a cluster build)."""
    address = cluster_address()
    if address is None:
        return None, None
    if cache is None:
        return None, "the artifact cache is unavailable"
    problem = remote_problem(spec)
    return (None, problem) if problem else (address, None)


def _convert_on_cluster(address: str, session: list[dict[str, Any]], cache: ArtifactCache):
    """:func:`convert_on_cluster`, and every result it built restored here from the cache (a
    sibling whose entry cannot be restored gets no result: its own task builds it)."""
    results, failures, details = convert_on_cluster(address, session, cache)
    started = time.monotonic()
    for i, one in enumerate(session):
        if failures[i] is None and not _restore(cache, one, targets(one)[0].parent):
            results[i] = None
            failures[i] = (f"{one['model']}:{one['variant']}: built on the Dask worker "
                           f"{details['executor']['worker']}, but its cache entry could not be read "
                           f"here from {cache.location}. Point cache: (or LITERT_BUILD_CACHE) at "
                           "storage every machine reaches (s3://, gs://, a shared folder).")
    if "cluster_seconds" in details:
        details["cluster_seconds"]["restore"] = round(time.monotonic() - started, 3)
    return results, failures, details


def _claim_siblings(spec: dict[str, Any], cache: ArtifactCache | None) -> list[tuple[dict[str, Any], Any]]:
    """The sibling variants this task's worker builds too, each with its task lock held: those
    no other process is building, not built in place and not in the cache."""
    from filelock import FileLock, Timeout

    claimed = []
    for sibling in siblings(spec):
        lock = FileLock(lock_path(Path(sibling["root"]), sibling["model"], sibling["variant"]))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # another process has it
        cached = cache is not None and _cached(cache, sibling["cache_key"])
        if ran(sibling) or cached or built_in_place(sibling):
            lock.release()
            continue
        claimed.append((sibling, lock))
    return claimed


def _restore(cache: ArtifactCache, spec: dict[str, Any], folder: Path) -> bool:
    """Restore the spec's entry; True only when what landed is exactly what the key names."""
    key = spec["cache_key"]
    try:
        if cache.restore(key, folder) is None:
            return False
    except Exception as exc:  # an unreachable remote must not fail the build
        warn(f"artifact cache {cache.location}: lookup failed ({type(exc).__name__}: {exc}); "
             "converting instead")
        return False
    if built_in_place(spec):
        return True
    # Digests matched the entry, but the entry is not this build (another key's manifest, an
    # asset name that leaves the folder): another machine wrote something wrong. Never use it.
    warn(f"cache entry {key[:16]} in {cache.location} does not hold the build it is keyed by "
         "(manifest build_key, artifact sha256 or file names); evicted, rebuilding")
    cache.evict(key)
    tflite, manifest, intoto = targets(spec)
    remove_quietly(tflite, manifest, intoto)
    return False


def _cached(cache: ArtifactCache, key: str) -> bool:
    try:
        return cache.read_entry(key) is not None
    except Exception:
        return True  # unreachable: do not try to write either


def _store(cache: ArtifactCache, spec: dict[str, Any], folder: Path, manifest: Path) -> None:
    try:
        cache.store(spec["cache_key"], folder, artifact_files(manifest),
                    f"{spec['model']}:{spec['variant']}", tool_versions())
    except Exception as exc:
        warn(f"artifact cache {cache.location}: could not store {spec['model']}:{spec['variant']} "
             f"({type(exc).__name__}: {exc})")
