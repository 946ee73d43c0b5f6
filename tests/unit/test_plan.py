"""The plan make_plan derives from models.yaml: which artifacts a bundle's include globs pick, how
an aot variant expands into one task per target, and where every artifact goes."""

from __future__ import annotations

import pytest
from shared.project import write_project
from shared.zoo import ALPHA_BETA

from litert_build.plan.specs import BuildSpec, make_plan, matches

MODELS = """
schema: 1
models:
  alpha:
    version: "1"
    source: {builder: zoo:alpha}
    variants:
      float32: {}
      float16: {}
      dynamic_range: {}
      npu:
        kind: aot
        base: float32
        targets: [intel_openvino/LNL, qualcomm/SM8650]
        backend_options: {intel_openvino_graph_backends: cpu}
  beta: {version: "2.0", source: {builder: zoo:beta}}
  broken: {version: "1", source: {builder: zoo:alpha}, variants: {bad: {kind: int3}}}
"""


def plan_of(folder, extra=""):
    write_project(folder, {"zoo.py": ALPHA_BETA, "models.yaml": MODELS + extra})
    return make_plan(folder / "models.yaml")


def bundle(folder, include, name="app", fmt="tar.gz"):
    extra = f"bundles:\n  {name}: {{version: '3.1', format: {fmt}, include: {include}}}\n"
    (spec,) = plan_of(folder, extra).bundles
    return spec


@pytest.mark.parametrize("pattern, picked", [
    ("alpha", True), ("alpha:*", True), ("alpha:float*", True), ("*:float16", True), ("a*:f*16", True),
    ("alpha:float16", True), ("alpha:float", False), ("alph", False), ("beta", False),
    ("Alpha", False),  # case counts, on every platform
    ("alpha:float16:x", False),
])
def test_include_patterns_match_model_and_variant(pattern, picked):
    assert matches(BuildSpec("alpha", "float16"), pattern) is picked


def test_bundle_members_follow_the_include_order_once_each(tmp_path):
    spec = bundle(tmp_path, '["beta", "alpha:float*", "alpha:float32", "*:float16"]')
    assert spec.error is None
    assert [m["task"] for m in spec.members] == ["beta:float32", "alpha:float32", "alpha:float16"]
    beta = spec.members[0]
    assert beta == {"task": "beta:float32", "model": "beta", "variant": "float32", "version": "2.0",
                    "tflite": "artifacts/beta/2.0/beta.float32.tflite",
                    "manifest": "artifacts/beta/2.0/beta.float32.json"}
    assert spec.archive == "artifacts/bundles/app-3.1.tar.gz"


def test_a_bundle_glob_picks_aot_targets_and_zip_names_the_archive(tmp_path):
    spec = bundle(tmp_path, '["alpha:npu.*"]', name="npu", fmt="zip")
    assert [m["variant"] for m in spec.members] == ["npu.intel_openvino_LNL", "npu.qualcomm_SM8650"]
    assert spec.archive == "artifacts/bundles/npu-3.1.zip" and spec.format == "zip"


def test_a_glob_matching_nothing_names_what_exists(tmp_path):
    spec = bundle(tmp_path, '["alpha:int8*"]')
    assert spec.members == [] and "'alpha:int8*' matches no model:variant of this manifest" in spec.error
    assert spec.error.endswith("(alpha:float32, alpha:float16, alpha:dynamic_range, "
                               "alpha:npu.intel_openvino_LNL, alpha:npu.qualcomm_SM8650, beta:float32, "
                               "broken:bad).")
    assert "field 'include[0]'" in spec.error


def test_a_bundle_may_not_include_what_cannot_be_built(tmp_path):
    spec = bundle(tmp_path, '["beta", "broken"]')
    assert "field 'include[1]'" in spec.error
    assert "'broken' includes broken:bad, which cannot be built" in spec.error


def test_aot_expands_to_one_task_per_target_after_its_base(tmp_path):
    plan = plan_of(tmp_path)
    alpha = [s for s in plan.specs if s.model == "alpha"]
    assert [s.variant for s in alpha] == ["float32", "float16", "dynamic_range",
                                          "npu.intel_openvino_LNL", "npu.qualcomm_SM8650"]
    base = alpha[0]
    for spec, target in zip(alpha[3:], ["intel_openvino/LNL", "qualcomm/SM8650"], strict=True):
        assert spec.error is None and spec.kind == "aot"
        assert spec.settings.to_json()["target"] == target and "targets" not in spec.settings.to_json()
        assert spec.settings.to_json()["base_key"] == base.cache_key
        assert spec.after == [base.tflite, base.manifest] == [
            "artifacts/alpha/1/alpha.float32.tflite", "artifacts/alpha/1/alpha.float32.json"]
        assert spec.tflite == f"artifacts/alpha/1/alpha.{spec.variant}.tflite"
        assert spec.settings.to_json()["backend_options"] == {"intel_openvino_graph_backends": "cpu"}
        assert "ai-edge-litert" in spec.settings.to_json()["compiler_versions"]
    assert alpha[3].cache_key != alpha[4].cache_key


def test_an_aot_key_follows_its_base(tmp_path):
    before = {s.variant: s.cache_key for s in plan_of(tmp_path).specs if s.model == "alpha"}
    text = MODELS.replace("      float32: {}\n", "      float32: {verify: {samples: 3}}\n")
    write_project(tmp_path, {"models.yaml": text})
    after = {s.variant: s.cache_key for s in make_plan(tmp_path / "models.yaml").specs if s.model == "alpha"}
    changed = sorted(v for v in before if before[v] != after[v])
    assert changed == ["float32", "npu.intel_openvino_LNL", "npu.qualcomm_SM8650"]


def test_an_aot_variant_without_a_buildable_base_fails_every_target(tmp_path):
    text = MODELS.replace("base: float32", "base: int8")
    write_project(tmp_path, {"zoo.py": ALPHA_BETA, "models.yaml": text})
    specs = {s.variant: s for s in make_plan(tmp_path / "models.yaml").specs if s.model == "alpha"}
    for name in ("npu.intel_openvino_LNL", "npu.qualcomm_SM8650"):
        assert "variant 'npu', field 'base': base 'int8' is not a (non-aot) variant" in specs[name].error
        written = (tmp_path / "models.yaml").read_text().splitlines()
        line = next(i for i, text in enumerate(written, 1) if "base: int8" in text)
        assert specs[name].error.startswith(f"models.yaml:{line}:"), specs[name].error  # located
        assert "Variants: float32, float16, dynamic_range." in specs[name].error
    assert specs["float32"].error is None


def test_artifact_paths_follow_the_artifacts_setting(tmp_path):
    plan = plan_of(tmp_path, "artifacts: out/models\n")
    beta = next(s for s in plan.specs if s.model == "beta")
    assert (beta.tflite, beta.manifest) == ("out/models/beta/2.0/beta.float32.tflite",
                                            "out/models/beta/2.0/beta.float32.json")
    assert plan.artifacts_dir == tmp_path / "out/models"
    assert (beta.root, beta.version) == (str(tmp_path), "2.0")
