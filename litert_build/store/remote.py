"""fsspec helpers shared by the artifact cache and publishing: staged uploads, streamed digests.

A file appears at its final path only whole: it is written under a staged name beside it
(``.<name>.<pid>.<random>.tmp``, the pattern :func:`litert_build.build.workers.clean_stale_temps`
removes once its process is gone) and moved into place.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import nullcontext
from pathlib import Path

from litert_build.store.temps import staged_name

CHUNK = 1 << 20


class UploadCorrupt(Exception):
    """The bytes read back after an upload are not the bytes sent."""


def _staged(path: str) -> str:
    parent, name = path.rsplit("/", 1)
    return f"{parent}/{staged_name(name)}"


def remove(fs, path: str) -> None:
    try:
        fs.rm_file(path)
    except (FileNotFoundError, OSError):
        pass


def _move_into_place(fs, tmp: str, path: str) -> None:
    try:
        fs.mv(tmp, path)
    except BaseException:
        remove(fs, tmp)
        raise


def cat_or_none(fs, path: str) -> bytes | None:
    """The bytes of a remote file, or None when there is none."""
    try:
        return fs.cat_file(path)
    except FileNotFoundError:
        return None


def put_bytes(fs, path: str, data: bytes) -> None:
    tmp = _staged(path)
    fs.pipe_file(tmp, data)
    _move_into_place(fs, tmp, path)


def put_file(fs, local: str, path: str, sha256: str | None = None) -> None:
    """Upload ``local`` to ``path``; with ``sha256``, read the upload back and check it first."""
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    tmp = _staged(path)
    try:
        fs.put_file(local, tmp)
        if sha256 is not None:
            uploaded, _ = sha256_and_size(fs, tmp)
            if uploaded != sha256:
                raise UploadCorrupt(f"sha256 {uploaded[:16]}..., expected {sha256[:16]}...")
    except BaseException:
        remove(fs, tmp)
        raise
    _move_into_place(fs, tmp, path)


def sha256_and_size(fs, path: str, copy_to: Path | None = None) -> tuple[str, int]:
    """(sha256, size) of a remote file, streamed; copied to local ``copy_to`` on the way."""
    hasher, size = hashlib.sha256(), 0
    with fs.open(path, "rb") as fin, (open(copy_to, "wb") if copy_to else nullcontext()) as fout:
        while chunk := fin.read(CHUNK):
            hasher.update(chunk)
            size += len(chunk)
            if fout:
                fout.write(chunk)
        if fout:
            fout.flush()
            os.fsync(fout.fileno())
    if copy_to:
        os.chmod(copy_to, 0o644)
    return hasher.hexdigest(), size
