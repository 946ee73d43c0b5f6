"""The real command-line path of a cluster build: a ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, a ``file://`` store in a temp folder, and ``litert-build --scheduler``;
a builder, calibration data and a KerasHub preset folder; then a second checkout of the project
that builds nothing and restores everything."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from shared.hub import GPT2_TINY_PRESET
from shared.project import artifact, run_build, run_python, write_project
from shared.zoo import ALPHA, WIDE, module

distributed = pytest.importorskip("distributed")

MANIFEST = """
schema: 1
executor: {scheduler: tcp://127.0.0.1:1}  # overridden by --scheduler
models:
  alpha: {version: "1", source: {builder: zoo:alpha}}
  wide:
    version: "1"
    source: {builder: zoo:wide}
    calibration: {npz: data/calib.npz, samples: 16}
    variants: {float32: {}, int8: {}}
  gpt2: {version: "1", source: {preset: presets/gpt2_tiny, task: CausalLM}}
"""

# A KerasHub preset folder (weights, configs, tokenizer assets): every file travels by content.
GPT2_PRESET = "import keras, keras_hub\nkeras.utils.set_random_seed(0)\n" + GPT2_TINY_PRESET
BUILT = (("alpha", "float32"), ("gpt2", "float32"), ("wide", "float32"), ("wide", "int8"))


def _dask(*args: str, log: Path) -> subprocess.Popen:
    """``dask ARGS`` (the console script installed beside this Python)."""
    return subprocess.Popen([str(Path(sys.executable).with_name("dask")), *args],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two workers, each its own process, as a user starts them."""
    address_file = tmp_path / "scheduler.json"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", ":0",
                       "--scheduler-file", str(address_file), log=tmp_path / "scheduler.log")]
    try:
        for _ in range(600):
            if address_file.is_file() and address_file.read_text().strip():
                break
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for i in range(2):
            processes.append(_dask("worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                   "--resources", "MEMORY=16e9", "--local-directory",
                                   str(tmp_path / f"worker{i}"), log=tmp_path / f"worker{i}.log"))
        with distributed.Client(address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:  # each process group whole: nanny, worker, its zygote and conversions
        for proc in processes:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_litert_build_scheduler_with_dask_processes_and_a_shared_store(tmp_path, dask_cluster):
    project = write_project(tmp_path / "checkout1", {"zoo.py": module(ALPHA, WIDE), "models.yaml": MANIFEST})
    rng = np.random.default_rng(0)
    (project / "data").mkdir()
    np.savez(project / "data" / "calib.npz", x=rng.standard_normal((16, 64)).astype("float32"))
    run_python(project, GPT2_PRESET)
    store = tmp_path / "store"
    env = {"LITERT_BUILD_CACHE": store.as_uri()}

    built = run_build(project, "--scheduler", dask_cluster, "-n", "2", env=env)
    assert built.returncode == 0, built.output
    assert sorted(built.converted) == [f"{model}:{variant}" for model, variant in BUILT]
    assert f"building on the Dask cluster at {dask_cluster}: 2 worker(s)" in built.output
    assert built.output.count(" running on tcp://127.0.0.1:") == 3  # alpha, gpt2, wide's session
    from ai_edge_litert.interpreter import Interpreter

    for model, variant in BUILT:
        tflite, manifest = artifact(project, model, variant)
        meta = json.loads(manifest.read_text())
        assert meta["artifact"]["sha256"] == hashlib.sha256(tflite.read_bytes()).hexdigest()
        runner = Interpreter(model_path=str(tflite)).get_signature_runner("serving_default")
        assert runner.get_input_details()  # loads, and has its signature
    # Every input went to the store by content: the module and the calibration data.
    for name in ("zoo.py", "data/calib.npz", "presets/gpt2_tiny/model.weights.h5",
                 "presets/gpt2_tiny/assets/tokenizer/vocabulary.json"):
        digest = hashlib.sha256((project / name).read_bytes()).hexdigest()
        assert (store / "inputs" / "sha256" / digest[:2] / digest).is_file()
    assert len(list((store / "v1").glob("*/*/entry.json"))) == 4
    assets = project / "artifacts" / "gpt2" / "1" / "gpt2.assets"  # the tokenizer, via the cache
    assert (assets / "tokenizer" / "vocabulary.json").read_bytes() == \
        (project / "presets" / "gpt2_tiny" / "assets" / "tokenizer" / "vocabulary.json").read_bytes()

    # Placement by memory: these workers declare MEMORY=16e9, so a task asks for its expected
    # peak as that resource, and a peak no worker has for the largest worker's amount.
    from litert_build.build.cluster.submit import _placement
    from litert_build.build.memory import expected_peak
    from litert_build.plan.specs import make_plan

    spec = next(s for s in make_plan(project / "models.yaml").specs if s.task_name == "wide:int8").to_json()
    with distributed.Client(dask_cluster, set_as_default=False) as client:
        assert _placement(client, spec) == {"resources": {"MEMORY": expected_peak(spec)[0]}}
        record = project / ".litert-build" / "builds" / "wide.int8.json"
        record.write_text(json.dumps({**json.loads(record.read_text()), "peak_rss": 1 << 45}))
        assert _placement(client, spec) == {"resources": {"MEMORY": 16e9}}

    # A second checkout of the same project, on the same cluster and store: nothing to convert.
    other = tmp_path / "checkout2"
    shutil.copytree(project, other, ignore=shutil.ignore_patterns("artifacts", ".litert-build"))
    again = run_build(other, "--scheduler", dask_cluster, "-n", "2", env=env)
    assert again.returncode == 0, again.output
    assert again.converted == [] and sorted(again.restored) == [f"{m}:{v}" for m, v in BUILT], again.output
    for model, variant in BUILT:
        restored, first = artifact(other, model, variant)[0], artifact(project, model, variant)[0]
        assert restored.read_bytes() == first.read_bytes()
