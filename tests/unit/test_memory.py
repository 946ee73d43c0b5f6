"""Memory-aware parallel builds: sizes, estimates and the reservation ledger (build/memory.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from litert_build.build import memory
from litert_build.build.memory import expected_peak, parse_size, reserved


def test_sizes_are_read_as_people_write_them():
    assert parse_size("8G") == 8 * 2**30
    assert parse_size("512m") == 512 * 2**20
    assert parse_size("1.5G") == 3 * 2**29
    assert parse_size("2GiB") == 2 * 2**30
    assert parse_size("1000") == 1000
    for bad in ("", "lots", "-1G", "8X", "nan"):
        with pytest.raises(ValueError, match="is not a size"):
            parse_size(bad)


def _spec(root, model="m", variant="float32", inputs=None):
    return {"root": str(root), "model": model, "variant": variant,
            "input_hashes": {**(inputs or {}), "settings": "x"}}


def test_the_estimate_is_the_models_last_measured_peak_else_a_multiple_of_its_input_files(tmp_path):
    (tmp_path / "weights.h5").write_bytes(b"\0" * 3_000_000)
    need, how = expected_peak(_spec(tmp_path, inputs={"weights.h5": "h"}))
    assert need == memory.PEAK_FIXED + memory.PEAK_PER_INPUT_BYTE * 3_000_000
    assert "input files" in how
    builds = tmp_path / ".litert-build" / "builds"
    builds.mkdir(parents=True)
    (builds / "m.int8.json").write_text(json.dumps({"peak_rss": 123_456_789}))
    (builds / "m.float16.json").write_text(json.dumps({"peak_rss": "a lot"}))  # ignored
    (builds / "other.float32.json").write_text(json.dumps({"peak_rss": 9 * 2**30}))  # not this model
    need, how = expected_peak(_spec(tmp_path, variant="float32", inputs={"weights.h5": "h"}))
    assert need == 123_456_789 and "measured" in how


def _ledger(tmp_path, entries):
    state = tmp_path / ".litert-build"
    state.mkdir(exist_ok=True)
    (state / "memory.json").write_text(json.dumps(entries))
    return state / "memory.json"


def test_a_worker_waits_while_others_hold_what_it_needs_and_starts_when_they_release(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(memory, "POLL_SECONDS", 0.05)
    monkeypatch.setenv(memory.MEMORY_ENV, "1G")
    ledger = _ledger(tmp_path, {"other": {"pid": os.getpid(), "bytes": 700 * 2**20}})
    monkeypatch.setattr(memory, "expected_peak", lambda spec: (500 * 2**20, "a test"))

    def release():
        time.sleep(0.5)
        ledger.write_text("{}")

    threading.Thread(target=release).start()
    started = time.monotonic()
    with reserved(_spec(tmp_path), "m:float32"):
        waited = time.monotonic() - started
        held = json.loads(ledger.read_text())
        assert [entry["bytes"] for entry in held.values()] == [500 * 2**20]
    assert waited >= 0.45
    out = capsys.readouterr().out
    assert out.count("m:float32: waiting for memory: expects ~0.5 GB at its peak (a test)") == 1
    assert json.loads(ledger.read_text()) == {}, "the reservation is returned"


def test_reservations_of_dead_processes_do_not_count_and_a_worker_too_big_for_the_budget_runs_alone(
        tmp_path, monkeypatch, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ledger = _ledger(tmp_path, {"killed": {"pid": dead.pid, "bytes": 50 * 2**30}})
    monkeypatch.setenv(memory.MEMORY_ENV, "100M")
    monkeypatch.setattr(memory, "expected_peak", lambda spec: (2 * 2**30, "a test"))
    started = time.monotonic()
    with reserved(_spec(tmp_path), "big:float32"):
        assert list(json.loads(ledger.read_text()).values())[0]["pid"] == os.getpid()
    assert time.monotonic() - started < 5
    out = capsys.readouterr().out
    assert "big:float32: expects ~2.0 GB at its peak (a test), more than the 0.1 GB available; " \
           "starting it alone" in out
    assert "waiting" not in out
