"""Up-to-date (no-op) build time vs a full build of the example, measured in one run.

    python bench/noop.py [--repeat 5]

Copies the repository's example (models.yaml + examples/) to a temp folder, times a
full build from scratch, then times repeated no-op builds and `list`. Prints the
medians and the ratio no-op / full build. Goal (issue 3): no-op <= 0.5 s.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(cwd: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "litert_build.cli", *args], cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"litert-build {' '.join(args)} failed:\n{proc.stdout}")
    return elapsed, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copy(REPO / "models.yaml", project / "models.yaml")
        shutil.copytree(REPO / "examples", project / "examples",
                        ignore=shutil.ignore_patterns("__pycache__"))
        full, out = timed(project)
        built = len(re.findall(r"^\.  convert:", out, flags=re.M))
        noops, lists = [], []
        for _ in range(args.repeat):
            t, out = timed(project)
            assert ".  convert:" not in out, out  # nothing may be rebuilt
            noops.append(t)
            lists.append(timed(project, "list", "--all")[0])
    noop, listing = statistics.median(noops), statistics.median(lists)
    print(f"full build ({built} conversions): {full:.2f} s")
    print(f"no-op build, median of {args.repeat}: {noop:.3f} s  (min {min(noops):.3f} s)")
    print(f"list, median of {args.repeat}:        {listing:.3f} s")
    print(f"no-op / full build: {noop / full:.4f}  (full build is {full / noop:.0f}x slower)")
    print(f"goal no-op <= 0.5 s: {'met' if noop <= 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
