"""The parts of a cluster build that need no cluster: where the scheduler comes from, the inputs'
trip through the store (names that would leave the scratch folder, bytes that are not their
digest), the version comparison, and which specs convert here anyway."""

from __future__ import annotations

import hashlib
import os

import pytest
from shared.project import write

from litert_build.build.cluster import connect
from litert_build.build.cluster.inputs import InputUnavailable, materialize, upload
from litert_build.build.cluster.submit import remote_problem
from litert_build.config.models_yaml import load_manifest
from litert_build.errors import ManifestError
from litert_build.plan.specs import make_plan
from litert_build.store.artifact_cache import ArtifactCache
from litert_build.store.safepath import UnsafePath

MANIFEST = """
schema: 1
executor: {scheduler: "tcp://10.0.0.5:8786"}
models:
  m:
    version: "1"
    source: {builder: mods:build}
    variants: {float32: {}, npu: {kind: aot, base: float32, targets: [qualcomm/SM8650]}}
"""


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "mods.py", "def build():\n    return None\n")
    write(tmp_path / "models.yaml", MANIFEST)
    return tmp_path


def test_the_scheduler_comes_from_the_environment_then_models_yaml(project, monkeypatch):
    manifest = load_manifest(project / "models.yaml")
    assert manifest.scheduler == "tcp://10.0.0.5:8786"
    monkeypatch.delenv(connect.SCHEDULER_ENV, raising=False)
    assert connect.scheduler_address(manifest.scheduler) == "tcp://10.0.0.5:8786"
    monkeypatch.setenv(connect.SCHEDULER_ENV, "tcp://other:8786")
    assert connect.scheduler_address(manifest.scheduler) == "tcp://other:8786"
    monkeypatch.setenv(connect.SCHEDULER_ENV, "off")
    assert connect.scheduler_address(manifest.scheduler) is None
    monkeypatch.delenv(connect.SCHEDULER_ENV)
    assert connect.scheduler_address(None) is None


def test_a_misspelt_executor_field_is_located(tmp_path):
    write(tmp_path / "models.yaml", MANIFEST.replace("scheduler:", "schedular:"))
    with pytest.raises(ManifestError) as raised:
        load_manifest(tmp_path / "models.yaml")
    assert str(raised.value).startswith("models.yaml:2:")
    assert "field 'executor.schedular'" in str(raised.value)
    assert "Did you mean 'scheduler'?" in str(raised.value)


def test_aot_targets_and_files_outside_the_project_convert_here(project):
    plan = make_plan(project / "models.yaml")
    by_variant = {spec.variant: spec.to_json() for spec in plan.specs}
    assert remote_problem(by_variant["float32"]) is None
    assert "AOT" in remote_problem(by_variant["npu.qualcomm_SM8650"])
    outside = dict(by_variant["float32"], input_hashes={"/etc/hostname": "0", "settings": "1"})
    assert "outside the project" in remote_problem(outside)


def test_version_difference_names_every_tool_that_differs():
    ours = {"keras": "3.15.1", "tensorflow": "2.21.0", "python": "3.11.7"}
    theirs = {"keras": "3.14.0", "tensorflow": "2.21.0", "python": "3.12.1", "extra": "1"}
    assert connect.version_difference(ours, theirs) == (
        "extra not installed here, 1 there; keras 3.15.1 here, 3.14.0 there; "
        "python 3.11.7 here, 3.12.1 there")


def test_inputs_go_up_by_content_once_and_come_down_checked(tmp_path):
    project = tmp_path / "project"
    write(project / "zoo.py", "print('hi')\n")
    write(project / "data" / "x.txt", "data\n")
    cache = ArtifactCache((tmp_path / "store").as_uri())
    digests = upload(cache, project, ["zoo.py", "data/x.txt", "zoo.py"])
    assert digests["zoo.py"] == hashlib.sha256(b"print('hi')\n").hexdigest()
    for name, digest in digests.items():
        assert cache.fs.cat_file(cache.input_path(digest)) == (project / name).read_bytes()

    blobs, scratch = tmp_path / "blobs", tmp_path / "scratch"
    materialize(cache, digests, blobs, scratch)
    assert (scratch / "data" / "x.txt").read_text() == "data\n"
    assert os.stat(scratch / "zoo.py").st_ino == os.stat(blobs / digests["zoo.py"]).st_ino  # linked
    assert not os.access(blobs / digests["zoo.py"], os.W_OK) or os.geteuid() == 0
    assert oct(os.stat(blobs / digests["zoo.py"]).st_mode & 0o777) == "0o444"

    # A second task of the model downloads nothing: the worker's copy serves it.
    cache.fs.rm(cache.input_path(digests["zoo.py"]))
    materialize(cache, {"zoo.py": digests["zoo.py"]}, blobs, tmp_path / "scratch2")
    assert (tmp_path / "scratch2" / "zoo.py").read_text() == "print('hi')\n"


def test_materialize_refuses_escaping_names_bad_digests_and_wrong_bytes(tmp_path):
    project = tmp_path / "project"
    write(project / "zoo.py", "x = 1\n")
    cache = ArtifactCache((tmp_path / "store").as_uri())
    digest = upload(cache, project, ["zoo.py"])["zoo.py"]
    blobs = tmp_path / "blobs"
    for name in ("../outside.py", "/etc/passwd", "a/../../b"):
        with pytest.raises(UnsafePath):
            materialize(cache, {name: digest}, blobs, tmp_path / "scratch")
    assert not (tmp_path / "outside.py").exists()
    with pytest.raises(InputUnavailable, match="not a sha256"):
        materialize(cache, {"zoo.py": "../../etc"}, blobs, tmp_path / "scratch")
    missing = hashlib.sha256(b"never uploaded").hexdigest()
    with pytest.raises(InputUnavailable, match="is not in"):
        materialize(cache, {"zoo.py": missing}, blobs, tmp_path / "scratch")
    # Another machine wrote other bytes under the digest: refused, and nothing kept.
    cache.fs.makedirs(cache.input_path(missing).rsplit("/", 1)[0], exist_ok=True)
    cache.fs.pipe_file(cache.input_path(missing), b"tampered")
    with pytest.raises(InputUnavailable, match="holds sha256"):
        materialize(cache, {"zoo.py": missing}, blobs, tmp_path / "scratch")
    assert sorted(p.name for p in blobs.iterdir()) == []
    assert not (tmp_path / "scratch" / "zoo.py").exists()


def test_cache_info_counts_cluster_inputs_and_gc_evicts_the_oldest(tmp_path):
    project = tmp_path / "project"
    write(project / "old.bin", "o" * 1000)
    write(project / "new.bin", "n" * 3000)
    cache = ArtifactCache(str(tmp_path / "store"))
    digests = upload(cache, project, ["old.bin"])
    os.utime(cache.input_path(digests["old.bin"]), (1_000_000, 1_000_000))  # long unused
    digests |= upload(cache, project, ["new.bin"])
    info = cache.info()
    assert info["inputs"] == 2 and info["bytes"] == 4000
    assert cache.gc(3500) == (0, 1, 3000)  # the older input goes first
    assert not cache.fs.exists(cache.input_path(digests["old.bin"]))
    assert cache.fs.exists(cache.input_path(digests["new.bin"]))
