"""Warm workers: the conversions of a run are forks of one zygote that imported TensorFlow once;
the bytes do not depend on it, and nothing outlives a killed build."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shared.project import cli_env, run_build, write_project
from shared.zoo import ALPHA, BETA, module

PARENT_RECORDING = '''
def recorded(name):
    """Write this process's parent pid (the zygote, when warm) next to models.yaml."""
    with open(f"parent-{name}.txt", "w") as fh:
        fh.write(str(os.getppid()))
    return {"alpha": alpha, "beta": beta}[name]()


def alpha_recorded():
    return recorded("alpha")


def beta_recorded():
    return recorded("beta")


def slow():
    """Blocks in the builder until the test kills the build."""
    import time

    with open("slow-started.txt", "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(600)
'''

MANIFEST = """
schema: 1
models:
  alpha: {version: "1", source: {builder: zoo:alpha_recorded}, variants: {float32: {}, float16: {}}}
  beta: {version: "2", source: {builder: zoo:beta_recorded}}
"""


def _project(folder: Path) -> Path:
    return write_project(folder, {"zoo.py": module(ALPHA, BETA, PARENT_RECORDING), "models.yaml": MANIFEST})


def _digests(project: Path) -> dict[str, str]:
    return {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((project / "artifacts").rglob("*"))
            if p.is_file() and p.suffix in (".tflite", ".json") and "report" not in p.name}


def test_one_zygote_serves_the_run_and_the_bytes_are_those_of_cold_workers(tmp_path):
    warm = _project(tmp_path / "warm")
    result = run_build(warm, "convert", env={"LITERT_BUILD_CACHE": "off"})
    assert result.returncode == 0, result.output
    parents = {(warm / f"parent-{name}.txt").read_text() for name in ("alpha", "beta")}
    assert len(parents) == 1, "every conversion forked from the same warm process"
    cold = _project(tmp_path / "cold")
    result = run_build(cold, "convert", env={"LITERT_BUILD_CACHE": "off", "LITERT_BUILD_ZYGOTE": "0"})
    assert result.returncode == 0, result.output
    warm_files, cold_files = _digests(warm), _digests(cold)
    assert len(warm_files) == 9  # 3 artifacts, their manifests and provenance statements
    assert warm_files == cold_files


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is ``folder`` (the zygote and its children run there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_killing_the_build_alone_takes_its_zygote_and_worker_with_it(tmp_path):
    project = write_project(tmp_path / "p", {
        "zoo.py": module(ALPHA, BETA, PARENT_RECORDING),
        "models.yaml": 'schema: 1\nmodels:\n  slow: {version: "1", source: {builder: zoo:slow}}\n'})
    build = subprocess.Popen([sys.executable, "-m", "litert_build.cli.main", "convert"], cwd=project,
                             env=cli_env(project), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = project / "slow-started.txt"
    for _ in range(600):  # the worker is inside the builder (at most a minute on a busy machine)
        if started.is_file() or build.poll() is not None:
            break
        time.sleep(0.1)
    assert started.is_file(), "the slow builder never ran"
    worker = int(started.read_text())
    assert worker in _processes_in(project.resolve())
    os.kill(build.pid, signal.SIGKILL)  # only the build process, as an OOM killer would
    build.wait()
    for _ in range(100):
        if not _processes_in(project.resolve()):
            break
        time.sleep(0.1)
    assert _processes_in(project.resolve()) == [], "a zygote or worker outlived its build"
