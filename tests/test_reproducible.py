"""Reproducibility and crash/concurrency safety: `litert-build verify`, two builds at once,
and kill -9 at random moments."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import load_json, run_build, write
from test_cache import MANIFEST, ZOO

from litert_build.cache import ArtifactCache


def project_at(path: Path) -> Path:
    write(path / "zoo.py", ZOO)
    write(path / "models.yaml", MANIFEST)
    return path


def assert_consistent(project: Path) -> None:
    """Every visible manifest matches the artifact beside it, every provenance statement
    matches its subjects, every visible cache entry matches its digests."""
    from ai_edge_litert.interpreter import Interpreter

    for manifest in (project / "artifacts").rglob("*.float32.json"):
        meta = load_json(manifest)  # parses: not partial
        data = manifest.with_name(meta["artifact"]["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["artifact"]["sha256"], manifest
    for tflite in (project / "artifacts").rglob("*.tflite"):
        Interpreter(model_content=tflite.read_bytes()).allocate_tensors()  # a complete flatbuffer
    _provenance_matches(project)
    cache = project / ".cache"
    if cache.exists():
        checked, bad = ArtifactCache(str(cache)).verify()
        assert bad == [], f"{len(bad)} of {checked} visible cache entries are corrupt"


def test_verify_passes_on_a_clean_build_and_names_the_first_difference(tmp_path):
    project = project_at(tmp_path / "p")
    assert run_build(project).returncode == 0
    ok = run_build(project, "verify")
    assert ok.returncode == 0, ok.output
    assert "alpha:float32: reproduced byte for byte (3 files)" in ok.output
    assert "2 reproduced byte for byte, 0 not" in ok.output

    tflite = project / "artifacts/beta/2/beta.float32.tflite"
    data = bytearray(tflite.read_bytes())
    data[200] ^= 0x01
    tflite.write_bytes(bytes(data))
    bad = run_build(project, "verify", "beta")
    assert bad.returncode == 1, bad.output
    assert "beta:float32: DIFFERS" in bad.output
    assert "beta.float32.tflite: first difference at byte 200" in bad.output
    assert "alpha" not in bad.output  # only what was asked

    missing = run_build(project, "verify", "nope:*")
    assert missing.returncode == 1 and "nothing matches" in missing.output


def _provenance_matches(project: Path) -> None:
    for intoto in (project / "artifacts").rglob("*.intoto.json"):
        statement = json.loads(intoto.read_text())
        for subject in statement["subject"]:
            data = (intoto.parent / subject["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == subject["digest"]["sha256"]


def test_two_concurrent_builds_convert_each_task_once(tmp_path):
    project = project_at(tmp_path / "p")
    env = {**os.environ, "LITERT_BUILD_CACHE": str(project / ".cache")}
    procs = [subprocess.Popen([sys.executable, "-m", "litert_build.cli"], cwd=project, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    both = "\n".join(outputs)
    for task in ("alpha:float32", "beta:float32"):
        assert both.count(f"  {task}: converted: ") == 1, both  # never twice
        # the other run waited for the lock, then reused (or restored) the result
        assert both.count(f"  {task}: ") == 2 or both.count(f"-- convert:{task}") == 1, both
    assert_consistent(project)
    _provenance_matches(project)
    again = run_build(project)
    assert again.executed == [] and len(again.up_to_date) == 2, again.output


def test_kill_9_at_random_moments_leaves_nothing_partial(tmp_path):
    project = project_at(tmp_path / "p")
    env = {**os.environ, "LITERT_BUILD_CACHE": str(project / ".cache")}
    rng = random.Random(7)
    moments = [rng.uniform(0.5, 12.0) for _ in range(5)]
    for i, moment in enumerate(moments):
        proc = subprocess.Popen([sys.executable, "-m", "litert_build.cli"], cwd=project, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(moment)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # doit and its conversion worker, at once
        except ProcessLookupError:
            pass
        proc.wait()
        assert_consistent(project)
        if i < len(moments) - 1:
            # Start the next attempt without artifacts and cache (the state folder stays), so
            # that every kill lands in the middle of real work.
            shutil.rmtree(project / "artifacts", ignore_errors=True)
            shutil.rmtree(project / ".cache", ignore_errors=True)
    final = run_build(project)
    assert final.returncode == 0, final.output
    assert sorted(final.executed) + sorted(final.up_to_date) != [], final.output
    assert_consistent(project)
    assert len(list((project / "artifacts").rglob("*.float32.json"))) == 2
    assert len(list((project / "artifacts").rglob("*.intoto.json"))) == 2
    # Temp files and folders of the killed runs were cleaned up by the last run.
    assert not list((project / "artifacts").rglob("*.tmp"))
    tmp = project / ".litert-build" / "tmp"
    assert not tmp.exists() or not list(tmp.iterdir())
    assert not list((project / ".cache").rglob("*.tmp"))
