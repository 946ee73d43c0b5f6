"""Quantized variants end to end: every kind builds, runs in the stock interpreter, is within
its tolerance and has the expected size; int8 I/O types; strict and int16x8 failures; eval
gates; calibration changes rebuild only calibrated variants; rebuilds are byte-identical."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from shared.project import artifact, load_json, manifest_of, run_build, write_project
from shared.zoo import WIDE, module

ZOO = module(WIDE, '''
def normed():
    """A LayerNormalization float island between integer-friendly layers."""
    keras.utils.set_random_seed(22)
    x = keras.Input((64,), name="x")
    h = keras.layers.Dense(64, activation="relu")(x)
    h = keras.layers.LayerNormalization()(h)
    return keras.Model(x, keras.layers.Dense(10, name="logits")(h))
''', '''
def eval_targets():
    """Labels equal to the float model's own outputs: float mse is 0, any variant's is > 0."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 64)).astype("float32")
    return {"x": x, "target": keras.ops.convert_to_numpy(wide()(x))}
''')

MANIFEST = '''
schema: 1
models:
  wide:
    version: "1"
    source: {builder: zoo:wide}
    calibration: {npz: calib.npz, samples: 100}
    variants:
      float32: {}
      dynamic_range: {}
      float16: {}
      int8: {}
      int8_i8: {kind: int8, io: int8}
      int8_u8: {kind: int8, io: uint8}
      int16x8: {}
      int8_gated:
        kind: int8
        eval: {builder: "zoo:eval_targets", labels: target, metric: mse, max_drop: 0.0}
  normed:
    version: "1"
    source: {builder: zoo:normed}
    calibration: {npz: calib.npz}
    variants:
      int8: {}
      int8_strict: {kind: int8, strict: true}
      int16x8: {}
  badcalib:
    version: "1"
    source: {builder: zoo:wide}
    variants:
      int8: {calibration: {npz: wrong.npz}}
'''

CALIBRATED = ["int8", "int8_i8", "int8_u8", "int16x8", "int8_gated"]


def write_calibration(project, seed):
    rng = np.random.default_rng(seed)
    np.savez(project / "calib.npz", x=rng.standard_normal((120, 64)).astype("float32"))


@pytest.fixture(scope="module")
def variants_project(tmp_path_factory):
    project = write_project(tmp_path_factory.mktemp("variants"), {"zoo.py": ZOO, "models.yaml": MANIFEST})
    write_calibration(project, 0)
    np.savez(project / "wrong.npz", x=np.zeros((10, 32), dtype="float32"))
    return project, run_build(project)


def test_every_kind_builds_verifies_and_records(variants_project):
    project, result = variants_project
    for variant in ["float32", "dynamic_range", "float16", "int8", "int8_i8", "int8_u8", "int16x8"]:
        tflite, manifest = artifact(project, "wide", variant)
        assert tflite.is_file(), result.output
        record = load_json(manifest)
        assert record["kind"] == record["settings"]["kind"]
        assert record["verification"]["status"] == "passed"
        assert record["artifact"]["size"] == len(tflite.read_bytes())
        q = record["quantization"]
        assert q["size_ratio_vs_float32"] == round(record["artifact"]["size"] / q["float32_size"], 4)
    assert manifest_of(project, "wide", "int8")["verification"]["inputs"] == (
        "held-out calibration")


def test_size_ratios(variants_project):
    project, _ = variants_project
    ratio = {v: manifest_of(project, "wide", v)["quantization"]["size_ratio_vs_float32"]
             for v in ["float32", "dynamic_range", "float16", "int8", "int16x8"]}
    assert ratio["float32"] == 1.0
    assert 0.22 < ratio["dynamic_range"] < 0.32
    assert 0.22 < ratio["int8"] < 0.32
    assert 0.45 < ratio["float16"] < 0.55
    assert 0.22 < ratio["int16x8"] < 0.35


def test_full_int8_is_integer_and_hybrids_are_not(variants_project):
    project, _ = variants_project
    assert manifest_of(project, "wide", "int8")["quantization"]["float_ops"] == []
    assert manifest_of(project, "wide", "int8_u8")["quantization"]["float_ops"] == []
    dynamic = manifest_of(project, "wide", "dynamic_range")["quantization"]
    assert "FULLY_CONNECTED" in dynamic["float_ops"]


@pytest.mark.parametrize("variant, dtype", [("int8_i8", "int8"), ("int8_u8", "uint8"), ("int8", "float32")])
def test_int8_io_types_and_results_after_dequantization(variants_project, variant, dtype):
    from ai_edge_litert.interpreter import Interpreter

    project, _ = variants_project
    sig = manifest_of(project, "wide", variant)["signatures"]["serving_default"]
    (inp,), (out,) = sig["inputs"], sig["outputs"]
    assert inp["dtype"] == dtype and out["dtype"] == dtype
    # Independently of the worker: quantize with the recorded params, compare with float32.
    reference = Interpreter(model_content=artifact(project, "wide", "float32")[0].read_bytes())
    quantized = Interpreter(model_content=artifact(project, "wide", variant)[0].read_bytes())
    ref_run, q_run = reference.get_signature_runner(), quantized.get_signature_runner()
    x = np.random.default_rng(9).standard_normal((1, 64)).astype("float32")
    feed = x
    if dtype != "float32":
        (scale,), (zero,) = inp["quantization"]["scales"], inp["quantization"]["zero_points"]
        info = np.iinfo(dtype)
        feed = np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
    y = q_run(x=feed)["probs"]
    if dtype != "float32":
        (scale,), (zero,) = out["quantization"]["scales"], out["quantization"]["zero_points"]
        y = (y.astype("float32") - zero) * scale
    want = ref_run(x=x)["probs"]
    assert np.abs(y - want).mean() < 0.01
    assert y.argmax() == want.argmax()


def test_strict_int8_names_the_float_ops(variants_project):
    project, _ = variants_project
    assert artifact(project, "normed", "int8")[0].is_file()
    islands = manifest_of(project, "normed", "int8")["quantization"]["float_ops"]
    assert islands == ["NEG"]  # LayerNormalization's only op without an int8 kernel here


@pytest.mark.parametrize("model, variant, messages", [
    ("normed", "int8_strict", ["normed:int8_strict: strict int8: these ops stay float: ", "NEG x1"]),
    ("normed", "int16x8", ["normed:int16x8: the model has ops without a 16x8", "NEG", "Use kind: int8"]),
    ("badcalib", "int8", ["array 'x': expected samples of shape ['N', 64]",
                          "got an array of shape [10, 32]"]),
    ("wide", "int8_gated", ["wide:int8_gated: eval mse on 40 labeled samples", "> max_drop 0.0"]),
], ids=["strict-int8", "int16x8-without-kernel", "calibration-shape", "eval-max-drop"])
def test_a_failing_variant_writes_nothing_and_says_why(variants_project, model, variant, messages):
    project, result = variants_project
    assert not artifact(project, model, variant)[0].exists()
    for message in messages:
        assert message in result.output


def test_calibration_change_rebuilds_only_calibrated_variants(variants_project, tmp_path):
    project, _ = variants_project
    # First, the same inputs in another folder and process give byte-identical artifacts.
    twin = tmp_path / "twin"
    shutil.copytree(project, twin, ignore=shutil.ignore_patterns("artifacts", ".litert-build"))
    again = run_build(twin, "convert:wide:int8", "convert:wide:float16")
    assert again.returncode == 0, again.output
    for variant in ["int8", "float16"]:
        for original, copy in zip(artifact(project, "wide", variant), artifact(twin, "wide", variant),
                                  strict=True):
            assert hashlib.sha256(original.read_bytes()).digest() == hashlib.sha256(
                copy.read_bytes()).digest(), original.name

    write_calibration(project, 1)
    rebuilt = run_build(project, *[f"convert:wide:{v}" for v in
                                   ["float32", "dynamic_range", "float16", "int8", "int8_i8", "int8_u8",
                                    "int16x8"]])
    assert rebuilt.returncode == 0, rebuilt.output
    assert sorted(rebuilt.executed) == sorted(
        f"convert:wide:{v}" for v in ["int8", "int8_i8", "int8_u8", "int16x8"])
