"""Atomic writes: an interrupted write leaves the old file (or none), never a partial one."""

from __future__ import annotations

import os

import pytest

from litert_build.store.files import atomic_write_bytes


def test_failed_replace_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "out" / "m.float32.tflite"

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"x" * 1000)
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # the temp file is gone too


def test_replace_keeps_previous_until_new_is_complete(tmp_path):
    target = tmp_path / "m.tflite"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["m.tflite"]

