"""Up-to-date (no-op) builds, measured in one run.

    python bench/noop.py [--repeat 5] [--models 20] [--variants 10] [--gb-per-model 1]

1. The example: a full build from scratch, repeated no-op builds, `list`, and a fresh
   clone (sources only, no artifacts, no state) with a warm artifact cache.
   Goals: no-op <= 0.5 s; fresh clone with a warm cache <= 3 s, zero conversions.
2. Many big inputs: ``models x variants`` tasks (200 by default) over ``models`` sparse
   weight files (20 GB by default). doit's state is filled by one run whose actions do
   nothing (nothing is converted). Timed: a no-op with litert-build's checker (stat cache + xxh3) and with
   doit's md5 checker; the same after touching one weight file (``variants`` tasks
   depend on it); and a no-op whose stat cache was deleted (every file hashed once).
   Goal: no-op <= 2 s for 200 tasks, and no TensorFlow import.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from shared.project import copy_example  # noqa: E402 - the tests' copy of the example

# Runs litert-build (or doit with another checker) and says whether TensorFlow was imported.
RUN = """
import sys
from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain
from litert_build.build import tasks

checker, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
config = {**tasks.doit_config(), "default_tasks": ["convert"]}  # this bench times conversions only
if checker == "md5":
    config = {**config, "check_file_uptodate": "md5", "dep_file": ".litert-build/doit-md5.sqlite3"}


def task_convert():
    for task in tasks.task_convert():
        if mode == "fill":  # record doit's state as after a build, converting nothing
            task["actions"] = [lambda: None]
        yield task


rc = DoitMain(ModuleTaskLoader({"task_convert": task_convert, "DOIT_CONFIG": config})).run(args)
print("TENSORFLOW_IMPORTED", "tensorflow" in sys.modules)
sys.exit(rc)
"""


def timed(cwd: Path, *args: str, checker: str = "xxh3", mode: str = "run",
          env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    script = cwd.parent / "bench_run.py"  # doit reads its task creators' source: not -c
    if not script.exists():
        script.write_text(RUN)
    proc = subprocess.run([sys.executable, str(script), checker, mode, *args], cwd=cwd,
                          env={**os.environ, **(env or {})},
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"litert-build {' '.join(args)} failed:\n{proc.stdout}")
    return elapsed, proc.stdout


def example(tmp: Path, repeat: int) -> None:
    env = {"LITERT_BUILD_CACHE": str(tmp / "cache")}
    project = copy_example(tmp / "example")
    full, out = timed(project, env=env)
    built = len(re.findall(r"^\.  convert:", out, flags=re.M))
    noops, lists = [], []
    for _ in range(repeat):
        t, out = timed(project, env=env)
        assert ".  convert:" not in out and "TENSORFLOW_IMPORTED False" in out, out
        noops.append(t)
        lists.append(timed(project, "list", "--all", env=env)[0])
    clones = []
    for i in range(repeat):
        clone = copy_example(tmp / f"clone{i}")
        t, out = timed(clone, env=env)
        assert ": converted:" not in out and out.count("restored from cache") == built, out
        clones.append(t)
    noop, listing, fresh = statistics.median(noops), statistics.median(lists), statistics.median(clones)
    print(f"## the example ({built} artifacts)")
    print(f"full build from scratch:                {full:.2f} s")
    print(f"no-op build, median of {repeat}:            {noop:.3f} s  (goal <= 0.5 s: "
          f"{'met' if noop <= 0.5 else 'NOT met'}); full build / no-op = {full / noop:.0f}x")
    print(f"list, median of {repeat}:                   {listing:.3f} s")
    print(f"fresh clone + warm cache, median of {repeat}: {fresh:.3f} s, 0 conversions  (goal <= 3 s: "
          f"{'met' if fresh <= 3 else 'NOT met'}); full build / fresh clone = {full / fresh:.0f}x")


BUILDER = "def model():\n    raise SystemExit('the benchmark never converts')\n"


def many_inputs(tmp: Path, models: int, variants: int, gb: float, repeat: int) -> None:
    project = tmp / "big"
    (project / "weights").mkdir(parents=True)
    (project / "zoo.py").write_text(BUILDER)
    lines = ["schema: 1", "models:"]
    for m in range(models):
        weights = project / "weights" / f"m{m}.bin"
        with open(weights, "wb") as fh:  # sparse: a hole, then one real byte per file
            fh.truncate(int(gb * (1 << 30)) - 1)
            fh.seek(0, 2)
            fh.write(bytes([m % 256]))
        kinds = ", ".join(f"v{v}: {{kind: float16}}" for v in range(variants))
        lines += [f"  m{m}:", '    version: "1"',
                  f"    source: {{builder: zoo:model, weights: weights/m{m}.bin}}",
                  f"    variants: {{{kinds}}}"]
    (project / "models.yaml").write_text("\n".join(lines) + "\n")
    tasks = models * variants
    total_gb = models * gb
    # Targets exist (empty stand-ins) and doit's state is saved as after a build, by running
    # the same tasks with their conversion replaced by nothing.
    for m in range(models):
        folder = project / "artifacts" / f"m{m}" / "1"
        folder.mkdir(parents=True)
        for v in range(variants):
            for suffix in (".tflite", ".json", ".intoto.json"):
                (folder / f"m{m}.v{v}{suffix}").write_bytes(b"")
    t_first_plan, _ = timed(project, mode="fill")  # hashes every file once (cold stat cache)
    timed(project, checker="md5", mode="fill")

    def noop(checker: str) -> float:
        times = []
        for _ in range(repeat):
            t, out = timed(project, checker=checker)
            assert ".  convert:" not in out, out
            assert out.count("-- convert:") == tasks, out
            assert "TENSORFLOW_IMPORTED False" in out
            times.append(t)
        return statistics.median(times)

    ours, md5 = noop("xxh3"), noop("md5")
    touched = project / "weights" / "m0.bin"
    os.utime(touched)
    t_touch_ours, out = timed(project)
    assert ".  convert:" not in out, out
    t_touch_md5, out = timed(project, checker="md5")
    assert ".  convert:" not in out, out
    (project / ".litert-build" / "statcache.sqlite3").unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{project / '.litert-build' / 'statcache.sqlite3'}{extra}").unlink(missing_ok=True)
    t_cold, _ = timed(project)
    print(f"\n## {tasks} tasks over {models} weight files, {total_gb:g} GB (sparse)")
    print(f"first run (every file read once, cold page cache): {t_first_plan:.2f} s")
    print(f"no-op, litert-build checker, median of {repeat}:      {ours:.3f} s  (goal <= 2 s: "
          f"{'met' if ours <= 2 else 'NOT met'}), TensorFlow not imported")
    print(f"no-op, doit md5 checker, median of {repeat}:          {md5:.3f} s  "
          f"(md5 / ours = {md5 / ours:.2f})")
    print(f"after touching 1 file ({gb:g} GB, {variants} tasks): ours {t_touch_ours:.2f} s, "
          f"doit md5 {t_touch_md5:.2f} s  (md5 / ours = {t_touch_md5 / t_touch_ours:.1f}x)")
    print(f"no-op with the stat cache deleted (re-hash all):  {t_cold:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--variants", type=int, default=10)
    parser.add_argument("--gb-per-model", type=float, default=1.0)
    parser.add_argument("--skip-example", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_example:
            example(Path(tmp), args.repeat)
        many_inputs(Path(tmp), args.models, args.variants, args.gb_per_model, args.repeat)


if __name__ == "__main__":
    main()
