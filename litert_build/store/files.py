"""Artifact layout and atomic, deterministic writes.

``artifacts/<model>/<version>/<model>.<variant>.tflite`` with ``<model>.<variant>.json``
beside it. Every file is written to a temporary name in the same folder, fsynced and
moved into place with ``os.replace``, so a target path holds either the previous
complete file or the new complete file, never a partial one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from litert_build.store.temps import staged_name


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A file object whose bytes appear at ``path`` only when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # .<name>.<pid>.<random>.tmp: a later run removes it if this process was killed.
    tmp = path.parent / staged_name(path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
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
