"""Release bundles: build one deterministic archive from built artifacts, and check one.

Inside ``<name>-<version>/``::

    models/<model>/<version>/<model>.<variant>.tflite   (+ .json, .intoto.json, <model>.assets/)
    <extra files>                                      (README, LICENSE, ... at the top)
    index.json                                         every file (size, sha256), every model's
                                                       signature summary and variant table
    SHA256SUMS                                         `sha256sum -c` format, every other file

The archive's bytes depend only on those files (see :mod:`litert_build.release.archive`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from litert_build.failures import guarded
from litert_build.plan.layout import artifact_files, log_dir, provenance_path
from litert_build.records import max_abs_error
from litert_build.release.archive import CHUNK, content_size, iter_members, member_escapes, write_archive
from litert_build.store.files import atomic_writer, dumps_manifest
from litert_build.store.statcache import hash_file


def bundle_contents(spec: dict[str, Any]) -> tuple[dict[str, Path | bytes], dict[str, Any]]:
    """(archive path -> file or bytes, index) for a bundle spec whose members are built."""
    root = Path(spec["root"])
    top = PurePosixPath(f"{spec['name']}-{spec['version']}")
    files: dict[str, Path | bytes] = {}
    models: dict[str, Any] = {}
    for member in spec["members"]:
        manifest = root / member["manifest"]
        meta = json.loads(manifest.read_text())
        folder = top / "models" / member["model"] / member["version"]
        names = artifact_files(manifest) + [provenance_path(root / member["tflite"]).name]
        for name in names:
            files[str(folder / name)] = manifest.parent / name
        entry = models.setdefault(member["model"], {"version": member["version"], "variants": {}})
        entry["variants"][member["variant"]] = _variant_summary(meta, str(folder / meta["artifact"]["file"]))
    for rel in spec["files"]:
        files[str(top / Path(rel).name)] = root / rel
    listing = [{"path": path, "size": content_size(content), "sha256": _sha256(content)}
               for path, content in sorted(files.items())]
    index = {"schema": 1, "bundle": spec["name"], "version": spec["version"],
             "format": spec["format"], "files": listing, "models": models}
    files[str(top / "index.json")] = dumps_manifest(index)
    sums = "".join(f"{_sha256(files[p])}  {PurePosixPath(p).relative_to(top)}\n" for p in sorted(files))
    files[str(top / "SHA256SUMS")] = sums.encode()
    return files, index


def _variant_summary(meta: dict[str, Any], path: str) -> dict[str, Any]:
    verification = meta.get("verification") or {}
    signature = (meta.get("signatures") or {}).get("serving_default", {})
    quant = meta.get("quantization") or {}
    return {
        "kind": meta["kind"],
        "file": path,
        "size": meta["artifact"]["size"],
        "sha256": meta["artifact"]["sha256"],
        "size_ratio_vs_float32": quant.get("size_ratio_vs_float32"),
        "runtime": meta.get("runtime"),
        "float_ops": quant.get("float_ops", []),
        "verification": {"status": verification.get("status"),
                         "max_abs_error": max_abs_error(verification)},
        "eval": meta.get("eval"),
        "inputs": [{k: t[k] for k in ("name", "shape", "dtype")} for t in signature.get("inputs", [])],
        "outputs": [{k: t[k] for k in ("name", "shape", "dtype")} for t in signature.get("outputs", [])],
    }


def _sha256(content: Path | bytes) -> str:
    return hashlib.sha256(content).hexdigest() if isinstance(content, bytes) else hash_file(
        str(content), "sha256")


@guarded("writing bundle {name}", lambda spec: f"bundle {spec['name']}",
         lambda spec: log_dir(Path(spec["root"])))
def build_bundle(spec: dict[str, Any]):
    """doit action: write the bundle archive atomically."""
    from doit.exceptions import TaskFailed

    root = Path(spec["root"])
    target = root / spec["archive"]
    try:
        files, index = bundle_contents(spec)
    except (OSError, ValueError, KeyError) as exc:
        return TaskFailed(f"bundle {spec['name']}: cannot read a member ({exc}); build it first")
    with atomic_writer(target) as out:
        write_archive(out, files, spec["format"])
    size = target.stat().st_size
    variants = sum(len(m["variants"]) for m in index["models"].values())
    print(f"  bundle {spec['name']} {spec['version']}: {variants} artifacts, {len(files)} files, "
          f"{size:,} bytes, sha256 {hash_file(str(target), 'sha256')[:16]}", flush=True)
    return None


SMALL_LIMIT = 64 << 20  # index.json and SHA256SUMS are read into memory; a bundle's are far smaller
NOT_LOADED = ("flex", "dispatch")  # need the Flex delegate / a vendor dispatch library, by design


@dataclass
class _Scan:
    """What one streamed pass over a bundle archive found."""

    files: dict[str, tuple[int, str]] = field(default_factory=dict)  # member -> (size, sha256)
    small: dict[str, bytes] = field(default_factory=dict)  # <top>/index.json, <top>/SHA256SUMS
    loads: dict[str, str | None] = field(default_factory=dict)  # model -> why it does not load
    problems: list[str] = field(default_factory=list)  # unsafe or repeated member names
    to_load: set[str] | None = None  # the models to load, once index.json has gone by


def verify_bundle(path: Path) -> list[str]:
    """Problems found in a bundle archive (empty = good): checksums, index, and every model
    loading in the stock LiteRT interpreter.

    The archive is streamed, never held in memory: each member is hashed in chunks as it goes
    by, only index.json and SHA256SUMS are kept, and each model to load is copied to a
    temporary file and loaded from there, one at a time.
    """
    with tempfile.TemporaryDirectory(prefix="litert-build-verify-") as scratch:
        try:
            scan = _scan(path, Path(scratch))
        except Exception as exc:  # not an archive, truncated, bad gzip
            return [f"cannot read {path.name}: {type(exc).__name__}: {exc}"]
        return scan.problems + _check(scan, path, Path(scratch))


def _scan(path: Path, scratch: Path) -> _Scan:
    scan = _Scan()
    with open(path, "rb") as fh:
        for name, size, stream in iter_members(fh):
            if member_escapes(name):
                scan.problems.append(f"{name}: unsafe member path (absolute or with '..'), not read")
                continue
            if name in scan.files:
                scan.problems.append(f"{name}: more than once in the archive")
            scan.files[name] = _take(scan, name, size, stream, scratch)
    return scan


def _take(scan: _Scan, name: str, size: int, stream: BinaryIO, scratch: Path) -> tuple[int, str]:
    """(size, sha256) of one member; keeps it if small and needed, loads it if it is a model.

    A litert-build bundle lists index.json before models/ (entries are sorted), so models are
    loaded as they go by; the rest (another order) are loaded by :func:`_load_late`.
    """
    parts = PurePosixPath(name).parts
    if len(parts) == 2 and parts[1] in ("index.json", "SHA256SUMS"):
        if size > SMALL_LIMIT:
            raise ValueError(f"{name} is {size:,} bytes: too large for a bundle's {parts[1]}")
        data = stream.read()
        scan.small[name] = data
        if parts[1] == "index.json" and scan.to_load is None:
            scan.to_load = _models_to_load(data)
        return len(data), hashlib.sha256(data).hexdigest()
    if scan.to_load is not None and name in scan.to_load:
        model = scratch / "model.tflite"
        digest = _digest(stream, copy_to=model)
        scan.loads[name] = _load_problem(model)
        model.unlink()
        return digest
    return _digest(stream)


def _models_to_load(index_json: bytes) -> set[str]:
    try:
        variants = [v for m in json.loads(index_json)["models"].values() for v in m["variants"].values()]
        return {v["file"] for v in variants if v.get("runtime") not in NOT_LOADED}
    except Exception:  # malformed: reported by _check
        return set()


def _digest(stream: BinaryIO, copy_to: Path | None = None) -> tuple[int, str]:
    hasher, size = hashlib.sha256(), 0
    with open(copy_to, "wb") if copy_to else nullcontext() as out:
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
            size += len(chunk)
            if out:
                out.write(chunk)
    return size, hasher.hexdigest()


def _load_problem(model: Path) -> str | None:
    """Why the model file does not load in the stock interpreter (None: it loads)."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        Interpreter(model_path=str(model)).allocate_tensors()
    except Exception as exc:
        return str(exc)
    return None


def _load_late(path: Path, names: set[str], scratch: Path) -> dict[str, str | None]:
    """Load the models that went by before index.json did: one more streamed pass."""
    loads: dict[str, str | None] = {}
    with open(path, "rb") as fh:
        for name, _, stream in iter_members(fh):
            if name in names and name not in loads:
                model = scratch / "model.tflite"
                _digest(stream, copy_to=model)
                loads[name] = _load_problem(model)
                model.unlink()
                if len(loads) == len(names):
                    break
    return loads


def _check(scan: _Scan, path: Path, scratch: Path) -> list[str]:
    members = scan.files
    tops = {PurePosixPath(p).parts[0] for p in members}
    if len(tops) != 1:
        return [f"expected one top folder, found {sorted(tops)}"]
    top = tops.pop()
    sums_text = scan.small.get(f"{top}/SHA256SUMS")
    if sums_text is None:
        return ["SHA256SUMS is missing"]
    problems = _check_sums(members, top, sums_text)
    try:
        index = json.loads(scan.small[f"{top}/index.json"])
    except (KeyError, ValueError) as exc:
        return problems + [f"index.json unreadable: {exc}"]
    try:
        return problems + _check_index(scan, index, path, scratch)
    except (KeyError, TypeError, AttributeError) as exc:  # a crafted or damaged index.json
        return problems + [f"index.json malformed: {type(exc).__name__}: {exc}"]


def _check_index(scan: _Scan, index: dict[str, Any], path: Path, scratch: Path) -> list[str]:
    """Every file index.json lists, and every model: present, and loading unless Flex/dispatch."""
    members, problems = scan.files, []
    for item in index.get("files", []):
        if members.get(item["path"]) != (item["size"], item["sha256"]):
            problems.append(f"{item['path']}: does not match index.json")
    variants = [v for model in index.get("models", {}).values() for v in model["variants"].values()]
    late = {v["file"] for v in variants if v["file"] in members and v.get("runtime") not in NOT_LOADED
            and v["file"] not in scan.loads}
    if late:
        scan.loads.update(_load_late(path, late, scratch))
    for variant in variants:
        if variant["file"] not in members:
            problems.append(f"{variant['file']}: listed in index.json, missing")
        elif variant.get("runtime") not in NOT_LOADED and scan.loads.get(variant["file"]) is not None:
            problems.append(f"{variant['file']}: does not load in the stock interpreter: "
                            f"{scan.loads[variant['file']]}")
    return problems


def _check_sums(members: dict[str, tuple[int, str]], top: str, sums_text: bytes) -> list[str]:
    """Every member against SHA256SUMS, and every SHA256SUMS line against the members."""
    problems = []
    listed = {}
    for line in sums_text.decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        listed[f"{top}/{name}"] = digest
    for name in sorted(set(members) - {f"{top}/SHA256SUMS"}):
        if name not in listed:
            problems.append(f"{name}: not in SHA256SUMS")
        elif members[name][1] != listed[name]:
            problems.append(f"{name}: sha256 does not match SHA256SUMS")
    for name in sorted(set(listed) - set(members)):
        problems.append(f"{name}: in SHA256SUMS but not in the archive")
    return problems
