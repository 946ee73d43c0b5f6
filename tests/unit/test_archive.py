"""Deterministic archives (litert_build.release.archive): the same files give the same bytes,
whatever their order, source or the clock; fixed modes, owners and times; unsafe names refused
before a byte is written; and reading back (in memory or streamed)."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from litert_build.release.archive import (
    archive_bytes,
    format_of,
    iter_members,
    member_escapes,
    read_archive,
    write_archive,
)
from litert_build.release.dates import ZIP_EPOCH
from litert_build.store.safepath import UnsafePath

FILES = {
    "app-1/models/m/1/m.float32.tflite": bytes(range(256)) * 40,
    "app-1/README.md": b"app 1\n",
    "app-1/index.json": b'{"schema": 1}\n',
}
FORMATS = ["tar.gz", "zip"]


@pytest.fixture(autouse=True)
def _no_source_date_epoch(monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)  # CI systems often set it


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_files_same_bytes_whatever_the_order_and_source(tmp_path, fmt):
    first = archive_bytes(FILES, fmt)
    assert archive_bytes(dict(reversed(list(FILES.items()))), fmt) == first
    on_disk = {}
    for i, (name, data) in enumerate(FILES.items()):  # streamed from files instead of memory
        (tmp_path / f"{i}.bin").write_bytes(data)
        on_disk[name] = tmp_path / f"{i}.bin"
    assert archive_bytes(on_disk, fmt) == first
    assert archive_bytes({**FILES, "app-1/README.md": b"app 2\n"}, fmt) != first


@pytest.mark.parametrize("fmt", FORMATS)
def test_reads_back_the_files_in_sorted_order(fmt):
    data = archive_bytes(FILES, fmt)
    assert list(read_archive(data)) == sorted(FILES.items())
    streamed = [(name, size, stream.read()) for name, size, stream in iter_members(io.BytesIO(data))]
    assert streamed == [(name, len(content), content) for name, content in sorted(FILES.items())]


def test_tar_entries_have_fixed_owner_mode_and_time():
    data = archive_bytes(FILES, "tar.gz")
    assert data[:10] == bytes.fromhex("1f8b08" "00" "00000000" "02ff")  # no file name, mtime 0
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["app-1", "app-1/README.md", "app-1/index.json", "app-1/models",
                                         "app-1/models/m", "app-1/models/m/1",
                                         "app-1/models/m/1/m.float32.tflite"]  # folders listed too
    for member in members:
        assert (member.uid, member.gid, member.uname, member.gname, member.mtime) == (0, 0, "", "", ZIP_EPOCH)
        assert (member.mode, member.type) == ((0o755, tarfile.DIRTYPE) if member.isdir() else
                                              (0o644, tarfile.REGTYPE))
        assert member.pax_headers == {}  # no atime/ctime or other per-machine extras


def test_zip_entries_have_fixed_time_mode_and_no_extras():
    with zipfile.ZipFile(io.BytesIO(archive_bytes(FILES, "zip"))) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == ["app-1/", "app-1/README.md", "app-1/index.json", "app-1/models/",
                                           "app-1/models/m/", "app-1/models/m/1/",
                                           "app-1/models/m/1/m.float32.tflite"]
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0) and info.create_system == 3 and info.extra == b""
        if info.is_dir():
            assert info.external_attr == (0o40755 << 16) | 0x10
        else:
            assert info.external_attr == 0o100644 << 16 and info.compress_type == zipfile.ZIP_DEFLATED


@pytest.mark.parametrize("epoch, tar_time, zip_time", [
    ("1767225601", 1767225601, (2026, 1, 1, 0, 0, 0)),  # zip keeps even seconds: rounded down
    ("1767225600", 1767225600, (2026, 1, 1, 0, 0, 0)),
    ("86400", ZIP_EPOCH, (1980, 1, 1, 0, 0, 0)),  # before 1980: 1980 (a zip cannot say earlier)
    ("yesterday", ZIP_EPOCH, (1980, 1, 1, 0, 0, 0)),  # not a number of seconds: unset
    (" 1767225600 ", 1767225600, (2026, 1, 1, 0, 0, 0)),
])
def test_source_date_epoch_sets_every_entrys_time(monkeypatch, epoch, tar_time, zip_time):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    with tarfile.open(fileobj=io.BytesIO(archive_bytes(FILES, "tar.gz"))) as tar:
        assert {m.mtime for m in tar.getmembers()} == {tar_time}
    with zipfile.ZipFile(io.BytesIO(archive_bytes(FILES, "zip"))) as zf:
        assert {i.date_time for i in zf.infolist()} == {zip_time}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "app-1/../../evil", "app-1//x", "./x", "",
                                  "a\\..\\evil", "~/evil", "a\x00b", "app-1/."])
def test_unsafe_names_are_refused_before_anything_is_written(fmt, name):
    out = io.BytesIO()
    with pytest.raises(UnsafePath):
        write_archive(out, {**FILES, name: b"x"}, fmt)
    assert out.getvalue() == b""


def test_unknown_format_is_refused():
    out = io.BytesIO()
    with pytest.raises(ValueError, match="unknown archive format 'rar': use one of tar.gz, zip"):
        write_archive(out, FILES, "rar")
    assert out.getvalue() == b""


@pytest.mark.parametrize("name, escapes", [
    ("a/b.txt", False), ("a/..b/c", False), ("..a", False),
    ("../x", True), ("a/../../x", True), ("/abs", True), ("\\\\host\\share", True), ("C:x", True),
    ("a\\..\\x", True), ("..", True),
])
def test_member_escapes(name, escapes):
    assert member_escapes(name) is escapes


def test_format_of():
    assert format_of("bundles/app-1.0.tar.gz") == "tar.gz" and format_of("app.zip") == "zip"
    with pytest.raises(ValueError, match="not a .tar.gz or .zip archive"):
        format_of("app.tar")
