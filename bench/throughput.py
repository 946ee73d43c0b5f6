"""Build throughput of litert-build, every figure a ratio against a baseline measured in the
same run (the machine is shared and noisy; 2 cores). Issue 15.

    python bench/throughput.py [--repeat N] [--only baseline|parallel|zoo|breakdown] [--cold]

Every litert-build run starts from an empty project (no artifacts, no state) with the artifact
cache off (``LITERT_BUILD_CACHE=off``), so it converts, verifies and writes every artifact.
``--repeat N`` (default 1) runs each configuration N times (alternating) and reports medians.
Each run prints the 1-minute load average when it started (other work on the machine shows
there); builds also print the CPU seconds of their process tree and the cores kept busy on average.
Parts (all by default, in this order; ``--only`` runs one):

1. ``baseline``: baseline A is one plain Python process (``bench/_throughput_baseline.py``) that
   imports Keras, builds the example's three models (``examples/models.py`` builders, the digits
   weights from models.yaml) and calls upstream ``model.export(path, format="litert", ...)`` once
   per variant, 8 artifacts, with the converter settings of litert-build's variant kinds passed
   through export's keyword arguments (no verification, eval, manifests, bundles or report);
   timed from process start to exit. Against it: ``litert-build -n 1`` of a copy of the example
   (8 artifacts verified and evaluated, 2 bundles, the report). Prints litert-build / baseline A
   (goal <= 1.3x).
2. ``parallel``: a generated project of 8 independent tiny Dense/CNN models (1-2 variants each,
   12 artifacts), built with ``-n 1`` and with ``-n 2``. Prints -n 1 / -n 2 (goal >= 1.6x).
3. ``zoo``: a generated manifest of 20 models x 4 variants (float32, dynamic_range, float16,
   int8 calibrated from a builder): 10 Dense MLPs, 6 CNNs, 4 tiny KerasHub tasks built from
   constructors (tests/shared/hub_families.py; no network). For ``-n 1`` and ``-n 2``: total
   time, time per artifact and the peak memory of the whole process tree (every descendant of
   the build process, sampled every 0.2 s from /proc): the sum of RSS (counts pages shared by
   forked workers once per process) and the sum of PSS (shared pages split: the real footprint).
   Prints -n 1 / -n 2 and, when part 1 ran, time per artifact / baseline A's. FNet's int8 gate
   is loosened to 1 dB SQNR (it scores ~3 dB; see _throughput_projects.py). Takes several minutes.
4. ``breakdown``: the build records (``.litert-build/builds/<model>.<variant>.json``) of an
   example build (part 1's when it ran): per step name (``steps``), and the worker's ``start``
   and ``exit`` (``worker``), the seconds summed over all records and each one's share;
   sessions (several variants of one model in one worker: shared steps appear only in the
   leader's record) are counted, and the largest ``peak_rss`` (memory a worker added) shown.
   Prints "(no step timings in the records)" when the records have none. With ``--cold`` it
   also builds the example as before issue 15, ``LITERT_BUILD_ZYGOTE=0 LITERT_BUILD_SESSIONS=0``
   (a fresh Python per variant), and prints both side by side, with their wall times.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))
from _throughput_measure import (  # noqa: E402 - bench/ helpers
    Build,
    format_breakdowns,
    read_breakdown,
    run_build,
    run_timed,
)
from _throughput_projects import parallel_project, zoo_project  # noqa: E402
from shared.project import copy_example  # noqa: E402 - the tests' copy of the example

PARTS = ("baseline", "parallel", "zoo", "breakdown")
EXAMPLE_ARTIFACTS = 8

BASELINE_NOTES = """\
  baseline A settings (passed through model.export(format="litert", **kwargs), which sets them on
  tf.lite.TFLiteConverter; all of litert-build's kind settings could be passed):
    batch 1 via input_signature (litert-build's batch_size: 1); dynamic_range: optimizations=[DEFAULT];
    float16: + target_spec={"supported_types": [float16]}; int8: + representative_dataset (the same 200
    seeded calibration samples); int8_uint8: + inference_input_type/inference_output_type=uint8;
    int16x8: + target_spec={"supported_ops": [EXPERIMENTAL_..._INT16_WEIGHTS_INT8]}.
  not the same: Keras' export also sets experimental_enable_resource_variables=True and keeps
  SELECT_TF_OPS allowed (litert-build allows them in the converter too, then fails a Flex graph
  after converting); baseline A verifies nothing, evaluates nothing, writes no manifests,
  provenance, bundles or report, which the litert-build build includes."""


def median(values: list[float]) -> float:
    return statistics.median(values)


def runs(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


class Bench:
    def __init__(self, root: Path, repeat: int) -> None:
        self.root, self.repeat, self.count = root, repeat, 0
        self.baseline_per_artifact: float | None = None
        self.example_project: Path | None = None  # the last example built (its records)
        self.example_seconds: float | None = None

    def folder(self, label: str) -> Path:
        self.count += 1
        return self.root / f"{self.count:02d}-{label}"

    def example_build(self, warm: bool = True) -> tuple[Path, Build]:
        project = copy_example(self.folder("example-warm" if warm else "example-cold"))
        return project, run_build(project, 1, warm=warm, expect=EXAMPLE_ARTIFACTS)

    # ------------------------------------------------------------ part 1

    def baseline(self) -> None:
        print("== 1. baseline A (plain Python + upstream model.export) vs litert-build -n 1, "
              "example, cache off", flush=True)
        upstream, ours, inside = [], [], []
        for i in range(self.repeat):
            order = ("ours", "upstream") if i % 2 else ("upstream", "ours")
            for which in order:
                if which == "upstream":
                    project = copy_example(self.folder("baseline"))
                    seconds, output, load = run_timed(
                        [sys.executable, str(HERE / "_throughput_baseline.py"), "out"], project)
                    made = re.findall(r"^BASELINE (\S+) (\d+) ([\d.]+)$", output, re.M)
                    if len(made) != EXAMPLE_ARTIFACTS:
                        raise SystemExit(f"baseline A made {len(made)} artifacts:\n{output[-3000:]}")
                    total = re.search(r"^BASELINE-TOTAL ([\d.]+)$", output, re.M)
                    upstream.append(seconds)
                    inside.append(float(total.group(1)) if total else float("nan"))
                    sizes = ", ".join(f"{name} {int(size):,} B" for name, size, _ in made)
                    print(f"  baseline A run {i + 1}: {seconds:.1f} s (in-process {inside[-1]:.1f} s; "
                          f"load {load:.1f}); {sizes}", flush=True)
                else:
                    project, build = self.example_build()
                    ours.append(build.seconds)
                    self.example_project, self.example_seconds = project, build.seconds
                    print(f"  litert-build run {i + 1}: {build.seconds:.1f} s (load {build.load:.1f})",
                          flush=True)
        print(BASELINE_NOTES)
        a, b = median(upstream), median(ours)
        self.baseline_per_artifact = a / EXAMPLE_ARTIFACTS
        print(f"  baseline A:        {a:6.1f} s  (median of: {runs(upstream)}; process start to exit)")
        print(f"  litert-build -n 1: {b:6.1f} s  (median of: {runs(ours)})")
        print(f"  RATIO litert-build / baseline A = {b / a:.2f}x  (goal <= 1.3x)", flush=True)

    # ------------------------------------------------------------ part 2

    def n1_and_n2(self, label: str, make_project) -> tuple[dict[int, list[Build]], int]:
        """Build a fresh project from ``make_project`` with -n 1 and -n 2, ``repeat`` times each
        (alternating the order); (the builds by -n, the artifact count)."""
        results: dict[int, list[Build]] = {1: [], 2: []}
        artifacts = 0
        for i in range(self.repeat):
            for parallel in ((2, 1) if i % 2 else (1, 2)):
                project, artifacts = make_project(self.folder(f"{label}-n{parallel}"))
                build = run_build(project, parallel, expect=artifacts, memory=True)  # samples CPU too
                results[parallel].append(build)
                m = build.memory
                print(f"  -n {parallel} run {i + 1}: {build.seconds:.1f} s (load {build.load:.1f}; "
                      f"CPU {build.cpu:.1f} s, {build.busy_cores:.2f} cores busy), {artifacts} artifacts, "
                      f"peak RSS sum {mib(m.peak_rss_kib)}, peak PSS sum {mib(m.peak_pss_kib)}, "
                      f"up to {m.peak_processes} processes ({m.samples} samples)", flush=True)
        return results, artifacts

    def parallel(self) -> None:
        print("== 2. 8 independent small models: -n 2 vs -n 1, cache off", flush=True)
        results, artifacts = self.n1_and_n2("parallel", parallel_project)
        times = {parallel: [b.seconds for b in builds] for parallel, builds in results.items()}
        one, two = median(times[1]), median(times[2])
        print(f"  8 models, {artifacts} artifacts: -n 1 {one:.1f} s (runs: {runs(times[1])}), "
              f"-n 2 {two:.1f} s (runs: {runs(times[2])})")
        print(f"  RATIO -n 1 / -n 2 = {one / two:.2f}x  (goal >= 1.6x)", flush=True)

    # ------------------------------------------------------------ part 3

    def zoo(self) -> None:
        print("== 3. zoo: 20 models x 4 variants (10 Dense, 6 CNN, 4 KerasHub), cache off", flush=True)
        results, artifacts = self.n1_and_n2("zoo", zoo_project)
        summary = {}
        for parallel, builds in results.items():
            seconds = median([b.seconds for b in builds])
            rss = max(b.memory.peak_rss_kib for b in builds)
            pss = max(b.memory.peak_pss_kib for b in builds)
            summary[parallel] = seconds
            each = seconds / artifacts
            base = self.baseline_per_artifact
            versus = f", {each / base:.2f}x baseline A's {base:.2f} s per artifact" if base else ""
            print(f"  -n {parallel}: total {seconds:.1f} s, {each:.2f} s per artifact{versus}; "
                  f"peak of the process tree: RSS sum {mib(rss)}, PSS sum {mib(pss)}")
        print(f"  RATIO zoo -n 1 / -n 2 = {summary[1] / summary[2]:.2f}x", flush=True)

    # ------------------------------------------------------------ part 4

    def breakdown(self, cold: bool) -> None:
        print("== 4. per-task breakdown of the example build (build records), cache off", flush=True)
        columns, walls = {}, {}
        if self.example_project is None:
            self.example_project, build = self.example_build()
            self.example_seconds = build.seconds
        columns["warm -n 1"] = read_breakdown(self.example_project)
        walls["warm -n 1"] = self.example_seconds
        if cold:
            project, build = self.example_build(warm=False)
            columns["cold -n 1"] = read_breakdown(project)
            walls["cold -n 1"] = build.seconds
        print(format_breakdowns(columns))
        print("  (warm: the first task's worker start includes starting the zygote, which imports\n"
              "  TensorFlow and Keras there, so the import step itself is near 0 in the records)")
        print("  wall time: " + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in walls.items()))
        if cold:
            print(f"  RATIO cold / warm = {walls['cold -n 1'] / walls['warm -n 1']:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration (medians)")
    parser.add_argument("--only", choices=PARTS, help="run one part")
    parser.add_argument("--cold", action="store_true",
                        help="breakdown: also build as before issue 15 (a fresh Python per variant)")
    args = parser.parse_args()
    parts = [args.only] if args.only else list(PARTS)
    with tempfile.TemporaryDirectory(prefix="litert-build-throughput-") as tmp:
        bench = Bench(Path(tmp), max(1, args.repeat))
        for part in parts:
            if part == "breakdown":
                bench.breakdown(args.cold)
            else:
                getattr(bench, part)()


if __name__ == "__main__":
    main()
