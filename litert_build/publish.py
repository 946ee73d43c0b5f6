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

import json
import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from .archive import read_archive
from .artifacts import dumps_manifest
from .remote import UploadCorrupt, put_bytes, put_file, sha256_and_size
from .statcache import hash_file


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
        existing, _ = sha256_and_size(fs, final)
        if existing == digest:
            return "unchanged", json.loads(fs.cat_file(f"{folder}/release.json"))
        raise PublishError(
            f"{name} {version} is already published at {url} with other bytes (sha256 "
            f"{existing[:16]}..., this archive {digest[:16]}...). Published versions are "
            f"immutable: bump the bundle's version in models.yaml and build it again.")
    try:
        put_file(fs, str(archive), final, sha256=digest)  # read back and checked before the move
    except UploadCorrupt as exc:
        raise PublishError(f"upload of {archive.name} is corrupt ({exc}); nothing was published") from exc
    put_bytes(fs, f"{folder}/release.json", dumps_manifest(record))
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
    put_bytes(fs, path, dumps_manifest(releases))
