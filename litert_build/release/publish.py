"""``litert-build publish <bundle> --to <fsspec URL>``: ship a bundle, immutably.

Layout at the target (any fsspec filesystem: a folder, ``file://``, ``s3://``, ...)::

    releases.json                          every published release, by date, bundle, version
    <bundle>/<version>/<archive>           the bundle, byte for byte
    <bundle>/<version>/release.json        its release record: the source of truth
    .releases.lock                         (local folders only) there while a publish runs

A version, once published, never changes: publishing it again with the same bytes does
nothing but repair what is missing (its release.json, its releases.json entry), with other
bytes is refused. The archive is uploaded under a temporary name, read back and checked
against its sha256, and only then moved to its final name; the release record follows, and
releases.json is rebuilt from every release.json. An interrupted publish leaves no visible file.

Concurrent publishes to one target: a local folder is locked for the whole publish; elsewhere
(no lock possible) releases.json is written, read back and rebuilt again until it lists every
release.json present (see :func:`update_releases`).

``bundle`` and ``version`` come from the archive's index.json, which is untrusted: both must
be plain names, and every path written is checked to stay under the target (:func:`target_path`).
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from litert_build.release.archive import iter_members
from litert_build.release.dates import release_date
from litert_build.store.files import dumps_manifest
from litert_build.store.remote import UploadCorrupt, cat_or_none, put_bytes, put_file, sha256_and_size
from litert_build.store.statcache import hash_file

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
FILE_NAME = VERSION  # the archive's own name: app-3.1.0.tar.gz
INDEX_LIMIT = 64 << 20  # an index.json larger than this is not a bundle's
LOCK_NAME = ".releases.lock"
LOCK_TIMEOUT = 900.0  # seconds another publish may hold a local target (it may be uploading GBs)
INDEX_TRIES = 10


class PublishError(Exception):
    pass


@dataclass(frozen=True)
class Outcome:
    """What :func:`publish` did. Unpacks as ``(status, record)``.

    ``status``: "published", "unchanged" (already there, nothing to do) or "repaired" (already
    there with these bytes; ``repaired`` names what was missing and has been restored).
    """

    status: str
    record: dict[str, Any]
    repaired: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Any]:
        return iter((self.status, self.record))


def _refuse(archive: Path, what: str, value: Any, pattern: re.Pattern[str]) -> PublishError:
    return PublishError(f"refusing {archive}: {what} is {value!r}, not a plain name "
                        f"(^{pattern.pattern}$); nothing was written")


def checked_name(archive: Path, field: str, value: Any, pattern: re.Pattern[str]) -> str:
    """``value`` of index.json's ``field`` if it is a plain name, else :class:`PublishError`."""
    if not isinstance(value, str) or value in (".", "..") or not pattern.fullmatch(value):
        raise _refuse(archive, f"index.json field '{field}'", value, pattern)
    return value


def target_path(root: str, *parts: str) -> str:
    """``root/part/...``, refusing any part that is empty, absolute, or has a ``.``/``..``
    segment: whatever the names, nothing is written outside ``root``."""
    for part in parts:
        segments = part.replace("\\", "/").split("/")
        if part.startswith("/") or any(s in ("", ".", "..") for s in segments):
            raise PublishError(f"refusing to write {part!r}: it would leave {root or '/'}")
    return "/".join([root, *parts])


def read_index(archive: Path) -> dict[str, Any]:
    """The archive's ``<top>/index.json``, its bundle and version checked.

    The archive is read as a stream up to that member (the first few in a litert-build
    bundle), so its size does not matter.
    """
    import tarfile
    import zipfile
    import zlib

    try:
        with open(archive, "rb") as fh:
            for name, size, stream in iter_members(fh):
                parts = PurePosixPath(name).parts
                if len(parts) == 2 and parts[1] == "index.json":
                    if size > INDEX_LIMIT:
                        raise PublishError(f"{archive.name}: {name} is {size:,} bytes: not a bundle's index")
                    return _checked_index(archive, stream.read())
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, zlib.error) as exc:
        raise PublishError(f"cannot read {archive.name}: {type(exc).__name__}: {exc}") from exc
    raise PublishError(f"{archive.name} has no index.json: is it a litert-build bundle?")


def _checked_index(archive: Path, data: bytes) -> dict[str, Any]:
    try:
        index = json.loads(data)
    except ValueError as exc:
        raise PublishError(f"{archive.name}: index.json is not JSON ({exc})") from exc
    if not isinstance(index, dict):
        raise PublishError(f"{archive.name}: index.json is not a JSON object")
    checked_name(archive, "bundle", index.get("bundle"), NAME)
    checked_name(archive, "version", index.get("version"), VERSION)
    models = index.get("models")
    if not isinstance(models, dict) or not all(
            isinstance(m, dict) and isinstance(m.get("variants"), dict) for m in models.values()):
        raise PublishError(f"refusing {archive}: index.json field 'models' is not a table of models "
                           "with their variants; nothing was written")
    return index


def publish(archive: Path, url: str) -> Outcome:
    """Publish ``archive`` to ``url`` (see the module docstring)."""
    import fsspec

    if not FILE_NAME.fullmatch(archive.name):
        raise _refuse(archive, "its file name", archive.name, FILE_NAME)
    index = read_index(archive)
    name, version = index["bundle"], index["version"]
    record = {
        "bundle": name,
        "version": version,
        "file": f"{name}/{version}/{archive.name}",
        "size": archive.stat().st_size,
        "sha256": hash_file(str(archive), "sha256"),
        "date": release_date(),
        "contents": {model: sorted(entry["variants"]) for model, entry in sorted(index["models"].items())},
    }
    fs, root = fsspec.core.url_to_fs(url)
    root = root.rstrip("/")
    folder = target_path(root, name, version)
    with _target_lock(fs, root, url):
        return _publish(fs, root, folder, archive, record, url)


@contextmanager
def _target_lock(fs, root: str, url: str) -> Iterator[None]:
    """A local folder: held for the whole publish, so two publishes of one version cannot both
    upload, and releases.json is rebuilt by one at a time. Other filesystems: no lock (see
    :func:`update_releases`)."""
    from fsspec.implementations.local import LocalFileSystem

    if not isinstance(fs, LocalFileSystem):
        yield
        return
    os.makedirs(root or "/", exist_ok=True)
    path = target_path(root, LOCK_NAME)
    try:
        fd = _lock(path, time.monotonic() + LOCK_TIMEOUT)
    except TimeoutError as exc:
        raise PublishError(f"another publish to {url} has held {path} for {LOCK_TIMEOUT:.0f} s; "
                           "nothing was published") from exc
    try:
        yield
    finally:
        _unlock(path, fd)


def _lock(path: str, deadline: float) -> int | None:
    """An exclusive flock on ``path`` (created if need be): its descriptor, or None where
    there is no flock (Windows, some network filesystems: publish then relies on the
    read-back of :func:`update_releases` alone).

    The holder removes the file before it lets go (:func:`_unlock`), so a target nobody is
    publishing to holds nothing but releases. Whoever then gets the lock on the removed
    file sees that ``path`` no longer names it, and starts again on the new one.
    """
    try:
        import fcntl
    except ImportError:
        return None
    while True:
        fd = _open_lock_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() > deadline:
                raise TimeoutError(path) from None
            time.sleep(0.05)
            continue
        except OSError:  # no flock on this filesystem
            os.close(fd)
            _unlock(path, None)
            return None
        if _names(path, fd):
            return fd
        os.close(fd)


def _open_lock_file(path: str) -> int:
    flags = os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(path, os.O_RDWR | flags, 0o644)
    except PermissionError:  # created by another account: a read-only descriptor locks as well
        return os.open(path, os.O_RDONLY | flags)


def _names(path: str, fd: int) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _unlock(path: str, fd: int | None) -> None:
    """Remove the lock file while still holding it, then let go (closing releases the flock)."""
    try:
        os.unlink(path)
    except OSError:
        pass
    finally:
        if fd is not None:
            os.close(fd)


def _publish(fs, root: str, folder: str, archive: Path, record: dict[str, Any], url: str) -> Outcome:
    key = (record["bundle"], record["version"])
    on_disk = _read_record(fs, f"{folder}/release.json")
    previous = on_disk or _indexed_record(fs, root, key)
    final = target_path(root, *key, _published_name(previous, key) or archive.name)
    archive_sha = sha256_and_size(fs, final)[0] if fs.exists(final) else None
    for existing in (archive_sha, previous and previous.get("sha256")):
        if existing is not None and existing != record["sha256"]:
            raise _immutable(record, url, str(existing))
    if archive_sha is None:
        _upload(fs, archive, final, record["sha256"])
    if archive_sha is None and previous is None:
        put_bytes(fs, f"{folder}/release.json", dumps_manifest(record))
        update_releases(fs, root, key)
        return Outcome("published", record)
    # Published before with these bytes: restore whatever is missing, change nothing else.
    repaired = [] if archive_sha else ["archive"]
    if on_disk is None:
        previous = previous or record
        put_bytes(fs, f"{folder}/release.json", dumps_manifest(previous))
        repaired.append("release.json")
    if update_releases(fs, root, key):
        repaired.append("releases.json entry")
    return Outcome("repaired" if repaired else "unchanged", previous, tuple(repaired))


def _upload(fs, archive: Path, final: str, digest: str) -> None:
    try:
        put_file(fs, str(archive), final, sha256=digest)  # read back and checked before the move
    except UploadCorrupt as exc:
        raise PublishError(f"upload of {archive.name} is corrupt ({exc}); nothing was published") from exc


def _immutable(record: dict[str, Any], url: str, existing: str) -> PublishError:
    return PublishError(
        f"{record['bundle']} {record['version']} is already published at {url} with other bytes (sha256 "
        f"{existing[:16]}..., this archive {record['sha256'][:16]}...). Published versions are "
        f"immutable: bump the bundle's version in models.yaml and build it again.")


def _read_record(fs, path: str) -> dict[str, Any] | None:
    """A release.json, or None when there is none; an unreadable one stops the publish (it
    is the source of truth, so it is not overwritten blindly)."""
    data = cat_or_none(fs, path)
    if data is None:
        return None
    try:
        record = json.loads(data)
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("date"), str):
        raise PublishError(f"{path} is not a release record; move it away and publish that version "
                           "again to restore it")
    return record


def _indexed_record(fs, root: str, key: tuple[str, str]) -> dict[str, Any] | None:
    """This version's entry in releases.json (a copy of its release.json), if any."""
    for entry in _read_releases(fs, root):
        if (entry.get("bundle"), entry.get("version")) == key and isinstance(entry.get("date"), str) \
                and isinstance(entry.get("sha256"), str):
            return entry
    return None


def _published_name(previous: dict[str, Any] | None, key: tuple[str, str]) -> str | None:
    """The archive's file name a previous publish of this version recorded (it may differ from
    this copy's name: the version is what is immutable, not the file name)."""
    parts = str((previous or {}).get("file", "")).split("/")
    if len(parts) == 3 and tuple(parts[:2]) == key and FILE_NAME.fullmatch(parts[2]):
        return parts[2]
    return None


def _read_releases(fs, root: str) -> list[dict[str, Any]]:
    data = cat_or_none(fs, f"{root}/releases.json")
    try:
        entries = json.loads(data)["releases"] if data is not None else []
    except (ValueError, KeyError, TypeError):
        return []  # unreadable: rebuilt from the release records anyway
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def release_records(fs, root: str) -> list[dict[str, Any]]:
    """Every ``<bundle>/<version>/release.json`` under ``root``, by date, bundle, version.

    Folders that are not plain names (staging, hidden) are not releases and are skipped.
    """
    records = []
    for path in fs.glob(f"{root}/*/*/release.json"):
        bundle, version = path.split("/")[-3:-1]
        if not (NAME.fullmatch(bundle) and VERSION.fullmatch(version)):
            continue
        record = _read_record(fs, path)
        if record is None:
            continue  # removed since the listing
        if (record.get("bundle"), record.get("version")) != (bundle, version):
            raise PublishError(f"{path} is the record of {record.get('bundle')} {record.get('version')}, "
                               "not of its folder; fix it by hand")
        records.append(record)
    return sorted(records, key=lambda r: (r["date"], r["bundle"], r["version"]))


def update_releases(fs, root: str, key: tuple[str, str]) -> bool:
    """Rebuild ``releases.json`` from every release.json; True when ``key`` was missing from it.

    Under the local lock one pass is enough. Without a lock (remote filesystems) two publishes
    may each write an index that lacks the other's release, so every writer reads the index
    back after writing and, while some release.json present is not in it, rebuilds and writes
    again: the last writer always sees every release published before it wrote.
    """
    path = f"{root}/releases.json"
    was_missing = key not in _keys(_read_releases(fs, root))
    for attempt in range(INDEX_TRIES):
        data = dumps_manifest({"schema": 1, "releases": release_records(fs, root)})
        if cat_or_none(fs, path) != data:
            put_bytes(fs, path, data)
        if _index_is_complete(fs, root):
            return was_missing
        time.sleep(random.uniform(0.05, 0.25) * (attempt + 1))  # let the other writers finish
    raise PublishError(f"{path} still lacks some releases after {INDEX_TRIES} rebuilds (other publishes "
                       "kept writing it); publish this version again to repair it")


def _keys(entries: list[dict[str, Any]]) -> set[tuple[Any, Any]]:
    return {(e.get("bundle"), e.get("version")) for e in entries}


def _index_is_complete(fs, root: str) -> bool:
    """Every release.json present (by its folder) has an entry in releases.json as it is now."""
    present = {tuple(p.split("/")[-3:-1]) for p in fs.glob(f"{root}/*/*/release.json")}
    present = {(b, v) for b, v in present if NAME.fullmatch(b) and VERSION.fullmatch(v)}
    return present <= _keys(_read_releases(fs, root))
