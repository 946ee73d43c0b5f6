"""Conversions on a Dask cluster (``distributed.LocalCluster``, 2 worker processes on 127.0.0.1):
the bytes of a local build, inputs by content, failures worded as locally, a worker killed
mid-conversion, other tool versions refused, an unreachable scheduler."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest
from shared.project import artifact, load_json, run_build, start_cli, write_project
from shared.zoo import ALPHA, BETA, module

distributed = pytest.importorskip("distributed")

WHERE = '''
def recorded(name):
    """Note the folder the conversion ran in (its project root), then build ``name``."""
    with open(os.path.join(os.environ["CLUSTER_TEST_MARKS"], f"{name}.cwd"), "a") as fh:
        fh.write(os.getcwd() + "\\n")
    return {"alpha": alpha, "beta": beta}[name]()


def alpha_here():
    return recorded("alpha")


def beta_here():
    return recorded("beta")


def broken():
    raise RuntimeError("the builder broke on purpose")


def nothing():
    return None


def slow_once():
    """Blocks the first time (until the test kills its Dask worker), builds alpha after that."""
    mark = os.path.join(os.environ["CLUSTER_TEST_MARKS"], "slow.pid")
    if not os.path.exists(mark):
        with open(mark + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(mark + ".tmp", mark)
        import time

        time.sleep(600)
    return alpha()
'''

MANIFEST = """
schema: 1
models:
  alpha:
    version: "1"
    source: {builder: zoo:alpha_here}
    variants: {float32: {}, float16: {}}
  beta: {version: "2", source: {builder: zoo:beta_here}}
"""

FAILING = """
schema: 1
models:
  broken: {version: "1", source: {builder: zoo:broken}}
  nothing: {version: "1", source: {builder: zoo:nothing}}
  beta: {version: "2", source: {builder: zoo:beta_here}}
"""

SLOW = """
schema: 1
models:
  slow: {version: "1", source: {builder: zoo:slow_once}}
"""

# A Dask worker whose environment differs: its litert-build reports another Keras.
OTHER_KERAS = """
from litert_build.versions import tool_versions

tool_versions()["keras"] = "3.0.0"
"""


@pytest.fixture(scope="module")
def marks(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("marks")
    os.environ["CLUSTER_TEST_MARKS"] = str(folder)  # the Dask workers inherit it
    return folder


@pytest.fixture(scope="module")
def cluster(marks):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as local:
        yield local


def _project(folder: Path, manifest: str) -> Path:
    return write_project(folder, {"zoo.py": module(ALPHA, BETA, WHERE), "models.yaml": manifest})


def _store(tmp_path: Path) -> str:
    return (tmp_path / "store").as_uri()  # file:///..., as a shared folder would be named


def test_a_cluster_build_gives_the_bytes_of_a_local_build_from_inputs_sent_by_content(
        tmp_path, cluster, marks, monkeypatch):
    for name in ("alpha", "beta"):
        (marks / f"{name}.cwd").unlink(missing_ok=True)
    remote = _project(tmp_path / "remote", MANIFEST)
    store = _store(tmp_path)
    env = {"LITERT_BUILD_CACHE": store}
    built = run_build(remote, "--scheduler", cluster.scheduler_address, "-n", "2", "convert", env=env)
    assert built.returncode == 0, built.output
    assert f"building on the Dask cluster at {cluster.scheduler_address}: 2 worker(s)" in built.output
    assert "dashboard http://" in built.output
    assert sorted(built.converted) == ["alpha:float16", "alpha:float32", "beta:float32"]
    assert "litert-build: 3 converted, 0 from cache, 0 up to date, 0 failed" in built.output
    running = dict(re.findall(r"^  (\S+): running on (tcp://\S+)$", built.output, flags=re.M))
    assert set(running) == {"alpha:float32", "beta:float32"}  # float16: in alpha's session
    workers = set(cluster.scheduler_info["workers"])
    assert set(running.values()) <= workers

    # The conversions ran in scratch folders of the Dask workers, not in the project.
    for name in ("alpha", "beta"):
        folders = (marks / f"{name}.cwd").read_text().split()
        assert len(folders) == 1, folders
        assert remote.resolve() not in Path(folders[0]).resolve().parents
        assert Path(folders[0]).resolve() != remote.resolve()
        assert not Path(folders[0]).exists(), "the scratch folder outlived its task"
    # Inputs were uploaded by content: the builder module under its sha256.
    digest = hashlib.sha256((remote / "zoo.py").read_bytes()).hexdigest()
    assert (tmp_path / "store" / "inputs" / "sha256" / digest[:2] / digest).read_bytes() == \
        (remote / "zoo.py").read_bytes()

    # Provenance names the worker; the build record too; the artifact verifies as any other.
    tflite, _ = artifact(remote, "alpha", "float16")
    provenance = load_json(tflite.with_suffix(".intoto.json"))
    executor = provenance["predicate"]["runDetails"]["metadata"]["executor"]
    assert executor["kind"] == "dask" and executor["worker"] == running["alpha:float32"]
    assert executor["scheduler"] == cluster.scheduler_address
    record = load_json(remote / ".litert-build" / "builds" / "beta.float32.json")
    assert record["executor"]["worker"] == running["beta:float32"]

    import litert_build.api as lb

    monkeypatch.setenv("LITERT_BUILD_CACHE", store)
    again = lb.build(remote / "models.yaml", ["convert"], scheduler=cluster.scheduler_address)
    assert again.ok, again.output
    assert f"building on the Dask cluster at {cluster.scheduler_address}" in again.output
    for task in ("alpha:float32", "alpha:float16", "beta:float32"):
        assert again.outcome(f"convert:{task}") == "up to date"
    # A local build from scratch (in a temp folder, without the cache) gives every file's bytes,
    # the provenance statement included (which names the worker, as the cluster's did).
    rebuilt = run_build(remote, "verify", env=env)
    assert rebuilt.returncode == 0, rebuilt.output
    assert "3 reproduced byte for byte, 0 not" in rebuilt.output
    assert len((marks / "alpha.cwd").read_text().split()) == 3  # here: float32, float16


def test_failures_on_the_cluster_read_as_they_do_locally_and_other_models_build(tmp_path, cluster):
    local = _project(tmp_path / "local", FAILING)
    here = run_build(local, env={"LITERT_BUILD_CACHE": "off"})
    # This time the scheduler comes from models.yaml.
    remote = _project(tmp_path / "remote", FAILING.replace(
        "schema: 1\n", f"schema: 1\nexecutor: {{scheduler: '{cluster.scheduler_address}'}}\n"))
    there = run_build(remote, env={"LITERT_BUILD_CACHE": _store(tmp_path)})
    assert here.returncode != 0 and there.returncode != 0
    assert f"building on the Dask cluster at {cluster.scheduler_address}" in there.output
    assert "(on tcp://" in there.output
    assert there.converted == ["beta:float32"] and here.converted == ["beta:float32"]

    def errors(output: str) -> dict[str, str]:
        return dict(re.findall(r"^((?:broken|nothing):float32): (.+)$", output, flags=re.M))

    assert errors(there.output) == errors(here.output)
    assert set(errors(there.output)) == {"broken:float32", "nothing:float32"}
    assert "RuntimeError: the builder broke on purpose" in errors(there.output)["broken:float32"]
    for model in ("broken", "nothing"):
        assert not any((remote / "artifacts" / model).rglob("*.tflite"))


def test_other_tool_versions_on_a_worker_are_refused_naming_both(tmp_path):
    preload = tmp_path / "other_keras.py"
    preload.write_text(OTHER_KERAS)
    project = _project(tmp_path / "p", MANIFEST.replace("float16: {}", ""))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, preload=[str(preload)]) as other:
        run = run_build(project, "--scheduler", other.scheduler_address, "convert",
                        env={"LITERT_BUILD_CACHE": _store(tmp_path)})
    assert run.returncode != 0
    assert re.search(r"warning: tcp://\S+ runs other tool versions and will refuse conversions: "
                     r"keras 3\.15\.\d+ here, 3\.0\.0 there", run.output), run.output
    assert run.converted == []
    assert "refused by the Dask worker tcp://" in run.output
    assert re.search(r"This build: .*keras 3\.15\.\d+.*The worker: .*keras 3\.0\.0", run.output)
    assert not any((project / "artifacts").rglob("*.tflite"))
    assert not (tmp_path / "store" / "v1").exists(), "a refused conversion stored something"


def test_an_unreachable_scheduler_is_one_error_before_anything_runs(tmp_path, marks):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    project = _project(tmp_path / "p", MANIFEST)
    started = time.monotonic()
    run = run_build(project, "--scheduler", f"tcp://127.0.0.1:{port}",
                    env={"LITERT_BUILD_CACHE": _store(tmp_path), "CLUSTER_TEST_MARKS": str(tmp_path)})
    assert time.monotonic() - started < 30  # no waiting for Dask's connection timeout
    assert run.returncode != 0
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: nothing listens" in run.output
    assert "--scheduler off" in run.output
    assert run.executed == []


def test_a_store_the_workers_cannot_read_or_no_cache_is_one_error_before_anything_runs(
        tmp_path, cluster, marks):
    project = _project(tmp_path / "p", MANIFEST)
    # memory:// lives in each process: this build's is not the workers' (as a folder on this
    # machine is not another machine's).
    private = run_build(project, "--scheduler", cluster.scheduler_address,
                        env={"LITERT_BUILD_CACHE": "memory://litert-build-test"})
    assert private.returncode != 0 and private.executed == []
    assert "no worker of the Dask cluster at" in private.output
    assert "can read the artifact cache memory://litert-build-test" in private.output
    off = run_build(project, "--scheduler", cluster.scheduler_address, env={"LITERT_BUILD_CACHE": "off"})
    assert off.returncode != 0 and off.executed == []
    assert "needs the artifact cache (inputs and outputs travel through it), but it is off" in off.output


def test_a_worker_killed_mid_conversion_is_retried_and_the_artifact_built_once(tmp_path, cluster, marks):
    project = _project(tmp_path / "p", SLOW)
    store = tmp_path / "store"
    build = start_cli(project, "--scheduler", cluster.scheduler_address, "convert",
                      env={"LITERT_BUILD_CACHE": store.as_uri()})
    mark = marks / "slow.pid"
    for _ in range(1200):  # a Dask worker is inside the builder (a minute at most, on a busy machine)
        if mark.is_file() or build.poll() is not None:
            break
        time.sleep(0.1)
    assert mark.is_file(), build.communicate()[0]
    conversion = int(mark.read_text())
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    try:
        busy = [worker for worker, keys in client.processing().items() if keys]
        assert len(busy) == 1
        pid = client.run(os.getpid, workers=busy)[busy[0]]
        os.kill(pid, signal.SIGKILL)
    finally:
        client.close()
    output, _ = build.communicate(timeout=600)
    assert build.returncode == 0, output
    running = re.findall(r"^  slow:float32: running on (tcp://\S+)$", output, flags=re.M)
    assert len(running) == 2 and running[0] == busy[0], output
    assert len(re.findall(r"^  slow:float32: converted: .* verified", output, flags=re.M)) == 1
    tflite, manifest = artifact(project, "slow")
    digest = hashlib.sha256(tflite.read_bytes()).hexdigest()
    assert json.loads(manifest.read_text())["artifact"]["sha256"] == digest
    assert len(list((store / "v1").glob("*/*/entry.json"))) == 1
    for _ in range(100):  # the killed conversion went with its worker
        if not Path(f"/proc/{conversion}").exists():
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{conversion}").exists(), "the killed worker's conversion lived on"
