"""Measuring helpers of bench/throughput.py: timed litert-build runs with the peak memory of
the whole process tree, and the per-step breakdown read from the build records."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- process tree memory


def _children_map() -> dict[int, list[int]]:
    """ppid -> pids, from every /proc/<pid>/stat (processes that vanish meanwhile are skipped)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                text = stat.read().decode(errors="replace")
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'
        ppid = int(text[text.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    children, pids, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def rss_pss_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; (0, 0) once it has gone. PSS splits pages shared by
    forks (the zygote's children share its TensorFlow pages) among them, so the sum of PSS over a
    tree is its real footprint, while the sum of RSS counts shared pages once per process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            text = rollup.read()
        rss = re.search(r"^Rss:\s+(\d+) kB", text, re.M)
        pss = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
        if rss and pss:
            return int(rss.group(1)), int(pss.group(1))
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as statm:
            rss_pages = int(statm.read().split()[1])
        return rss_pages * PAGE_KIB, rss_pages * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0, 0


def _cpu_ticks(pid: int) -> int | None:
    """utime + stime of one process in clock ticks; None once it has gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read().decode(errors="replace")
        fields = text[text.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class TreeMemory:
    """Peak memory (and CPU time) of a process tree, sampled every ``interval`` seconds from
    another thread."""

    root: int
    interval: float = 0.2
    peak_rss_kib: int = 0  # the largest sum of RSS over the tree at one sample
    peak_pss_kib: int = 0  # the largest sum of PSS over the tree at one sample
    peak_processes: int = 0
    samples: int = 0
    cpu_ticks: dict[int, int] = field(default_factory=dict)  # pid -> its last seen utime + stime
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def cpu_seconds(self) -> float:
        """CPU seconds of every process seen in the tree (up to its last sample)."""
        return sum(self.cpu_ticks.values()) / TICKS

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = tree_pids(self.root)
            rss = pss = 0
            for pid in pids:
                r, p = rss_pss_kib(pid)
                rss, pss = rss + r, pss + p
                ticks = _cpu_ticks(pid)
                if ticks is not None:
                    self.cpu_ticks[pid] = max(ticks, self.cpu_ticks.get(pid, 0))
            self.peak_rss_kib = max(self.peak_rss_kib, rss)
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.peak_processes = max(self.peak_processes, len(pids))
            self.samples += 1
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------- timed builds


@dataclass
class Build:
    seconds: float
    output: str
    memory: TreeMemory | None
    load: float = 0.0  # the 1-minute load average when the build started (others' work shows here)
    cpu: float = 0.0  # user + system CPU seconds of the build's process tree

    @property
    def busy_cores(self) -> float:
        """CPU seconds per wall second: how many cores the build kept busy on average."""
        return self.cpu / self.seconds if self.seconds else 0.0

    def count(self, what: str) -> int:
        """From the summary line: ``8 converted``, ``0 failed`` ..."""
        found = re.search(rf"(\d+) {what}\b", self.output)
        return int(found.group(1)) if found else -1


def build_env(warm: bool = True) -> dict[str, str]:
    """Cache off; ``warm=False`` is the configuration before issue 15: a fresh Python per variant
    (no zygote, no sessions)."""
    flag = "1" if warm else "0"
    return {**os.environ, "LITERT_BUILD_CACHE": "off", "LITERT_BUILD_ZYGOTE": flag,
            "LITERT_BUILD_SESSIONS": flag}


def run_build(project: Path, parallel: int, warm: bool = True, expect: int | None = None,
              memory: bool = False) -> Build:
    """``litert-build -n PARALLEL`` in ``project`` with the artifact cache off, timed from before
    the process starts to after it exits; with ``memory``, the tree's peak RSS/PSS (and CPU)
    sampled every 0.2 s. Exits the benchmark if the build fails or converts other than
    ``expect`` artifacts."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "litert_build.cli.main", "-n", str(parallel)],
                            cwd=project, env=build_env(warm), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    sampler = TreeMemory(proc.pid) if memory else None
    output, _ = proc.communicate()
    seconds = time.perf_counter() - start
    if sampler:
        sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if sampler:  # rusage misses processes nobody reaped (a zygote killed with its runner)
        cpu = max(cpu, sampler.cpu_seconds)
    build = Build(seconds, output, sampler, load, cpu)
    converted = build.count("converted")
    if proc.returncode != 0 or (expect is not None and converted != expect):
        tail = "\n".join(output.splitlines()[-40:])
        raise SystemExit(f"build in {project} failed (exit {proc.returncode}, {converted} converted, "
                         f"expected {expect}):\n{tail}")
    return build


def run_timed(command: list[str], cwd: Path) -> tuple[float, str, float]:
    """(wall seconds including process start, output, the 1-minute load average before) of
    ``command``; exits on failure."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{command} failed:\n{proc.stdout[-4000:]}")
    return seconds, proc.stdout, load


# ---------------------------------------------------------------- per-step breakdown


@dataclass
class Breakdown:
    """What the build records (``.litert-build/builds/<model>.<variant>.json``) of one build say."""

    records: int = 0
    task_seconds: float = 0.0  # sum of the records' ``seconds``
    steps: dict[str, float] = field(default_factory=dict)  # step name -> seconds, summed
    worker: dict[str, float] = field(default_factory=dict)  # "start"/"exit" -> seconds, summed
    workers_seen: int = 0  # records with a ``worker`` object
    sessions: int = 0  # distinct session leaders
    session_variants: int = 0  # variants built in those sessions
    peak_rss: int = 0  # the largest ``peak_rss`` (bytes a worker added to its resident set)
    peak_rss_task: str = ""

    def rows(self) -> list[tuple[str, float]]:
        """(label, seconds) for the table: steps by time, then the worker's start and exit."""
        rows = sorted(self.steps.items(), key=lambda item: -item[1])
        rows += [(f"(worker {name}: asking -> code runs)" if name == "start"
                  else f"(worker {name}: last step -> exit seen)" if name == "exit"
                  else f"(worker {name})", seconds) for name, seconds in sorted(self.worker.items())]
        return rows


def read_breakdown(project: Path) -> Breakdown:
    """Aggregate whichever of ``seconds``, ``steps``, ``worker`` and ``session`` the records hold."""
    result = Breakdown()
    leaders: dict[str, set[str]] = {}
    for path in sorted((project / ".litert-build" / "builds").glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        result.records += 1
        if isinstance(record.get("seconds"), int | float):
            result.task_seconds += record["seconds"]
        for name, seconds in (record.get("steps") or {}).items():
            if isinstance(seconds, int | float):
                result.steps[name] = result.steps.get(name, 0.0) + seconds
        worker = record.get("worker")
        if isinstance(worker, dict):
            result.workers_seen += 1
            for name, seconds in worker.items():
                if isinstance(seconds, int | float):
                    result.worker[name] = result.worker.get(name, 0.0) + seconds
        if isinstance(record.get("peak_rss"), int) and record["peak_rss"] > result.peak_rss:
            result.peak_rss, result.peak_rss_task = record["peak_rss"], path.stem.replace(".", ":", 1)
        session = record.get("session")
        if isinstance(session, dict) and session.get("leader"):
            leader = str(session["leader"])
            model = leader.split(":", 1)[0]
            members = leaders.setdefault(leader, set())
            members.add(path.stem.replace(".", ":", 1))  # <model>.<variant>.json -> model:variant
            members.update(f"{model}:{v}" if ":" not in str(v) else str(v)
                           for v in session.get("variants") or ())
    result.sessions = len(leaders)
    result.session_variants = sum(len(members) for members in leaders.values())
    return result


def format_breakdowns(columns: dict[str, Breakdown]) -> str:
    """One table: a row per step (union over ``columns``), per column its total seconds and its
    share of that column's listed time."""
    lines = []
    for label, b in columns.items():
        lines.append(f"  {label}: {b.records} build records, sum of task seconds {b.task_seconds:.1f} s"
                     + (f", {b.sessions} sessions covering {b.session_variants} tasks" if b.sessions else "")
                     + (f", {b.workers_seen} records with worker timings" if b.workers_seen else "")
                     + (f", largest worker peak_rss growth {b.peak_rss / 2**20:,.0f} MiB ({b.peak_rss_task})"
                        if b.peak_rss else ""))
    if not any(b.steps or b.worker for b in columns.values()):
        lines.append("  (no step timings in the records)")
        return "\n".join(lines)
    order: list[str] = []
    for b in columns.values():
        for name, _ in b.rows():
            if name not in order:
                order.append(name)
    width = max(len(name) for name in order + ["step"])
    header = f"  {'step':{width}s}" + "".join(f" | {label:>18s}" for label in columns)
    lines += [header, "  " + "-" * (len(header) - 2)]
    for name in order:
        cells = []
        for b in columns.values():
            values = dict(b.rows())
            total = sum(values.values()) or 1.0
            cells.append(f" | {values[name]:8.2f} s {values[name] / total:6.1%}" if name in values
                         else f" | {'-':>18s}")
        lines.append(f"  {name:{width}s}" + "".join(cells))
    totals = "".join(f" | {sum(dict(b.rows()).values()):8.2f} s {'':6s}" for b in columns.values())
    lines.append(f"  {'total listed':{width}s}" + totals)
    for label, b in columns.items():
        if not (b.steps or b.worker):
            lines.append(f"  {label}: (no step timings in the records)")
    return "\n".join(lines)
