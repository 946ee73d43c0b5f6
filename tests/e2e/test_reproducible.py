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

from shared.project import REPO, copy_example, load_json, run_build, write, write_project
from shared.zoo import ALPHA_BETA_PROJECT, DENSE, module

from litert_build.store.artifact_cache import ArtifactCache


def project_at(path: Path) -> Path:
    return write_project(path, ALPHA_BETA_PROJECT)


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
    assert "  same weights, different conversion (weights digest " in bad.output  # the why
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
    procs = [subprocess.Popen([sys.executable, "-m", "litert_build.cli.main"], cwd=project, env=env,
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
        proc = subprocess.Popen([sys.executable, "-m", "litert_build.cli.main"], cwd=project, env=env,
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


# ------------------------------------------------------------------ across machines


ONEDNN_CAPPED = {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "SSE41"}


def test_example_is_byte_identical_under_another_instruction_set(example_project, tmp_path):
    """TensorFlow's oneDNN kernels off and capped to SSE4.1, a stand-in for another CPU: the
    example ships its trained weights, so every artifact, manifest, provenance statement and
    bundle has the same bytes as the normal build (training here would not: its numerics follow
    the CPU)."""
    project = copy_example(tmp_path / "capped")
    capped = run_build(project, env={**ONEDNN_CAPPED, "LITERT_BUILD_CACHE": "off"})
    assert capped.returncode == 0, capped.output
    assert len(capped.converted) == 8, capped.output  # converted here, nothing restored

    normal_root, capped_root = example_project / "artifacts", project / "artifacts"
    files = sorted(p.relative_to(normal_root).as_posix() for p in normal_root.rglob("*")
                   if p.is_file() and not p.name.startswith("report"))
    assert sorted(p.relative_to(capped_root).as_posix() for p in capped_root.rglob("*")
                  if p.is_file() and not p.name.startswith("report")) == files
    assert {"digits/1.0.0/digits.float32.tflite", "digits/1.0.0/digits.int8.json",
            "digits/1.0.0/digits.int8.intoto.json", "bundles/mobile-1.0.0.tar.gz",
            "bundles/everything-1.0.0.zip"} <= set(files)
    differ = [f for f in files if (normal_root / f).read_bytes() != (capped_root / f).read_bytes()]
    assert differ == [], f"differ under {ONEDNN_CAPPED}: {differ}"

    # The manifest records the digest of the weights as loaded from source.weights.
    from examples.models import digits_classifier
    from litert_build.worker.weights import weights_sha256

    model = digits_classifier()
    model.load_weights(REPO / "examples/weights/digits.weights.h5")
    digits = load_json(normal_root / "digits/1.0.0/digits.float32.json")
    assert digits["weights_sha256"] == weights_sha256(model)
    assert digits["inputs_xxh3"]["examples/weights/digits.weights.h5"]  # its bytes are in the key
    for variant in ("int8", "float16"):  # one digest per model, whatever the variant
        meta = load_json(normal_root / f"digits/1.0.0/digits.{variant}.json")
        assert meta["weights_sha256"] == digits["weights_sha256"]
    other = digits_classifier()
    other.set_weights([w * 0 for w in model.get_weights()])
    assert weights_sha256(other) != digits["weights_sha256"]


SEEDED_BY_ENV = module(DENSE, '''
def model():
    # Weights that depend on the machine: a stand-in for training whose numerics follow the CPU.
    keras.utils.set_random_seed(int(os.environ.get("ZOO_WEIGHTS_SEED", "0")))
    return dense()
''')


def test_verify_says_when_the_builder_made_other_weights(tmp_path):
    project = tmp_path / "p"
    write(project / "zoo.py", SEEDED_BY_ENV)
    write(project / "models.yaml", """
        schema: 1
        models:
          gamma:
            version: "1"
            source: {builder: zoo:model}
        """)
    assert run_build(project, env={"ZOO_WEIGHTS_SEED": None}).returncode == 0
    built = load_json(project / "artifacts/gamma/1/gamma.float32.json")["weights_sha256"]
    other = run_build(project, "verify", env={"ZOO_WEIGHTS_SEED": "1"})
    assert other.returncode == 1, other.output
    lines = other.output.splitlines()
    at = lines.index("gamma:float32: DIFFERS from artifacts/gamma/1/")
    reason = lines[at + 1]
    assert reason.startswith(f"  the builder produced different weights (digest {built[:16]} vs "), reason
    assert reason.endswith("): it is not deterministic on this machine"), reason
    rebuilt = reason.split(" vs ")[1].split(")")[0]
    assert len(rebuilt) == 16 and rebuilt != built[:16]
    # The first-difference lines follow.
    assert "gamma.float32.tflite: first difference at byte " in other.output
    assert "gamma.float32.json: first difference at byte " in other.output
    assert "same weights" not in other.output
