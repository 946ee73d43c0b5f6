"""Release bundles: build one deterministic archive from built artifacts, and check one.

Inside ``<name>-<version>/``::

    models/<model>/<version>/<model>.<variant>.tflite   (+ .json, .intoto.json, <model>.assets/)
    <extra files>                                      (README, LICENSE, ... at the top)
    index.json                                         every file (size, sha256), every model's
                                                       signature summary and variant table
    SHA256SUMS                                         `sha256sum -c` format, every other file

The archive's bytes depend only on those files (see :mod:`litert_build.archive`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any

from .archive import content_size, read_archive, write_archive
from .artifacts import atomic_writer, dumps_manifest
from .failures import guarded
from .provenance import provenance_path
from .statcache import hash_file
from .step import artifact_files


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
    errors = [o.get("max_abs_error") for o in (verification.get("outputs") or {}).values()]
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
                         "max_abs_error": max(errors) if errors and None not in errors else None},
        "eval": meta.get("eval"),
        "inputs": [{k: t[k] for k in ("name", "shape", "dtype")} for t in signature.get("inputs", [])],
        "outputs": [{k: t[k] for k in ("name", "shape", "dtype")} for t in signature.get("outputs", [])],
    }


def _sha256(content: Path | bytes) -> str:
    return hashlib.sha256(content).hexdigest() if isinstance(content, bytes) else hash_file(
        str(content), "sha256")


@guarded("writing bundle {name}", lambda spec: f"bundle {spec['name']}", lambda spec: Path(spec["root"]))
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


def verify_bundle(path: Path) -> list[str]:
    """Problems found in a bundle archive (empty = good): checksums, index, and every model
    loading in the stock LiteRT interpreter."""
    problems = []
    try:
        members = dict(read_archive(path.read_bytes()))
    except Exception as exc:  # not an archive, truncated, bad gzip
        return [f"cannot read {path.name}: {type(exc).__name__}: {exc}"]
    tops = {PurePosixPath(p).parts[0] for p in members}
    if len(tops) != 1:
        return [f"expected one top folder, found {sorted(tops)}"]
    top = tops.pop()
    sums_text = members.get(f"{top}/SHA256SUMS")
    if sums_text is None:
        return ["SHA256SUMS is missing"]
    listed = {}
    for line in sums_text.decode().splitlines():
        digest, _, name = line.partition("  ")
        listed[f"{top}/{name}"] = digest
    for name in sorted(set(members) - {f"{top}/SHA256SUMS"}):
        if name not in listed:
            problems.append(f"{name}: not in SHA256SUMS")
        elif hashlib.sha256(members[name]).hexdigest() != listed[name]:
            problems.append(f"{name}: sha256 does not match SHA256SUMS")
    for name in sorted(set(listed) - set(members)):
        problems.append(f"{name}: in SHA256SUMS but not in the archive")
    try:
        index = json.loads(members[f"{top}/index.json"])
    except (KeyError, ValueError) as exc:
        return problems + [f"index.json unreadable: {exc}"]
    for item in index.get("files", []):
        data = members.get(item["path"])
        if data is None or len(data) != item["size"] or hashlib.sha256(data).hexdigest() != item["sha256"]:
            problems.append(f"{item['path']}: does not match index.json")
    from ai_edge_litert.interpreter import Interpreter

    for model in index.get("models", {}).values():
        for variant in model["variants"].values():
            data = members.get(variant["file"])
            if data is None:
                problems.append(f"{variant['file']}: listed in index.json, missing")
                continue
            if variant.get("runtime") in ("flex", "dispatch"):
                continue  # needs the Flex delegate / a vendor dispatch library, by design
            try:
                Interpreter(model_content=data).allocate_tensors()
            except Exception as exc:
                problems.append(f"{variant['file']}: does not load in the stock interpreter: {exc}")
    return problems
