"""The worker's peak memory against the size of its model file: the ratio behind the memory-aware
scheduler's first estimate (``PEAK_PER_INPUT_BYTE`` in litert_build/build/memory.py).

    python bench/peak_memory.py [--sizes 25,100,200]   # MB of float32 weights

For each size, a Dense stack with about that many weights is saved as a .keras file and built
(float32 and dynamic_range, one worker, cache off). The worker records how much it grew its
resident set at its peak (``peak_rss`` in the build record); printed against the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from memory import SAVE  # the same seeded Dense stack, saved as model.keras

MANIFEST = """schema: 1
models:
  big: {version: "1", source: {keras: model.keras}, variants: {float32: {}, dynamic_range: {}}}
"""


def measure(megabytes: int) -> tuple[int, int, float]:
    """(model file bytes, worker peak growth bytes, seconds) for a model of ``megabytes``."""
    width, depth = 1024, max(1, round(megabytes * 2**20 / 4 / 1024**2))
    with tempfile.TemporaryDirectory(prefix="litert-build-peak-") as tmp:
        project = Path(tmp)
        (project / "models.yaml").write_text(MANIFEST)
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
        subprocess.run([sys.executable, "-c", SAVE, str(width), str(depth)], cwd=project, env=env,
                       check=True, capture_output=True)
        size = (project / "model.keras").stat().st_size
        proc = subprocess.run([sys.executable, "-m", "litert_build.cli.main", "convert"], cwd=project,
                              env={**env, "LITERT_BUILD_CACHE": "off"}, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stdout + proc.stderr)
        record = json.loads((project / ".litert-build/builds/big.float32.json").read_text())
        return size, record["peak_rss"], record["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,100,200")
    args = parser.parse_args()
    for megabytes in map(int, args.sizes.split(",")):
        size, peak, seconds = measure(megabytes)
        print(f"model file {size / 2**20:7.1f} MB  worker peak growth {peak / 2**20:8.1f} MB  "
              f"ratio {peak / size:5.2f}  ({seconds:.1f} s, float32 + dynamic_range in one worker)",
              flush=True)


if __name__ == "__main__":
    main()
