"""Content-addressed artifact cache: a conversion's outputs, keyed by the hash of its inputs.

The key (computed by the plan) covers the bytes of every input file, the resolved
model + variant settings, calibration data and the tool versions, so an entry is valid
wherever the same key comes up again: another clone, another machine, a CI runner.

Layout, on any fsspec filesystem (a local folder by default)::

    <cache>/v1/<key[:2]>/<key>/entry.json       # written last: marks the entry complete
    <cache>/v1/<key[:2]>/<key>/files/<name>     # the .tflite, its JSON, runtime assets
    <cache>/inputs/sha256/<d[:2]>/<d>           # a cluster build's inputs, by content

``entry.json`` lists every file with its sha256 and size. Files are uploaded under a
temporary name and moved into place, ``entry.json`` last, so a killed store leaves no
visible entry. Restoring stages every file next to its target, checks its sha256 and
only then renames them into place; an entry that does not match its digests is
reported, evicted and rebuilt, never restored.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litert_build.processes import pid_alive
from litert_build.store.files import dumps_manifest
from litert_build.store.remote import put_bytes, put_file, sha256_and_size
from litert_build.store.safepath import UnsafePath, check_name, inside
from litert_build.store.statcache import hash_file
from litert_build.store.temps import STAGED_FILE, staged_name

FORMAT = "v1"
ENTRY = "entry.json"
def file_sha256(path: Path) -> str:
    return hash_file(str(path), "sha256")


def warn(message: str) -> None:
    sys.stderr.write(f"litert-build: warning: {message}\n")  # one write: runner threads print at once
    sys.stderr.flush()


class _Corrupt(Exception):
    pass


@dataclass
class Restored:
    files: list[str]


class ArtifactCache:
    """A cache at a local path or fsspec URL (``file://``, ``memory://``, ``s3://``, ...)."""

    def __init__(self, location: str):
        import fsspec

        self.location = location
        self.fs, self.root = fsspec.core.url_to_fs(location)
        self.local = "file" in _protocols(self.fs)

    # ------------------------------------------------------------------ paths
    def _entry_dir(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{FORMAT}/{key[:2]}/{key}"

    def inputs_dir(self) -> str:
        """Where cluster builds put inputs by content (:mod:`litert_build.build.cluster.inputs`)."""
        return f"{self.root.rstrip('/')}/inputs"

    def input_path(self, digest: str) -> str:
        """An input's place in the store: ``<cache>/inputs/sha256/<digest[:2]>/<digest>``."""
        return f"{self.inputs_dir()}/sha256/{digest[:2]}/{digest}"

    def entries(self) -> list[str]:
        """Keys of every complete entry."""
        pattern = f"{self.root.rstrip('/')}/{FORMAT}/*/*/{ENTRY}"
        return sorted(p.rstrip("/").split("/")[-2] for p in self.fs.glob(pattern))

    # ------------------------------------------------------------------ reading
    def read_entry(self, key: str) -> dict[str, Any] | None:
        path = f"{self._entry_dir(key)}/{ENTRY}"
        try:
            return json.loads(self.fs.cat_file(path))
        except FileNotFoundError:
            return None
        except (ValueError, OSError) as exc:
            self._corrupt(key, f"{ENTRY} unreadable ({exc})")
            return None

    def restore(self, key: str, folder: Path) -> Restored | None:
        """Copy entry ``key``'s files into ``folder`` if it exists and every digest matches."""
        entry = self.read_entry(key)
        if entry is None:
            return None
        staged: list[tuple[Path, Path]] = []
        try:
            for name, meta in sorted(entry["files"].items()):
                try:  # written by any machine that shares the cache: never trust a name
                    target = inside(folder, name)
                except UnsafePath as exc:
                    raise _Corrupt(f"unsafe file name: {exc}") from None
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.parent / staged_name(target.name)
                staged.append((tmp, target))
                digest, size = sha256_and_size(self.fs, f"{self._entry_dir(key)}/files/{name}", tmp)
                if digest != meta["sha256"] or size != meta["size"]:
                    raise _Corrupt(f"{name}: sha256 {digest[:12]}... ({size} bytes), expected "
                                   f"{meta['sha256'][:12]}... ({meta['size']} bytes)")
        except (_Corrupt, FileNotFoundError, KeyError, TypeError, AttributeError) as exc:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            why = str(exc) if isinstance(exc, _Corrupt) else f"{type(exc).__name__}: {exc}"
            self._corrupt(key, why)
            return None
        # Everything checked: move into place. As in the worker, the signature manifest (and
        # the provenance that names the files) goes first and comes back last.
        manifests = [target for _, target in staged if target.suffix == ".json" and target.parent == folder]
        for target in manifests:
            target.unlink(missing_ok=True)
            target.with_suffix(".intoto.json").unlink(missing_ok=True)
        staged.sort(key=lambda pair: pair[1] in manifests)
        for tmp, target in staged:
            os.replace(tmp, target)
        self._touch(key)
        return Restored(files=sorted(entry["files"]))

    # ------------------------------------------------------------------ writing
    def store(self, key: str, folder: Path, names: list[str], task: str,
              tools: dict[str, str]) -> None:
        """Upload ``folder/<name>`` for every name, then ``entry.json``: an entry appears whole."""
        if self.read_entry(key) is not None:
            return
        base = self._entry_dir(key)
        self._remove_stale_temps(base)
        files = {}
        for name in sorted(names):
            path = folder / name
            files[name] = {"sha256": file_sha256(path), "size": path.stat().st_size}
            put_file(self.fs, str(path), f"{base}/files/{name}")
        entry = {"format": FORMAT, "key": key, "task": task, "tools": tools, "files": files}
        put_bytes(self.fs, f"{base}/{ENTRY}", dumps_manifest(entry))  # last: the entry is whole

    def _remove_stale_temps(self, base: str) -> None:
        """Staged uploads of killed stores (``.<name>.<pid>.<random>.tmp``, pid not alive)."""
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return
        for path in found:
            match = STAGED_FILE.match(path.rsplit("/", 1)[-1])
            if match and not pid_alive(int(match.group(1))):
                self.fs.rm_file(path)

    def _touch(self, key: str) -> None:
        """Mark an entry as recently used, for ``gc``: local caches only (mtime of entry.json)."""
        if self.local:
            try:
                os.utime(f"{self._entry_dir(key)}/{ENTRY}")
            except OSError:
                pass

    # ------------------------------------------------------------------ maintenance
    def evict(self, key: str) -> None:
        try:
            self.fs.rm(self._entry_dir(key), recursive=True)
        except FileNotFoundError:
            pass

    def _corrupt(self, key: str, why: str) -> None:
        warn(f"cache entry {key[:16]} in {self.location} is corrupted ({why}); evicted, rebuilding")
        self.evict(key)

    def entry_size(self, key: str) -> int:
        return sum(self.fs.du(self._entry_dir(key), total=False).values())

    def last_used(self, key: str) -> float:
        return _modified(self.fs.info(f"{self._entry_dir(key)}/{ENTRY}"))

    def inputs(self) -> list[tuple[float, str, int]]:
        """(last used, path, size) of every input a cluster build uploaded (:meth:`input_path`)."""
        found = []
        for path in self.fs.glob(f"{self.inputs_dir()}/sha256/*/*"):
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if STAGED_FILE.match(name):
                continue
            info = self.fs.info(path)
            found.append((_modified(info), path, int(info.get("size") or 0)))
        return found

    def info(self) -> dict[str, Any]:
        keys = self.entries()
        inputs = self.inputs()
        return {"location": self.location, "entries": len(keys),
                "bytes": sum(self.entry_size(k) for k in keys) + sum(size for _, _, size in inputs),
                "inputs": len(inputs)}

    def gc(self, max_size: int) -> tuple[int, int, int]:
        """Evict least recently used entries and cluster inputs until the cache holds at most
        ``max_size`` bytes: (entries evicted, inputs evicted, bytes left)."""
        sized = [(self.last_used(k), "entry", k, self.entry_size(k)) for k in self.entries()]
        sized += [(used, "input", path, size) for used, path, size in self.inputs()]
        total = sum(item[3] for item in sized)
        evicted = {"entry": 0, "input": 0}
        for _, kind, name, size in sorted(sized):
            if total <= max_size:
                break
            if kind == "entry":
                self.evict(name)
            else:
                self.fs.rm_file(name)
            total -= size
            evicted[kind] += 1
        return evicted["entry"], evicted["input"], total

    def verify(self) -> tuple[int, list[str]]:
        """Check every entry against its digests; evict the bad ones. (checked, bad keys)."""
        bad = []
        keys = self.entries()
        for key in keys:
            problem = self._check(key)
            if problem:
                warn(f"cache entry {key[:16]} is corrupted ({problem}); evicted")
                self.evict(key)
                bad.append(key)
        return len(keys), bad

    def _check(self, key: str) -> str | None:
        try:
            entry = json.loads(self.fs.cat_file(f"{self._entry_dir(key)}/{ENTRY}"))
            for name, meta in entry["files"].items():
                check_name(name)
                digest, size = sha256_and_size(self.fs, f"{self._entry_dir(key)}/files/{name}")
                if digest != meta["sha256"] or size != meta["size"]:
                    return f"{name} does not match its sha256"
        except FileNotFoundError as exc:
            return f"missing file ({exc})"
        except UnsafePath as exc:
            return f"unsafe file name: {exc}"
        except (ValueError, KeyError, TypeError) as exc:
            return f"{ENTRY} malformed ({exc})"
        return None


def _modified(info: dict[str, Any]) -> float:
    """A file's modification time from fsspec's ``info`` (each backend names it its own way)."""
    for field in ("mtime", "modified", "LastModified", "updated", "created"):
        value = info.get(field)
        if value is None:
            continue
        return value.timestamp() if hasattr(value, "timestamp") else float(value)
    return 0.0


def _protocols(fs) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def parse_size(text: str) -> int:
    """``5G``, ``500M``, ``10k`` or a plain byte count (powers of 1024)."""
    units = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    value = text.strip().upper().removesuffix("IB").removesuffix("B") if text.strip() else ""
    number, unit = (value[:-1], value[-1]) if value and value[-1] in units else (value, "")
    try:
        return int(float(number) * units[unit])
    except ValueError:
        raise ValueError(f"'{text}' is not a size: use e.g. 5G, 500M or a number of bytes") from None
