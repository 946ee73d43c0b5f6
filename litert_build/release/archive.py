"""Deterministic archives: the same files give the same bytes, on any machine, at any time.

``.tar.gz``: entries sorted by path, mtime fixed (``SOURCE_DATE_EPOCH``, else 1980-01-01),
uid/gid 0 with empty owner names, modes 0644 (files) and 0755 (folders), USTAR/PAX
headers without extra timestamps, and a gzip header with no file name and mtime 0.
``.zip``: the same order, times and modes, deflate level 9, no extra fields.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from litert_build.release.dates import archive_epoch
from litert_build.store.safepath import check_name

FORMATS = ("tar.gz", "zip")
CHUNK = 1 << 20


def _folders(paths: list[str]) -> list[str]:
    """Every parent folder of the given paths, so the archive lists them explicitly."""
    found = set()
    for path in paths:
        for parent in PurePosixPath(path).parents:
            if str(parent) != ".":
                found.add(str(parent))
    return sorted(found)


Content = bytes | Path  # an archive member: in memory, or streamed from a file


def content_size(content: Content) -> int:
    return len(content) if isinstance(content, bytes) else content.stat().st_size


def _open(content: Content) -> BinaryIO:
    return io.BytesIO(content) if isinstance(content, bytes) else open(content, "rb")


def write_archive(out: BinaryIO, files: dict[str, Content], fmt: str) -> None:
    """Write an archive of ``files`` (archive path -> bytes or file) to ``out``.

    Members are streamed, so multi-gigabyte artifacts are never held in memory.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown archive format {fmt!r}: use one of {', '.join(FORMATS)}")
    for name in files:
        check_name(name)  # an entry named /x or a/../../x would be written outside on extraction
    epoch = archive_epoch()
    entries: list[tuple[str, Content | None]] = [(f"{d}/", None) for d in _folders(list(files))]
    entries += [(name, files[name]) for name in files]
    entries.sort(key=lambda entry: entry[0])
    if fmt == "zip":
        stamp = _zip_time(epoch)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name, content in entries:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.create_system = 3  # unix, so the modes below mean what they say
                if content is None:
                    info.external_attr = (0o40755 << 16) | 0x10
                    zf.writestr(info, b"")
                    continue
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                info.file_size = content_size(content)
                with _open(content) as src, zf.open(info, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
        return
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in entries:
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
                continue
            info.mode = 0o644
            info.size = content_size(content)
            with _open(content) as src:
                tar.addfile(info, src)


def archive_bytes(files: dict[str, Content], fmt: str) -> bytes:
    buffer = io.BytesIO()
    write_archive(buffer, files, fmt)
    return buffer.getvalue()


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    import time

    t = time.gmtime(epoch)
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)


def read_archive(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every file in a ``.tar.gz`` or ``.zip`` archive held in memory."""
    for name, _, stream in iter_members(io.BytesIO(data)):
        yield name, stream.read()


def iter_members(fileobj: BinaryIO) -> Iterator[tuple[str, int, BinaryIO]]:
    """(path, size, stream) of every file in a ``.tar.gz`` or ``.zip`` archive, in archive order.

    Nothing is held in memory: a ``.tar.gz`` is read front to back once (tarfile's stream mode),
    a ``.zip`` member by member through its central directory. Each stream can be read only
    until the next member is asked for. Folders and links are skipped. Member names are the
    archive's, unchecked: see :func:`member_escapes`.
    """
    head = fileobj.read(2)
    fileobj.seek(0)
    if head == b"PK":
        with zipfile.ZipFile(fileobj) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    with zf.open(info) as stream:
                        yield info.filename, info.file_size, stream
        return
    with tarfile.open(fileobj=fileobj, mode="r|gz") as tar:
        for member in tar:
            if member.isfile():
                yield member.name, member.size, tar.extractfile(member)


def member_escapes(name: str) -> bool:
    """True for a member path that would land outside the folder it is extracted to: absolute
    (``/x``, ``C:x``, ``\\\\host``) or with a ``..`` segment."""
    parts = name.replace("\\", "/").split("/")
    drive = name[:1].isalpha() and name[1:2] == ":"
    return name.startswith(("/", "\\")) or drive or ".." in parts


def format_of(path: str) -> str:
    for fmt in FORMATS:
        if path.endswith(f".{fmt}"):
            return fmt
    raise ValueError(f"{path}: not a .tar.gz or .zip archive")
