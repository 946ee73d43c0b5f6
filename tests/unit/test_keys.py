"""Cache keys: one spelling per settings value, and a build's key moves with exactly what shapes
its artifact (litert_build.plan.keys, through make_plan)."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import xxhash
from shared.project import write_project
from shared.zoo import ALPHA_BETA

from litert_build.plan.keys import canonical_json, settings_digest
from litert_build.plan.specs import make_plan

VALUE = {"b": [1, 2.5, "x", None, True], "a": {"z": 1, "é": "ü"}}


def test_canonical_json_is_one_spelling():
    assert canonical_json(VALUE) == '{"a":{"z":1,"\\u00e9":"\\u00fc"},"b":[1,2.5,"x",null,true]}'
    reordered = {"a": {"é": "ü", "z": 1}, "b": [1, 2.5, "x", None, True]}
    assert canonical_json(reordered) == canonical_json(VALUE)  # key order never matters


@pytest.mark.parametrize("other", [
    {**VALUE, "b": [2.5, 1, "x", None, True]},  # list order does
    {**VALUE, "b": [1.0, 2.5, "x", None, True]},  # 1 and 1.0 are other settings
    {**VALUE, "b": ["1", 2.5, "x", None, True]},
    {**VALUE, "b": [1, 2.5, "x", None, 1]},  # true is not 1
    {**VALUE, "c": None},  # a new key, even null
    {"a": VALUE["a"]},
])
def test_settings_digest_tells_values_apart(other):
    assert settings_digest(other) != settings_digest(VALUE)


def test_settings_digest_is_xxh3_of_the_canonical_json_and_stable():
    assert settings_digest(VALUE) == xxhash.xxh3_128_hexdigest(canonical_json(VALUE).encode())
    # Pinned: a new spelling or hash would silently invalidate every artifact cache entry.
    assert settings_digest(VALUE) == "009e6deba8c4537d38c2cb0ceae08e5f"
    assert settings_digest({}) == "dc7048f8f8747f561349cde127705c16"


MANIFEST = """
schema: 1
models:
  alpha:
    version: "1"
    source: {builder: zoo:alpha, weights: w/alpha.bin}
    calibration: {npz: calib.npz}
    verify: {samples: %(samples)d}
    variants: {float32: {}, int8: {}}
  beta:
    version: "%(beta_version)s"
    source: {builder: zoo:beta}
"""


def project(folder, samples=8, beta_version="2"):
    write_project(folder, {"zoo.py": ALPHA_BETA,
                           "models.yaml": MANIFEST % {"samples": samples, "beta_version": beta_version}})
    if not (folder / "w").exists():
        (folder / "w").mkdir()
        (folder / "w/alpha.bin").write_bytes(b"weights v1")
        np.savez(folder / "calib.npz", x=np.random.default_rng(0).standard_normal((4, 4)))
    return folder


def keys(folder) -> dict[str, str]:
    plan = make_plan(folder / "models.yaml")
    assert all(spec.error is None for spec in plan.specs), [s.error for s in plan.specs]
    return {spec.task_name: spec.cache_key for spec in plan.specs}


def test_keys_cover_the_settings_and_files_each_build_reads(tmp_path):
    folder = project(tmp_path / "p")
    plan = make_plan(folder / "models.yaml")
    specs = {spec.task_name: spec for spec in plan.specs}
    assert set(specs) == {"alpha:float32", "alpha:int8", "beta:float32"}
    assert set(specs["alpha:float32"].input_hashes) == {"zoo.py", "w/alpha.bin", "settings"}
    assert set(specs["alpha:int8"].input_hashes) == {"zoo.py", "w/alpha.bin", "calib.npz", "settings"}
    assert set(specs["beta:float32"].input_hashes) == {"zoo.py", "settings"}
    for spec in specs.values():
        assert spec.input_hashes["settings"] == spec.settings_hash
        assert len(spec.cache_key) == 32 and int(spec.cache_key, 16) >= 0
    assert len({spec.cache_key for spec in specs.values()}) == 3


def test_a_settings_change_changes_only_that_specs_key(tmp_path):
    before = keys(project(tmp_path / "p"))
    after = keys(project(tmp_path / "p", beta_version="2.1"))
    assert after["beta:float32"] != before["beta:float32"]
    assert {t: k for t, k in after.items() if t != "beta:float32"} == {
        t: k for t, k in before.items() if t != "beta:float32"}
    # A model-level setting reaches every variant of that model, and only those.
    third = keys(project(tmp_path / "p", samples=9, beta_version="2.1"))
    assert third["alpha:float32"] != after["alpha:float32"] and third["alpha:int8"] != after["alpha:int8"]
    assert third["beta:float32"] == after["beta:float32"]


def test_file_bytes_change_only_the_keys_of_the_builds_that_read_them(tmp_path):
    folder = project(tmp_path / "p")
    before = keys(folder)
    # (Each rewrite changes the size too: a same-size rewrite within one file-time tick is
    # invisible to any stat fingerprint on kernels with coarse timestamps.)
    np.savez(folder / "calib.npz", x=np.random.default_rng(1).standard_normal((5, 4)))
    calibrated = keys(folder)
    assert [t for t in before if calibrated[t] != before[t]] == ["alpha:int8"]
    (folder / "w/alpha.bin").write_bytes(b"weights v2.0")
    reweighted = keys(folder)
    assert [t for t in before if reweighted[t] != calibrated[t]] == ["alpha:float32", "alpha:int8"]
    (folder / "zoo.py").write_text((folder / "zoo.py").read_text() + "\n# a comment\n")
    assert all(v != reweighted[t] for t, v in keys(folder).items())  # the builder module: all


def test_keys_ignore_the_folder_and_file_times(tmp_path):
    folder = project(tmp_path / "p")
    before = keys(folder)
    clone = tmp_path / "elsewhere" / "clone"
    shutil.copytree(folder, clone, ignore=shutil.ignore_patterns(".litert-build"))
    assert keys(clone) == before  # a fresh clone restores from a shared cache
    later = (folder / "w/alpha.bin").stat().st_mtime + 60
    os.utime(folder / "w/alpha.bin", (later, later))  # touched, same bytes
    assert keys(folder) == before
