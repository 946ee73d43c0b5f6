"""The action of one ``convert:<model>:<variant>`` task.

In order, under a per-task file lock (a second ``doit`` running the same task waits
for the first, then reuses its result):

1. remove temp files that killed runs left behind;
2. reuse the artifact already at the target paths if it was built from the same
   inputs (its manifest's ``build_key`` is this spec's cache key and its bytes match),
   storing it in the cache if the cache lacks it;
3. else restore it from the artifact cache (:mod:`litert_build.store.artifact_cache`);
4. else run the conversion worker (:mod:`litert_build.build.workers`) and store the result in
   the cache;
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

from litert_build.build.workers import failure_message, run_worker
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


def write_provenance(spec: dict[str, Any]) -> None:
    tflite, manifest, intoto = targets(spec)
    folder = tflite.parent
    subjects = {name: folder / name for name in artifact_files(manifest)}
    tools = json.loads(manifest.read_text()).get("tools", tool_versions())
    atomic_write_bytes(intoto, dumps_manifest(statement(spec, subjects, tools)))


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
        clean_stale_temps(tflite.parent)
        clean_stale_temps(assets_dir(tflite, spec["model"]))
        clean_stale_temps(temp_root(root), TEMP_FOLDER)
        started = time.monotonic()
        cache = open_cache(spec)
        key = spec["cache_key"]
        outcome = "reused"
        if built_in_place(spec):
            how = "already built from these inputs (by another run), reused"
            if cache is not None and not _cached(cache, key):
                _store(cache, spec, tflite.parent, manifest)  # e.g. a run killed while storing
        elif cache is not None and _restore(cache, spec, tflite.parent):
            how, outcome = f"restored from cache (key {key[:12]})", "restored"
        else:
            outcome = "converted"
            result, proc = run_worker(spec)
            if result is None or not result.get("ok"):
                remove_quietly(tflite, manifest, intoto)
                return TaskFailed(failure_message(spec, result, proc))
            how = f"converted: {result['summary']}"
            if cache is not None:
                _store(cache, spec, tflite.parent, manifest)
        try:
            write_provenance(spec)
        except (OSError, ValueError, KeyError) as exc:
            remove_quietly(tflite, manifest, intoto)
            return TaskFailed(f"{where}: could not write the provenance statement: {exc}")
        seconds = round(time.monotonic() - started, 2)
        record = {"outcome": outcome, "seconds": seconds, "build_key": key}
        atomic_write_bytes(build_record_path(root, spec["model"], spec["variant"]), dumps_manifest(record))
    print(f"  {where}: {how} in {seconds:.1f}s", flush=True)
    return record  # doit keeps it as the task's values: the run summary counts outcomes


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
