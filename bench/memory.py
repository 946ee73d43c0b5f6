"""Peak memory and wall time of converting large models: litert-build against upstream Keras
``model.export(format="litert")``, side by side in one run, with a watchdog. Issue 16.

    python bench/memory.py [--sizes 400,800,1600,2500,4000] [--variants float32[,float16,...]]
                           [--upstream-max 2500] [--limit 18G] [--stand-ins auto|always|never]
    python bench/memory.py --profile 800 [--variants ...]   # one size: RSS timeline per step
    python bench/memory.py --model gemma --sizes 1000 [--variants ...]   # a KerasHub LLM, ours only

For each size (MiB of float32 weights) a Dense stack of about that many weight bytes is saved
as ``model.keras`` (seeded; width 1024 up to 1000 MiB, 4096 up to 3000 MiB, 8192 above, so the
layer count stays modest) in a temporary project folder (saving is watched too); with ``--model
gemma``, a KerasHub GemmaCausalLM of about that size is built from its constructor by a builder
module the manifest names (hidden 1536, FFN 12288, vocabulary 32,000; its decoder layers set the
size; sequence length 128; upstream is not run). Then, with this checkout's litert_build first
on PYTHONPATH:

* ours: ``python -m litert_build.cli.main convert`` in that folder (``LITERT_BUILD_CACHE=off``,
  ``KERAS_BACKEND=tensorflow``, ``TF_CPP_MIN_LOG_LEVEL=3``); the manifest lists the ``--variants``
  (default float32; several build in one worker session, as litert-build does);
* upstream, for sizes up to ``--upstream-max`` MiB: one Python process that loads the same .keras
  and calls ``model.export(path, format="litert", input_signature=<batch 1>)`` once per variant
  (dynamic_range: ``optimizations=[DEFAULT]``; float16: that and ``target_spec``'s float16), the
  settings of litert-build's kinds; no verification.

Every run's whole process tree (the root and every descendant, found from /proc/*/stat's ppid,
plus anything left in its process group) is sampled every 0.1 s from a thread: the sum of RSS
(Rss of /proc/PID/smaps_rollup, or statm: counts pages shared by forks, e.g. the zygote's TensorFlow, once per
process) and the sum of PSS (/proc/PID/smaps_rollup: shared pages split, the real footprint;
RSS where unreadable). Printed: peak RSS sum, peak PSS sum, their ratio to the weight bytes, wall
seconds (process start to exit, TensorFlow's import included on both sides), and for ours the
build records' (``.litert-build/builds/big.<variant>.json``) ``seconds``, ``peak_rss`` and
per-step ``steps``. At the start, TensorFlow's import baseline is measured once: the VmRSS of a
Python that imported tensorflow and keras.

Watchdog: each run's tree is SIGKILLed (process group and every pid) when its RSS sum passes the
limit: ``--limit`` (default 80% of MemTotal), never more than MemAvailable at the run's start
minus 2 GiB; also when the machine's MemAvailable falls under 1 GiB. The run is then reported as
"killed at X GiB after Y s". Sizes in binary units (MiB, GiB) throughout. Disk: the temporary
folder (``--tmp``, default the system's) needs about 4x the largest model's size.

``--profile MB``: one size, ours only. The build's console output is streamed with timestamps
(the worker's progress lines name each step as it starts); afterwards a timeline prints the
tree's RSS and PSS about every second beside the step running then, where the peak happened, and
the records' per-step seconds in the order the steps ran (one row per second: the sample with
the largest RSS sum in that second).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _throughput_measure import rss_pss_kib

from litert_build.build.memory import parse_size as memory_size
from litert_build.processes import proc_bytes

REPO = Path(__file__).resolve().parent.parent
MiB, GiB = 2**20, 2**30
INTERVAL = 0.1  # seconds between samples of the process tree
HEADROOM = 2 * GiB  # the limit stays this far under MemAvailable at a run's start
MACHINE_FLOOR = 1 * GiB  # kill when the machine's MemAvailable falls under this

SAVE = """
import sys, keras
keras.utils.set_random_seed(0)
width, depth = int(sys.argv[1]), int(sys.argv[2])
x = keras.Input((width,), name="x")
h = x
for i in range(depth):
    h = keras.layers.Dense(width, activation="relu")(h)
model = keras.Model(x, keras.layers.Dense(10, name="y")(h))
model.save("model.keras")
print(sum(int(w.numpy().nbytes) for w in model.weights))
"""

UPSTREAM = """
import sys, keras, tensorflow as tf
model = keras.saving.load_model("model.keras")
signature = [tf.TensorSpec((1, model.input_shape[-1]), tf.float32, name="x")]
default = [tf.lite.Optimize.DEFAULT]
settings = {"float32": {}, "dynamic_range": {"optimizations": default},
            "float16": {"optimizations": default, "target_spec": {"supported_types": [tf.float16]}}}
for variant in sys.argv[1].split(","):
    model.export(f"upstream.{variant}.tflite", format="litert", input_signature=signature,
                 verbose=False, **settings[variant])
"""

# --model gemma: a KerasHub Gemma causal LM built from its constructor (hidden 1536, 8 heads of 192,
# FFN 12288, vocabulary 32,000 tied: 188 MiB of embedding, 144 MiB per decoder layer), written as
# a builder module the manifest names; it prints its weight bytes when run.
GEMMA = """
import keras, keras_hub

LAYERS = {layers}


def gemma():
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.GemmaBackbone(
        vocabulary_size=32000, num_layers=LAYERS, num_query_heads=8, num_key_value_heads=8,
        hidden_dim=1536, intermediate_dim=12288, head_dim=192)
    return keras_hub.models.GemmaCausalLM(backbone, preprocessor=None)


if __name__ == "__main__":
    print(sum(int(w.numpy().nbytes) for w in gemma().weights))
"""
GEMMA_EMBEDDING_MIB, GEMMA_LAYER_MIB = 188, 144


def gemma_layers(megabytes: int) -> int:
    """Decoder layers of a --model gemma of about ``megabytes`` MiB."""
    return max(1, round((megabytes - GEMMA_EMBEDDING_MIB) / GEMMA_LAYER_MIB))

TF_BASELINE = """
import tensorflow, keras
print([l for l in open("/proc/self/status") if l.startswith("VmRSS:")][0].split()[1])
"""

VARIANTS = ("float32", "dynamic_range", "float16")


# ---------------------------------------------------------------- /proc


def meminfo(field_name: str) -> int:
    """A /proc/meminfo field in bytes (0 if missing)."""
    return proc_bytes("/proc/meminfo", field_name) or 0


def tree(root: int, with_root: bool = True) -> set[int]:
    """``root``, its descendants (by ppid) and anything in its process group or session (it
    starts with ``start_new_session``, so both are ``root``): orphans of a killed parent still
    count. ``with_root=False`` once ``root`` has been reaped (its pid may be reused)."""
    children: dict[int, list[int]] = {}
    grouped: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                text = fh.read().decode(errors="replace")
            state, ppid, pgrp, session = text[text.rindex(")") + 2:].split()[:4]
        except (OSError, ValueError):
            continue
        pid = int(entry.name)
        if state in ("Z", "X"):
            continue
        children.setdefault(int(ppid), []).append(pid)
        if root in (int(pgrp), int(session)):
            grouped.add(pid)
    found: set[int] = set()
    todo = [root, *grouped] if with_root else list(grouped)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def kill_tree(root: int, with_root: bool = True) -> None:
    """SIGKILL ``root``'s process group and every process of its tree, until none is left."""
    for _ in range(5):
        pids = tree(root, with_root)
        try:
            os.killpg(root, signal.SIGKILL)
        except OSError:
            pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
        if not tree(root, with_root) - {root}:
            return


# ---------------------------------------------------------------- one watched run


@dataclass
class Watch:
    """Samples the tree of ``root`` every INTERVAL seconds from a thread; kills it past ``limit``
    bytes of RSS sum (or when the machine runs low)."""

    root: int
    limit: int
    started: float  # time.monotonic() just before the root started
    samples: list[tuple[float, int, int, int]] = field(default_factory=list)  # (t, rss, pss, procs)
    peak_rss: int = 0
    peak_pss: int = 0
    peak_at: float = 0.0
    killed: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = tree(self.root)
            rss = pss = 0
            for pid in pids:
                r, p = rss_pss_kib(pid)
                rss, pss = rss + r * 1024, pss + p * 1024
            now = time.monotonic() - self.started
            self.samples.append((now, rss, pss, len(pids)))
            if rss > self.peak_rss:
                self.peak_rss, self.peak_at = rss, now
            self.peak_pss = max(self.peak_pss, pss)
            reason = None
            if rss > self.limit:
                reason = f"killed at {rss / GiB:.1f} GiB after {now:.0f} s (limit {self.limit / GiB:.1f} GiB)"
            elif meminfo("MemAvailable") < MACHINE_FLOOR:
                reason = (f"killed at {rss / GiB:.1f} GiB after {now:.0f} s (machine's MemAvailable "
                          f"under {MACHINE_FLOOR / GiB:.0f} GiB)")
            if reason:
                self.killed = reason
                kill_tree(self.root)
                return
            self._stop.wait(INTERVAL)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Run:
    seconds: float
    returncode: int
    lines: list[tuple[float, str]]  # (seconds since start, console line)
    watch: Watch

    @property
    def failed(self) -> str | None:
        """Why the run is no result: killed by the watchdog, or its exit code; None if it worked."""
        if self.watch.killed:
            return self.watch.killed
        if self.returncode != 0:
            return f"failed (exit {self.returncode})"
        return None

    def tail(self, count: int = 25) -> str:
        return "\n".join("    " + (line if len(line) <= 300 else line[:300] + " ...")
                         for _, line in self.lines[-count:])


def run_limit(limit: int) -> int:
    """The limit for a run starting now: ``limit``, at most MemAvailable minus HEADROOM."""
    return max(256 * MiB, min(limit, meminfo("MemAvailable") - HEADROOM))


def run(command: list[str], cwd: Path, env: dict[str, str], limit: int, echo: bool = False) -> Run:
    """``command`` in a session of its own, its console output streamed line by line with
    timestamps (echoed with ``echo``), its tree watched."""
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
    watch = Watch(proc.pid, run_limit(limit), started)
    lines = []
    try:
        for line in proc.stdout:
            now = time.monotonic() - started
            lines.append((now, line.rstrip("\n")))
            if echo:
                print(f"  [{now:7.1f} s] {line.rstrip()}", flush=True)
        returncode = proc.wait()
    except BaseException:
        kill_tree(proc.pid)
        proc.wait()
        raise
    seconds = time.monotonic() - started
    watch.stop()
    kill_tree(proc.pid, with_root=False)  # leftovers of our own run (a zygote not yet gone)
    return Run(seconds, returncode, lines, watch)


# ---------------------------------------------------------------- the models and builds


def env() -> dict[str, str]:
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
            "LITERT_BUILD_CACHE": "off", "PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path}


def shape(megabytes: int) -> tuple[int, int]:
    """(width, depth) of a Dense stack with about ``megabytes`` MiB of float32 weights."""
    width = 1024 if megabytes <= 1000 else 4096 if megabytes <= 3000 else 8192
    return width, max(1, round(megabytes * MiB / 4 / width**2))


# The deep stacks lose more than the kinds' default gates allow over 100-200 layers (the usual
# conversion and upstream's alike): float16 ~46 dB at 801 MiB (gate 50), dynamic_range 20-24 dB
# (gate 25).
VARIANT_SETTINGS = {"float16": "{verify: {min_sqnr_db: 40}}", "dynamic_range": "{verify: {min_sqnr_db: 15}}"}


def make_project(project: Path, megabytes: int, variants: list[str], limit: int,
                 stand_ins: str = "auto", model: str = "dense") -> tuple[int | None, Run]:
    """models.yaml and model.keras (or, ``model="gemma"``, the Gemma builder) in ``project``: (the
    model's weight bytes, or None if saving it failed; the saving run)."""
    listed = ", ".join(f"{v}: {VARIANT_SETTINGS.get(v, '{}')}" for v in variants)
    if model == "gemma":
        (project / "gemma_model.py").write_text(GEMMA.format(layers=gemma_layers(megabytes)))
        (project / "models.yaml").write_text(
            "schema: 1\nmodels:\n"
            f"  big: {{version: \"1\", source: {{builder: \"gemma_model:gemma\"}}, sequence_length: 128, "
            f"stand_ins: {stand_ins}, variants: {{{listed}}}}}\n")
        counted = run([sys.executable, "gemma_model.py"], project, env(), limit)
        return (None if counted.failed else printed_bytes(counted)), counted
    (project / "models.yaml").write_text(
        "schema: 1\nmodels:\n"
        f"  big: {{version: \"1\", source: {{keras: model.keras}}, stand_ins: {stand_ins}, "
        f"variants: {{{listed}}}}}\n")
    width, depth = shape(megabytes)
    saved = run([sys.executable, "-c", SAVE, str(width), str(depth)], project, env(), limit)
    return (None if saved.failed else printed_bytes(saved)), saved


def printed_bytes(run_: Run) -> int:
    """The weight bytes a model-making run printed (its last all-digits line)."""
    return int([line for _, line in run_.lines if line.strip().isdigit()][-1])


def records(project: Path, variants: list[str]) -> dict[str, dict]:
    """The build records of ``big``'s variants that exist."""
    found = {}
    for variant in variants:
        try:
            found[variant] = json.loads((project / f".litert-build/builds/big.{variant}.json").read_text())
        except (OSError, ValueError):
            pass
    return found


PROGRESS = re.compile(r"^\s+big:\S+(?: \(\+[^)]*\))? \.\.\. (.+?) \(\d+(?:\.\d+)?s\)$")


def progress(run_: Run) -> list[tuple[float, str]]:
    """(seconds since the run started, step) for each progress line of a build's console."""
    return [(t, found.group(1)) for t, line in run_.lines if (found := PROGRESS.match(line))]


def format_steps(record: dict, order: list[str]) -> str:
    """A record's steps in the order they ran (``order``: step names from the console), then any
    others by time."""
    steps = {k: v for k, v in (record.get("steps") or {}).items() if isinstance(v, int | float)}
    if not steps:
        return "(no step timings in the record)"
    names = [n for n in dict.fromkeys(order) if n in steps]
    names += sorted((n for n in steps if n not in names), key=lambda n: -steps[n])
    return ", ".join(f"{n} {steps[n]:.2f} s" for n in names)


def describe_records(project: Path, variants: list[str], run_: Run) -> list[str]:
    order = [re.sub(r" \([a-z0-9_]+\)$", "", step) for _, step in progress(run_)]
    lines = []
    for variant, record in records(project, variants).items():
        peak, worker = record.get("peak_rss"), record.get("worker") or {}
        extra = f", worker peak_rss +{peak / GiB:.2f} GiB" if isinstance(peak, int) else ""
        if isinstance(worker.get("start"), int | float):
            extra += f", worker start {worker['start']:.1f} s"
        lines.append(f"    record big.{variant}: {record.get('seconds', '?')} s{extra}")
        lines.append(f"      steps: {format_steps(record, order)}")
    return lines


def ours(project: Path, limit: int, echo: bool = False) -> Run:
    return run([sys.executable, "-m", "litert_build.cli.main", "convert"], project, env(), limit, echo)


def upstream(project: Path, variants: list[str], limit: int) -> Run:
    result = run([sys.executable, "-c", UPSTREAM, ",".join(variants)], project, env(), limit)
    for path in project.glob("upstream.*.tflite"):  # disk: the artifact is no longer needed
        path.unlink()
    return result


# ---------------------------------------------------------------- output


def weights_label(size: int) -> str:
    return f"{size / MiB:.0f} MiB" if size < 1000 * MiB else f"{size / GiB:.2f} GiB"


def memory_cell(run_: Run | None, size: int, which: str = "rss") -> str:
    if run_ is None:
        return "not run"
    if run_.failed:
        return run_.failed if which == "rss" else "–"
    peak = run_.watch.peak_rss if which == "rss" else run_.watch.peak_pss
    return f"{peak / GiB:.2f} GiB ({peak / size:.1f}x)"


def wall_cell(mine: Run, theirs: Run | None) -> str:
    left = "–" if mine.failed else f"{mine.seconds:.0f} s"
    if theirs is None:
        return f"{left} / –"
    right = "–" if theirs.failed else f"{theirs.seconds:.0f} s"
    ratio = f" ({mine.seconds / theirs.seconds:.2f}x)" if not (mine.failed or theirs.failed) else ""
    return f"{left} / {right}{ratio}"


def tf_baseline() -> int:
    """VmRSS in bytes of a Python that imported tensorflow and keras."""
    proc = subprocess.run([sys.executable, "-c", TF_BASELINE], env=env(), capture_output=True, text=True,
                          check=True)
    return int(proc.stdout.split()[-1]) * 1024


def describe_model(model: str, megabytes: int) -> str:
    if model == "gemma":
        return f"Gemma, {gemma_layers(megabytes)} layers"
    return f"{shape(megabytes)[0]} wide"


def profile(megabytes: int, variants: list[str], limit: int, tmp: str | None, stand_ins: str,
            model: str = "dense") -> None:
    """One size, ours only: the console with timestamps as it comes, then the RSS timeline per step."""
    with tempfile.TemporaryDirectory(prefix="litert-build-memory-", dir=tmp) as folder:
        project = Path(folder)
        size, saved = make_project(project, megabytes, variants, limit, stand_ins, model)
        if size is None:
            raise SystemExit(f"saving the {megabytes} MiB model: {saved.failed}\n{saved.tail()}")
        print(f"profile: {weights_label(size)} of float32 weights ({size:,} bytes), "
              f"{describe_model(model, megabytes)}, variants {','.join(variants)}; console of the build:",
              flush=True)
        result = ours(project, limit, echo=True)
        steps = progress(result)

        def step_at(t: float) -> str:
            current = "(before the worker's first step: start, TensorFlow import)"
            for when, name in steps:
                if when <= t:
                    current = name
            return current

        # one row per second: the largest sample of that second, and the step running then
        buckets: dict[int, tuple[float, int, int, int]] = {}
        for sample in result.watch.samples:
            second = int(sample[0])
            if second not in buckets or sample[1] > buckets[second][1]:
                buckets[second] = sample
        print("\n      time | tree RSS sum | its PSS sum | procs | step running then (from the console)")
        for t, rss, pss, procs in (buckets[second] for second in sorted(buckets)):
            print(f"  {t:6.1f} s | {rss / GiB:8.2f} GiB | {pss / GiB:7.2f} GiB | {procs:5d} | {step_at(t)}")
        w = result.watch
        print(f"\n  peak RSS sum {w.peak_rss / GiB:.2f} GiB ({w.peak_rss / size:.1f}x) at {w.peak_at:.1f} s, "
              f"during: {step_at(w.peak_at)}; peak PSS sum {w.peak_pss / GiB:.2f} GiB "
              f"({w.peak_pss / size:.1f}x); "
              f"wall {result.seconds:.1f} s" + (f"; {result.failed}" if result.failed else ""))
        print("\n".join(describe_records(project, variants, result)))
        if result.failed:
            print(result.tail())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="400,800,1600,2500,4000",
                        help="MiB of float32 weights, comma-separated")
    parser.add_argument("--variants", default="float32", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--upstream-max", type=int, default=2500, help="run upstream up to this many MiB")
    parser.add_argument("--limit", help="kill a run whose tree's RSS sum passes this (e.g. 18G, 900M); "
                        "default 80%% of MemTotal; never more than MemAvailable at the run's start - 2 GiB")
    parser.add_argument("--profile", type=int, metavar="MB",
                        help="one size, ours only: RSS timeline per step")
    parser.add_argument("--tmp", help="folder for the temporary projects (default: the system's)")
    parser.add_argument("--stand-ins", default="auto", choices=("auto", "always", "never"),
                        help="the model's stand_ins: setting (default auto: from 256 MiB)")
    parser.add_argument("--model", default="dense", choices=("dense", "gemma"),
                        help="a Dense stack saved as .keras (default), or a KerasHub Gemma causal LM "
                        "built from its constructor (ours only: upstream is not run)")
    args = parser.parse_args()

    variants = args.variants.split(",")
    if unknown := [v for v in variants if v not in VARIANTS]:
        parser.error(f"unknown variants {unknown}: choose from {', '.join(VARIANTS)}")
    limit = parse_size(args.limit) if args.limit else int(0.8 * meminfo("MemTotal"))
    print(f"limit {limit / GiB:.1f} GiB of tree RSS sum (now at most {run_limit(limit) / GiB:.1f} GiB: "
          f"MemAvailable {meminfo('MemAvailable') / GiB:.1f} GiB - 2 GiB); load average "
          f"{os.getloadavg()[0]:.2f}; {os.cpu_count()} cores", flush=True)
    baseline = tf_baseline()
    print(f"TensorFlow's import baseline: {baseline / GiB:.2f} GiB VmRSS after `import tensorflow, keras`",
          flush=True)
    if args.profile:
        profile(args.profile, variants, limit, args.tmp, args.stand_ins, args.model)
        return

    rows = []
    for megabytes in map(int, args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="litert-build-memory-", dir=args.tmp) as folder:
            project = Path(folder)
            size, saved = make_project(project, megabytes, variants, limit, args.stand_ins, args.model)
            if size is None:
                print(f"~{megabytes} MiB: saving the model {saved.failed}\n{saved.tail()}", flush=True)
                rows.append(f"| ~{megabytes} MiB | model not saved: {saved.failed} | | | |")
                continue
            mine = ours(project, limit)
            print(f"{weights_label(size)} ({describe_model(args.model, megabytes)}, {size:,} bytes): "
                  "litert-build "
                  f"RSS {memory_cell(mine, size)}, PSS {memory_cell(mine, size, 'pss')}, "
                  f"{mine.seconds:.1f} s", flush=True)
            if mine.failed:
                print(mine.tail())
            print("\n".join(describe_records(project, variants, mine)), flush=True)
            theirs = None
            if megabytes <= args.upstream_max and args.model == "dense":
                theirs = upstream(project, variants, limit)
                print(f"  upstream: RSS {memory_cell(theirs, size)}, PSS {memory_cell(theirs, size, 'pss')}, "
                      f"{theirs.seconds:.1f} s", flush=True)
                if theirs.failed:
                    print(theirs.tail())
            rows.append(f"| {weights_label(size)} | {memory_cell(mine, size)} | "
                        f"{memory_cell(mine, size, 'pss')} | {memory_cell(theirs, size)} | "
                        f"{wall_cell(mine, theirs)} |")

    print(f"\nvariants: {','.join(variants)}; stand_ins: {args.stand_ins}; whole process tree, sampled "
          f"every {INTERVAL} s; ratios against the weight bytes\n")
    print("| model weights | litert-build peak RSS | litert-build peak PSS | upstream peak RSS "
          "| wall (ours / upstream) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nTensorFlow's import baseline in this run: {baseline / GiB:.2f} GiB "
          f"(VmRSS of a Python after `import tensorflow, keras`; included in every figure above)")


def parse_size(text: str) -> int:
    """``18G``, ``900M``, ``1.5GiB`` or plain bytes -> bytes (binary units), as ``--memory`` reads them."""
    try:
        return memory_size(text)
    except ValueError as exc:
        raise SystemExit(f"--limit: {exc}") from exc


if __name__ == "__main__":
    main()
