"""Full builds of the example from scratch: warm workers (zygote) against one fresh Python per
conversion, with -n 1 and -n 2, measured in one run.

    python bench/throughput.py [--repeat 2]

Each build starts from an empty project copy (no artifacts, no state) with the artifact cache
off, so every run converts, verifies and writes all 8 artifacts and both bundles. Prints the
median wall time of each configuration and the ratios cold/warm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from shared.project import copy_example  # noqa: E402 - the tests' copy of the example


def build_seconds(parallel: int, warm: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="litert-build-bench-") as tmp:
        project = copy_example(Path(tmp) / "example")
        env = {**os.environ, "LITERT_BUILD_CACHE": "off", "LITERT_BUILD_ZYGOTE": "1" if warm else "0"}
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "litert_build.cli.main", "-n", str(parallel)],
                              cwd=project, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0 or "8 converted" not in proc.stdout + proc.stderr:
            raise SystemExit(f"build failed:\n{proc.stdout}\n{proc.stderr}")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    results: dict[tuple[int, bool], float] = {}
    for parallel in (1, 2):
        for warm in (False, True):
            times = [build_seconds(parallel, warm) for _ in range(args.repeat)]
            results[parallel, warm] = statistics.median(times)
            label = "warm (zygote)" if warm else "cold (python per task)"
            print(f"-n {parallel}  {label:24s} {results[parallel, warm]:6.1f} s  "
                  f"runs: {', '.join(f'{t:.1f}' for t in times)}", flush=True)
    for parallel in (1, 2):
        print(f"-n {parallel}: warm workers are {results[parallel, False] / results[parallel, True]:.2f}x "
              "faster than a fresh Python per conversion")
    print(f"warm: -n 2 is {results[1, True] / results[2, True]:.2f}x faster than -n 1")


if __name__ == "__main__":
    main()
