"""Artifact layout and atomic, deterministic writes.

``artifacts/<model>/<version>/<model>.<variant>.tflite`` with ``<model>.<variant>.json``
beside it. Every file is written to a temporary name in the same folder, fsynced and
moved into place with ``os.replace``, so a target path holds either the previous
complete file or the new complete file, never a partial one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO


def artifact_paths(artifacts_dir: Path, model: str, version: str, variant: str) -> tuple[Path, Path]:
    """(tflite path, JSON signature-manifest path) of one model/variant."""
    folder = artifacts_dir / model / version
    stem = f"{model}.{variant}"
    return folder / f"{stem}.tflite", folder / f"{stem}.json"


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A file object whose bytes appear at ``path`` only when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # .<name>.<pid>.<random>.tmp: a later run removes it if this process was killed.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as fh:
        fh.write(data)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def dumps_manifest(data: dict[str, Any]) -> bytes:
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def remove_quietly(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
