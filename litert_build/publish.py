"""``litert-build publish <bundle> --to <fsspec URL>``: ship a bundle, immutably.

Layout at the target (any fsspec filesystem: a folder, ``file://``, ``s3://``, ...)::

    releases.json                          every published release, newest last
    <bundle>/<version>/<archive>           the bundle, byte for byte
    <bundle>/<version>/release.json        its release record

A version, once published, never changes: publishing it again with the same bytes does
nothing, with other bytes is refused. The archive is uploaded under a temporary name,
read back and checked against its sha256, and only then moved to its final name; the
release record and the index follow. An interrupted publish leaves no visible file.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .archive import read_archive
from .statcache import hash_file

_CHUNK = 1 << 20


class PublishError(Exception):
    pass


def release_date() -> str:
    """``SOURCE_DATE_EPOCH`` when set (reproducible pipelines), else now, as UTC ISO 8601."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    when = datetime.fromtimestamp(int(epoch), tz=UTC) if epoch.isdigit() else datetime.now(tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_index(archive: Path) -> dict[str, Any]:
    for name, data in read_archive(archive.read_bytes()):
        parts = PurePosixPath(name).parts
        if len(parts) == 2 and parts[1] == "index.json":
            return json.loads(data)
    raise PublishError(f"{archive.name} has no index.json: is it a litert-build bundle?")


def _remote_sha256(fs, path: str) -> str:
    hasher = hashlib.sha256()
    with fs.open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _put_bytes(fs, path: str, data: bytes) -> None:
    parent, name = path.rsplit("/", 1)
    tmp = f"{parent}/.{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    fs.pipe_file(tmp, data)
    try:
        fs.mv(tmp, path)
    except BaseException:
        _remove(fs, tmp)
        raise


def _remove(fs, path: str) -> None:
    try:
        fs.rm_file(path)
    except (FileNotFoundError, OSError):
        pass


def publish(archive: Path, url: str) -> tuple[str, dict[str, Any]]:
    """Publish ``archive`` to ``url``; ("published" | "unchanged", the release record)."""
    import fsspec

    index = read_index(archive)
    name, version = index["bundle"], index["version"]
    digest = hash_file(str(archive), "sha256")
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    folder = f"{root}/{name}/{version}"
    final = f"{folder}/{archive.name}"
    record = {
        "bundle": name,
        "version": version,
        "file": f"{name}/{version}/{archive.name}",
        "size": archive.stat().st_size,
        "sha256": digest,
        "date": release_date(),
        "contents": {model: sorted(entry["variants"]) for model, entry in sorted(index["models"].items())},
    }
    if fs.exists(final):
        existing = _remote_sha256(fs, final)
        if existing == digest:
            return "unchanged", json.loads(fs.cat_file(f"{folder}/release.json"))
        raise PublishError(
            f"{name} {version} is already published at {url} with other bytes (sha256 "
            f"{existing[:16]}..., this archive {digest[:16]}...). Published versions are "
            f"immutable: bump the bundle's version in models.yaml and build it again.")
    fs.makedirs(folder, exist_ok=True)
    tmp = f"{folder}/.{archive.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        fs.put_file(str(archive), tmp)
        uploaded = _remote_sha256(fs, tmp)
        if uploaded != digest:
            raise PublishError(f"upload of {archive.name} is corrupt (sha256 {uploaded[:16]}..., "
                               f"expected {digest[:16]}...); nothing was published")
        fs.mv(tmp, final)
    except BaseException:
        _remove(fs, tmp)
        raise
    _put_bytes(fs, f"{folder}/release.json", _dumps(record))
    _update_releases(fs, root, record)
    return "published", record


def _update_releases(fs, root: str, record: dict[str, Any]) -> None:
    path = f"{root}/releases.json"
    try:
        releases = json.loads(fs.cat_file(path))
    except FileNotFoundError:
        releases = {"schema": 1, "releases": []}
    kept = [r for r in releases["releases"]
            if (r["bundle"], r["version"]) != (record["bundle"], record["version"])]
    releases["releases"] = kept + [record]
    _put_bytes(fs, path, _dumps(releases))


def _dumps(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
