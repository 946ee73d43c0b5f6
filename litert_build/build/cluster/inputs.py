"""Inputs by content: the files a task's key covers go to the shared store under their sha256,
and come out of it, checked, in the Dask worker's scratch folder.

Layout, beside the artifact cache's entries (:meth:`ArtifactCache.input_path`)::

    <cache>/inputs/sha256/<digest[:2]>/<digest>

An upload is staged and moved into place (:func:`litert_build.store.remote.put_file`, read back
and checked), so a blob at its final name is whole. A Dask worker keeps what it fetched under its
local directory (``<local_directory>/litert-build/inputs/<digest>``, read-only) and links it into
each task's scratch folder, so the second task of a model downloads nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

from litert_build.plan.keys import file_digest
from litert_build.store.artifact_cache import ArtifactCache
from litert_build.store.remote import put_file, sha256_and_size
from litert_build.store.safepath import inside
from litert_build.store.temps import staged_name

DIGEST = re.compile(r"^[0-9a-f]{64}$")
_UPLOADED: set[tuple[str, str]] = set()  # (store, digest) this process uploaded or found
_LOCK = threading.Lock()


class InputUnavailable(Exception):
    """An input is not in the store, or not the bytes its digest names."""


def upload(cache: ArtifactCache, root: Path, names: list[str]) -> dict[str, str]:
    """Put every file (project-relative) into the store unless it is there: name -> sha256."""
    digests = {}
    for name in sorted(set(names)):
        path = inside(root, name)
        digest = file_digest(path, "sha256")
        digests[name] = digest
        with _LOCK:
            known = (cache.location, digest) in _UPLOADED
        if not known:
            remote = cache.input_path(digest)
            if not cache.fs.exists(remote):
                put_file(cache.fs, str(path), remote, sha256=digest)
            elif cache.local:
                os.utime(remote)  # used now: ``cache gc`` evicts the least recently used
            with _LOCK:
                _UPLOADED.add((cache.location, digest))
    return digests


def materialize(cache: ArtifactCache, digests: dict[str, str], blobs: Path, root: Path) -> None:
    """Lay the files out under ``root`` as the project has them: each fetched once per Dask worker
    into ``blobs``, checked against its digest, then hard-linked (or copied) into place. Names
    come from the client: each must stay inside ``root``."""
    blobs.mkdir(parents=True, exist_ok=True)
    for name, digest in sorted(digests.items()):
        if not isinstance(digest, str) or not DIGEST.match(digest):
            raise InputUnavailable(f"{name}: '{digest}' is not a sha256 digest")
        target = inside(root, name)
        blob = blobs / digest
        if not blob.is_file():
            _fetch(cache, digest, blob, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(blob, target)
        except OSError:  # another filesystem
            shutil.copyfile(blob, target)


def _fetch(cache: ArtifactCache, digest: str, blob: Path, name: str) -> None:
    staged = blob.parent / staged_name(blob.name)
    try:
        got, size = sha256_and_size(cache.fs, cache.input_path(digest), staged)
    except FileNotFoundError:
        staged.unlink(missing_ok=True)
        raise InputUnavailable(f"{name} (sha256 {digest[:16]}...) is not in {cache.location}") from None
    if got != digest:
        staged.unlink(missing_ok=True)
        raise InputUnavailable(f"{name}: the store holds sha256 {got[:16]}... ({size} bytes) under "
                               f"{digest[:16]}...; remove {cache.input_path(digest)} and build again")
    os.chmod(staged, 0o444)  # linked into scratch folders: nothing may write through a link
    os.replace(staged, blob)
