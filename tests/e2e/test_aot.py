"""kind: aot — compiled NPU artifacts: a real Intel OpenVINO (CPU device) compile through doit,
run with CompiledModel against its base; missing and empty vendor SDKs (test doubles) fail only
their target; target names and errors; rebuilt only when the base changes."""

from __future__ import annotations

import hashlib
import os

import pytest
from shared.project import build_project, load_json, manifest_of, run_build

ZOO = '''
import keras

SEED = 5


def mlp():
    keras.utils.set_random_seed(SEED)
    x = keras.Input((64,), name="x")
    h = keras.layers.Dense(128, activation="relu")(x)
    return keras.Model(x, keras.layers.Dense(10, name="logits")(h))
'''

MANIFEST = '''
schema: 1
models:
  mlp:
    version: "1"
    source: {builder: zoo:mlp}
    variants:
      float32: {}
      dynamic_range: {}
      npu:
        kind: aot
        base: float32
        targets: [intel_openvino/LNL, qualcomm/SM8650, mediatek/MT6989, google_tensor/Tensor_G4]
        backend_options: {intel_openvino_graph_backends: cpu}
      npu_dr:
        kind: aot
        base: dynamic_range
        targets: [intel_openvino/PTL]
        backend_options: {intel_openvino_graph_backends: cpu}
  wrong:
    version: "1"
    source: {builder: zoo:mlp}
    variants:
      bad_soc: {kind: aot, base: float32, targets: [qualcomm/SM9999]}
      bad_base: {kind: aot, base: int8, targets: [intel_openvino/LNL]}
'''

# Test doubles for vendor SDK packages, which download the real SDK at install time: mediatek's
# installed empty (its download failed), google_tensor's "installed" with a library that is
# not a real SDK, so the real compiler plugin runs and fails.
FAKE_SDKS = {
    "ai_edge_litert_sdk_mediatek/__init__.py":
        "import pathlib\n\ndef path_to_sdk_libs(*args):\n"
        "    return pathlib.Path(__file__).parent / 'data'\n",
    "ai_edge_litert_sdk_mediatek/data/README": "the download failed\n",
    "ai_edge_litert_sdk_google_tensor/__init__.py":
        "import pathlib\n\ndef path_to_sdk_libs(*args):\n"
        "    return pathlib.Path(__file__).parent / 'lib'\n",
    "ai_edge_litert_sdk_google_tensor/lib/liblitert_plugin_compiler.so": "not an ELF file\n",
}


def env_for(project):
    return {"PYTHONPATH": os.pathsep.join([str(project / "fake_sdks"), os.environ.get("PYTHONPATH", "")])}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("aot")
    sdks = {f"fake_sdks/{rel}": text for rel, text in FAKE_SDKS.items()}
    return build_project(folder, {"zoo.py": ZOO, "models.yaml": MANIFEST, **sdks}, env=env_for(folder))


def test_targets_are_tasks(project):
    folder, _ = project
    listing = run_build(folder, "list", "--all").output
    for task in ("npu.intel_openvino_LNL", "npu.qualcomm_SM8650", "npu.mediatek_MT6989",
                 "npu.google_tensor_Tensor_G4", "npu_dr.intel_openvino_PTL"):
        assert f"convert:mlp:{task}" in listing


def test_openvino_cpu_compile_runs_with_compiled_model(project):
    folder, result = project
    # OpenVINO runs a float model exactly as the interpreter does; a dynamic-range model it
    # runs with float weights (dequantized), so it differs by the int8 rounding.
    cases = (("npu.intel_openvino_LNL", "float32", 1e-5),
             ("npu_dr.intel_openvino_PTL", "dynamic_range", 5e-2))
    for variant, base, bound in cases:
        m = manifest_of(folder, "mlp", variant)
        assert m["kind"] == "aot" and m["runtime"] == "dispatch", result.output
        assert "CompiledModel" in m["runtime_api"] and "Interpreter cannot" in m["runtime_api"]
        assert m["ops"]["custom"] == {"DISPATCH_OP": 1}
        aot = m["aot"]
        assert (aot["vendor"], aot["base_variant"]) == ("intel_openvino", base)
        assert aot["base_sha256"] == manifest_of(folder, "mlp", base)["artifact"]["sha256"]
        assert aot["offload"]["ops_offloaded"] == aot["offload"]["ops_total"] > 0
        assert aot["compiler"]["openvino"] == "2026.3.1"
        verification = m["verification"]
        assert verification["status"] == "passed"
        assert verification["runtime"] == "ai_edge_litert.compiled_model.CompiledModel"
        assert max(o["max_abs_error"] for o in verification["outputs"].values()) < bound
    assert "verified with CompiledModel against float32" in result.output
    statement = load_json(folder / "artifacts/mlp/1/mlp.npu.intel_openvino_LNL.intoto.json")
    deps = {d["name"]: d["digest"]["sha256"] for d in
            statement["predicate"]["buildDefinition"]["resolvedDependencies"]}
    base_json = folder / "artifacts/mlp/1/mlp.float32.json"
    base_sha256 = manifest_of(folder, "mlp", "float32")["artifact"]["sha256"]
    assert deps == {"artifacts/mlp/1/mlp.float32.tflite": base_sha256,
                    "artifacts/mlp/1/mlp.float32.json": hashlib.sha256(base_json.read_bytes()).hexdigest()}


def test_missing_and_empty_sdks_fail_only_their_target(project):
    folder, result = project
    out = result.output
    assert result.returncode != 0
    assert ("mlp:npu.qualcomm_SM8650: target qualcomm: its SDK is not installed. pip install "
            "'ai-edge-litert-sdk-qualcomm==2.3.*'") in out
    assert ("mlp:npu.mediatek_MT6989: target mediatek: the SDK package ai_edge_litert_sdk_mediatek "
            "is installed but holds no SDK libraries") in out
    assert ("mlp:npu.google_tensor_Tensor_G4: target google_tensor/Tensor_G4: the compiler plugin "
            "failed") in out
    for variant in ("npu.qualcomm_SM8650", "npu.mediatek_MT6989", "npu.google_tensor_Tensor_G4"):
        assert not (folder / f"artifacts/mlp/1/mlp.{variant}.tflite").exists()  # no pass-through
    assert (folder / "artifacts/mlp/1/mlp.npu.intel_openvino_LNL.tflite").is_file()  # keep going


def test_manifest_errors_name_the_target_and_base(project):
    _, result = project
    assert ("model 'wrong', variant 'bad_soc', field 'targets[0]': unknown qualcomm SoC 'SM9999'. "
            "Known: SA8255") in result.output
    assert ("model 'wrong', variant 'bad_base', field 'base': base 'int8' is not a (non-aot) "
            "variant of this model.") in result.output


def test_rebuilt_only_when_the_base_changes(project):
    folder, _ = project
    again = run_build(folder, "convert:mlp:float32", "convert:mlp:npu.intel_openvino_LNL",
                      env=env_for(folder))
    assert again.executed == [], again.output
    zoo = folder / "zoo.py"
    zoo.write_text(zoo.read_text().replace("SEED = 5", "SEED = 6"))
    changed = run_build(folder, "convert:mlp:npu.intel_openvino_LNL", env=env_for(folder))
    assert changed.returncode == 0, changed.output
    assert changed.converted == ["mlp:float32", "mlp:npu.intel_openvino_LNL"], changed.output
    assert manifest_of(folder, "mlp", "npu.intel_openvino_LNL")["aot"]["base_sha256"] == manifest_of(
        folder, "mlp", "float32")["artifact"]["sha256"]
