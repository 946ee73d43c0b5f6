"""Small hand-made release bundles (no TensorFlow), laid out as litert-build lays them out, and
``litert-build`` commands run on them (publish, bundle verify) from the test's working folder."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from litert_build.release.archive import archive_bytes
from litert_build.store.files import dumps_manifest
from shared.project import run_build, start_cli

DATE = {"SOURCE_DATE_EPOCH": "1767225600"}  # 2026-01-01T00:00:00Z


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


NOT_A_MODEL = b"TFL3 not a real model"


def bundle_files(name: str, version: str, top: str | None = None, payload: bytes = b"",
                 model: bytes = NOT_A_MODEL, runtime: str = "flex") -> dict[str, bytes]:
    """The members of a small bundle laid out like bundle_contents: one model (by default not
    a real one, marked Flex so that it is not loaded), a README, index.json and SHA256SUMS."""
    top = top or f"{name}-{version}"
    path = f"{top}/models/m/1/m.float32.tflite"
    files = {f"{top}/README.md": f"{name} {version}\n".encode() + payload, path: model}
    listing = [{"path": p, "size": len(d), "sha256": sha256(d)} for p, d in sorted(files.items())]
    variant = {"kind": "float32", "file": path, "size": len(model), "sha256": sha256(model),
               "runtime": runtime}
    index = {"schema": 1, "bundle": name, "version": version, "format": "tar.gz", "files": listing,
             "models": {"m": {"version": "1", "variants": {"float32": variant}}}}
    files[f"{top}/index.json"] = dumps_manifest(index)
    sums = "".join(f"{sha256(files[p])}  {p[len(top) + 1:]}\n" for p in sorted(files))
    files[f"{top}/SHA256SUMS"] = sums.encode()
    return files


def make_bundle(folder: Path, name: str, version: str, fmt: str = "tar.gz", payload: bytes = b"",
                file_name: str | None = None, top: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / (file_name or f"{name}-{version}.{fmt}")
    archive.write_bytes(archive_bytes(bundle_files(name, version, top, payload), fmt))
    return archive


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``litert-build ARGS`` started in the working folder."""
    return start_cli(Path.cwd(), *args, env=env)


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """(exit code, output) of ``litert-build ARGS`` run in the working folder."""
    result = run_build(Path.cwd(), *args, env=env)
    return result.returncode, result.output
