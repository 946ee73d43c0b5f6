"""Where every file of a project goes: artifacts, their manifests and provenance, and the state
folder (``.litert-build/``) with doit's database, the stat cache, locks, build records, worker
temp folders and logs. One place, so no other module spells a path.

    artifacts/<model>/<version>/<model>.<variant>.tflite       the artifact
    artifacts/<model>/<version>/<model>.<variant>.json         its signature manifest
    artifacts/<model>/<version>/<model>.<variant>.intoto.json  its provenance statement
    artifacts/<model>/<version>/<model>.<variant>.litertlm     kind llm: the LiteRT-LM package
    artifacts/<model>/<version>/<model>.assets/                KerasHub runtime assets
    .litert-build/doit.sqlite3, statcache.sqlite3, locks/, builds/, tmp/, logs/
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from litert_build.store.safepath import inside

STATE_DIR = ".litert-build"


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def lock_path(root: Path, model: str, variant: str) -> Path:
    """The per-task lock: concurrent runs never convert the same task at once."""
    return state_dir(root) / "locks" / f"{model}.{variant}.lock"


def session_note_path(root: Path, model: str, variant: str) -> Path:
    """Where a worker that built this variant with its siblings leaves the result for the
    variant's own task (:mod:`litert_build.build.sessions`)."""
    return state_dir(root) / "sessions" / f"{model}.{variant}.json"


def build_record_path(root: Path, model: str, variant: str) -> Path:
    """How the artifact at the target paths came to be (converted, restored, reused) and how
    long it took: state, not an artifact (times differ run to run). Read by the build report."""
    return state_dir(root) / "builds" / f"{model}.{variant}.json"


def temp_root(root: Path) -> Path:
    """Where conversion workers get their temporary folders (also their TMPDIR)."""
    return state_dir(root) / "tmp"


def log_dir(root: Path) -> Path:
    """Tracebacks of unexpected errors (see :mod:`litert_build.failures`)."""
    return state_dir(root) / "logs"


def project_relative(root: Path, path: Path) -> str:
    """``path`` relative to the project folder, POSIX style; absolute when it lies outside
    (a source file in a shared model store)."""
    real = path.resolve()
    try:
        return real.relative_to(root).as_posix()
    except ValueError:
        return real.as_posix()


def artifact_paths(artifacts_dir: Path, model: str, version: str, variant: str) -> tuple[Path, Path]:
    """(tflite path, JSON signature-manifest path) of one model/variant."""
    folder = artifacts_dir / model / version
    stem = f"{model}.{variant}"
    return folder / f"{stem}.tflite", folder / f"{stem}.json"


def provenance_path(tflite: Path) -> Path:
    """``<model>.<variant>.intoto.json`` beside the artifact."""
    return tflite.with_suffix(".intoto.json")


def litertlm_path(tflite: Path) -> Path:
    """``<model>.<variant>.litertlm`` beside the artifact (``kind: llm``)."""
    return tflite.with_suffix(".litertlm")


def assets_dir(tflite: Path, model: str) -> Path:
    return tflite.parent / f"{model}.assets"


def targets(spec: dict[str, Any]) -> tuple[Path, Path, Path]:
    """(artifact, signature manifest, provenance statement) of a build spec."""
    root = Path(spec["root"])
    tflite = root / spec["tflite"]
    return tflite, root / spec["manifest"], provenance_path(tflite)


def artifact_files(manifest: Path) -> list[str]:
    """Files of one build, relative to the artifact's folder: .tflite, .json, assets and, for
    ``kind: llm``, the .litertlm.

    A manifest may come from a shared cache: every name it lists must stay in its folder
    (:class:`~litert_build.store.safepath.UnsafePath` otherwise).
    """
    meta = json.loads(manifest.read_text())
    names = [meta["artifact"]["file"], manifest.name]
    assets = meta.get("assets") or {}
    names += [f"{assets['folder']}/{name}" for name in sorted(assets.get("files", {}))]
    package = meta.get("litertlm") or {}
    if package.get("file"):
        names.append(package["file"])
    for name in names:
        inside(manifest.parent, name)
    return names
