"""What going through a Dask cluster costs per conversion: 16 small models built locally with
``-n 1`` against the same 16 on a 2-worker ``distributed.LocalCluster`` with a ``file://`` store.

    python bench/distributed.py [--models 16] [--out bench-distributed.json]

On a 2-core machine this measures overhead, not speedup: both builds convert on the same cores.
Four builds, each of a fresh copy of the project (nothing up to date, nothing in a cache):

* ``local -n 1``: the baseline (warm zygote, as every local build);
* ``cluster -n 1, cold``: the Dask workers' first build (each starts its own warm zygote);
* ``cluster -n 1, warm``: the same cluster again (the zygotes are up, as on a long-lived cluster);
* ``cluster -n 2, warm``: two conversions at once, one per worker.

The build records (``.litert-build/builds/*.json``) give each task's seconds (medians: the
first task of a build also waits for TensorFlow's import) and, for cluster tasks, where they went:
uploading inputs, Dask (submit to reply, less the worker's own work), the worker getting the
inputs, converting and storing, and restoring here. The artifacts and signature manifests of every
cluster build are compared byte for byte with the local build's (provenance statements differ:
they name the worker). Prints two tables and writes JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# This file is named like the package it measures: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

BUILDER = '''
import keras


def make(i):
    keras.utils.set_random_seed(i)
    x = keras.Input((16 + i,), name="x")
    h = keras.layers.Dense(32 + 4 * i, activation="relu")(x)
    return keras.Model(x, keras.layers.Dense(4, name="y")(h))
'''


def write_project(folder: Path, models: int) -> Path:
    folder.mkdir(parents=True)
    builders = "".join(f"\n\ndef m{i}():\n    return make({i})\n" for i in range(models))
    (folder / "zoo.py").write_text(BUILDER + builders)
    lines = ["schema: 1", "models:"]
    lines += [f'  m{i}: {{version: "1", source: {{builder: zoo:m{i}}}}}' for i in range(models)]
    (folder / "models.yaml").write_text("\n".join(lines) + "\n")
    return folder


def build(project: Path, *args: str, cache: str) -> dict:
    env = dict(os.environ, LITERT_BUILD_CACHE=cache)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "litert_build.cli.main", *args, "convert"], cwd=project,
                          env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"build failed in {project}:\n{proc.stdout[-4000:]}")
    converted = proc.stdout.count(": converted: ")
    records = [json.loads(p.read_text()) for p in (project / ".litert-build" / "builds").glob("*.json")]
    row = {"wall": wall, "converted": converted,
           "task_seconds": statistics.median(r["seconds"] for r in records)}
    parts = [r["cluster_seconds"] for r in records if "cluster_seconds" in r]
    if parts:  # medians over the tasks of each part of a cluster conversion
        row["parts"] = {key: statistics.median(p.get(key, 0.0) for p in parts) for key in parts[0]}
        # from submitting to the reply, less the worker's own work: scheduling and transfers
        row["parts"]["dask"] = statistics.median(
            p["cluster"] - p.get("worker_inputs", 0) - p.get("worker_session", 0) - p.get("worker_store", 0)
            for p in parts)
    return row


def digests(project: Path) -> dict[str, str]:
    return {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((project / "artifacts").rglob("*"))
            if p.suffix in (".tflite", ".json") and not p.name.endswith(".intoto.json")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--out", default="bench-distributed.json")
    options = parser.parse_args()
    from distributed import LocalCluster

    work = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    results = {}
    local = write_project(work / "local", options.models)
    results["local -n 1"] = build(local, "-n", "1", cache="off")
    reference = digests(local)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        for name, args in (("cluster -n 1, cold", ["-n", "1"]), ("cluster -n 1, warm", ["-n", "1"]),
                           ("cluster -n 2, warm", ["-n", "2"])):
            project = write_project(work / name.replace(" ", "_").replace(",", ""), options.models)
            store = (work / f"store-{name.replace(' ', '_').replace(',', '')}").as_uri()
            results[name] = build(project, "--scheduler", cluster.scheduler_address, *args, cache=store)
            results[name]["same_bytes"] = digests(project) == reference
    base = results["local -n 1"]
    print(f"{options.models} models, float32 each; {os.cpu_count()} cores")
    print(f"{'build':<22} {'wall s':>8} {'vs local':>9} {'median task s':>14} {'vs local':>9}  same bytes")
    for name, row in results.items():
        row["task_overhead"] = row["task_seconds"] - base["task_seconds"]
        print(f"{name:<22} {row['wall']:8.1f} {row['wall'] / base['wall']:8.2f}x {row['task_seconds']:14.2f} "
              f"{row['task_overhead']:+8.2f}s  {row.get('same_bytes', '-')}")
    print("\nmedian seconds per cluster task: upload (client) | dask (scheduling, transfers) | inputs, "
          "session, store (worker) | restore (client)")
    for name, row in results.items():
        if "parts" in row:
            p = row["parts"]
            print(f"{name:<22} {p['upload']:.3f} | {p['dask']:.3f} | {p['worker_inputs']:.3f}, "
                  f"{p['worker_session']:.3f}, {p['worker_store']:.3f} | {p['restore']:.3f}")
    Path(options.out).write_text(json.dumps({"models": options.models, "results": results}, indent=2))


if __name__ == "__main__":
    main()
