"""Memory-aware parallel builds: a worker starts only when its expected peak fits.

With ``-n N``, N workers may load N models at once; one that does not fit would have the kernel's
OOM killer take a worker (or the machine) down. So before a worker starts, its build asks for a
*reservation* of its expected peak: the memory the worker adds to the machine, from

* the model's last measured peak, when a build record has one (workers measure it: the
  growth of their resident set, ``VmHWM`` minus the ``VmRSS`` they started with), else
* ``PEAK_PER_INPUT_BYTE`` times the bytes of its input files (weights, preset, data) plus
  ``PEAK_FIXED`` (what tracing and converting a tiny model adds to a warm worker).

A reservation is granted when it fits in what the machine has available (``MemAvailable``, or the
``--memory`` budget when that is smaller) minus what the other running workers of this project
have reserved; otherwise the build waits, says so once, and retries. A worker whose peak would
not fit even alone runs when no other worker holds a reservation (said in the log). Reservations
live in ``.litert-build/memory.json`` under a file lock, each with its build process's pid, so
those of killed builds are dropped.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from litert_build.build.progress import say
from litert_build.plan.layout import build_record_path, state_dir
from litert_build.processes import pid_alive, proc_bytes
from litert_build.store.files import atomic_write_bytes

MEMORY_ENV = "LITERT_BUILD_MEMORY"  # --memory: a budget for the workers, e.g. 8G, 512M
# Measured (bench/peak_memory.py, float32 + dynamic_range of a .keras Dense stack in one warm
# worker): growth 453 MB for a 24 MB file, 1,070 MB for 100 MB, 2,059 MB for 200 MB, i.e.
# about 250 MB + 10x the file.
PEAK_PER_INPUT_BYTE = 10
PEAK_FIXED = 250 * 2**20
POLL_SECONDS = 1.0
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """``"8G"``, ``"512M"``, ``"1.5G"``, ``"1000000"`` -> bytes; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, flags=re.I)
    if not match:
        raise ValueError(f"{text!r} is not a size: write it as e.g. 8G, 512M or a number of bytes")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def gib(size: int) -> str:
    return f"{size / 2**30:.1f} GB"


def available() -> int:
    """What the machine can give a new worker now: ``MemAvailable`` (Linux), capped by the
    ``--memory`` budget."""
    free = proc_bytes("/proc/meminfo", "MemAvailable")
    budget = os.environ.get(MEMORY_ENV)
    if budget:
        free = min(free, parse_size(budget)) if free is not None else parse_size(budget)
    return free if free is not None else 1 << 62  # no /proc: nothing to go by, never wait


def expected_peak(spec: dict[str, Any]) -> tuple[int, str]:
    """(bytes the spec's worker is expected to add at its peak, how that was estimated)."""
    root = Path(spec["root"])
    measured = 0
    records = build_record_path(root, spec["model"], spec["variant"]).parent
    for path in records.glob(f"{spec['model']}.*.json"):  # any variant's: one worker per model
        try:
            peak = json.loads(path.read_text()).get("peak_rss")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(peak, int) and 0 < peak < 1 << 50:
            measured = max(measured, peak)
    if measured:
        return measured, "the model's last measured peak"
    inputs = 0
    for name in spec.get("input_hashes", {}):
        try:
            inputs += (root / name).stat().st_size
        except OSError:
            continue
    estimate = PEAK_FIXED + PEAK_PER_INPUT_BYTE * inputs
    return estimate, f"{PEAK_PER_INPUT_BYTE}x its {inputs / 2**20:.0f} MB of input files"


@contextmanager
def reserved(spec: dict[str, Any], where: str) -> Iterator[None]:
    """Hold a reservation of the spec's expected peak while the block runs (waiting for one)."""
    from filelock import FileLock

    need, how = expected_peak(spec)
    folder = state_dir(Path(spec["root"]))
    folder.mkdir(parents=True, exist_ok=True)
    ledger, lock = folder / "memory.json", FileLock(folder / "memory.lock")
    me = f"{os.getpid()}-{time.monotonic_ns()}"
    said = False
    while True:
        with lock:
            held = _read(ledger)
            others = sum(entry["bytes"] for entry in held.values())
            free = available()
            if need + others <= free or not held:
                held[me] = {"pid": os.getpid(), "bytes": need}
                _write(ledger, held)
                if need > free:
                    say(f"  {where}: expects ~{gib(need)} at its peak ({how}), more than the "
                        f"{gib(free)} available; starting it alone")
                break
        if not said:
            say(f"  {where}: waiting for memory: expects ~{gib(need)} at its peak ({how}); "
                f"{gib(free)} available, {gib(others)} reserved by {len(held)} running worker(s)")
            said = True
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        with lock:
            held = _read(ledger)
            held.pop(me, None)
            _write(ledger, held)


def _write(ledger: Path, held: dict[str, dict[str, int]]) -> None:
    """Save the reservations; on a full disk, go on without (the worker then reports the disk)."""
    try:
        atomic_write_bytes(ledger, json.dumps(held).encode())
    except OSError:
        pass


def _read(ledger: Path) -> dict[str, dict[str, int]]:
    """The live reservations (those of processes that died are dropped)."""
    try:
        held = json.loads(ledger.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(held, dict):
        return {}
    return {key: entry for key, entry in held.items()
            if isinstance(entry, dict) and isinstance(entry.get("pid"), int)
            and isinstance(entry.get("bytes"), int) and pid_alive(entry["pid"])}
