"""kind: aeq — ai-edge-quantizer recipes on the float32 artifact: int8 / int4 weights, size ratios,
parity with Keras, which weights were really quantized, and expect_quantized."""

from __future__ import annotations

import json

import pytest
from shared.project import manifest_of, run_build, write_project

ZOO = '''
import keras


def mlp():
    """Weight-dominated: 64-256-256-10 (84k weights) plus a small embedding read by GATHER."""
    keras.utils.set_random_seed(3)
    x = keras.Input((64,), name="x")
    ids = keras.Input((4,), dtype="int32", name="ids")
    emb = keras.layers.Flatten()(keras.layers.Embedding(50, 8)(ids))
    h = keras.layers.Dense(256, activation="relu")(keras.layers.Concatenate()([x, emb]))
    h = keras.layers.Dense(256, activation="relu")(h)
    return keras.Model([x, ids], keras.layers.Dense(10, name="logits")(h))


def lookup():
    """Only an embedding: weight-only recipes find nothing to quantize."""
    keras.utils.set_random_seed(4)
    ids = keras.Input((4,), dtype="int32", name="ids")
    return keras.Model(ids, keras.layers.Flatten(name="vec")(keras.layers.Embedding(300, 16)(ids)))
'''

MANIFEST = '''
schema: 1
defaults:
  verify: {int_range: [0, 50]}
models:
  mlp:
    version: "1"
    source: {builder: zoo:mlp}
    variants:
      float32: {}
      wi8: {kind: aeq, recipe: weight_only_wi8_afp32, expect_quantized: 0.9}
      wi4: {kind: aeq, recipe: weight_only_wi4_afp32, verify: {atol: 0.05}}
      dyn4_b32: {kind: aeq, recipe: recipes/dyn4.json}
      s8: {kind: aeq, recipe: static_wi8_ai8, calibration: {npz: calib.npz, samples: 40}}
      s16_uncalibrated: {kind: aeq, recipe: static_wi8_ai16}
  lookup:
    version: "1"
    source: {builder: zoo:lookup}
    variants:
      wi8: {kind: aeq, recipe: weight_only_wi8_afp32, expect_quantized: 0.5}
  typo:
    version: "1"
    source: {builder: zoo:lookup}
    variants:
      q: {kind: aeq, recipe: weight_only_w4}
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    import numpy as np
    from ai_edge_quantizer import recipe

    recipe_file = json.dumps(recipe.dynamic_wi4b32_afp32())
    folder = write_project(tmp_path_factory.mktemp("aeq"),
                           {"zoo.py": ZOO, "models.yaml": MANIFEST, "recipes/dyn4.json": recipe_file})

    rng = np.random.default_rng(0)
    np.savez(folder / "calib.npz", x=rng.standard_normal((50, 64)).astype("float32"),
             ids=rng.integers(0, 50, size=(50, 4)).astype("int32"))
    return folder, run_build(folder)


def test_int8_and_int4_weights_shrink_and_match_keras(project):
    folder, result = project
    float_size = manifest_of(folder, "mlp", "float32")["artifact"]["size"]
    wi8, wi4, dyn4 = (manifest_of(folder, "mlp", v) for v in ("wi8", "wi4", "dyn4_b32"))
    for m in (wi8, wi4, dyn4):
        assert m["verification"]["status"] == "passed", result.output  # stock interpreter vs Keras
        assert m["quantization"]["float32_size"] == float_size
        assert m["runtime"] == "builtin" and m["flex_ops"] == []
    assert 0.24 < wi8["quantization"]["size_ratio_vs_float32"] < 0.30
    assert 0.12 < wi4["quantization"]["size_ratio_vs_float32"] < 0.18  # ~1/6 on weights
    assert 0.12 < dyn4["quantization"]["size_ratio_vs_float32"] < 0.18
    record = wi4["quantization"]["ai_edge_quantizer"]
    assert record["recipe"] == "weight_only_wi4_afp32"
    assert set(record["quantized"].values()) == {"INT4"} and len(record["quantized"]) == 3
    assert record["skipped_ops"] == {"GATHER": 1}  # the Embedding stays float, and we say so
    assert 0.95 < record["fraction"] < 1.0
    assert "INT8" in wi8["quantization"]["ai_edge_quantizer"]["quantized"].values()
    assert dyn4["inputs_xxh3"]["recipes/dyn4.json"]  # the recipe file is an input


def test_a_recipe_that_quantizes_nothing_fails_expect_quantized(project):
    folder, result = project
    assert result.returncode != 0
    assert not (folder / "artifacts/lookup/1/lookup.wi8.tflite").exists()
    assert ("lookup:wi8: recipe 'weight_only_wi8_afp32' quantized 0.0% of the float weight bytes "
            "(0 of 19,200), less than expect_quantized: 0.5. Weights left float are read by: "
            "GATHER x1.") in result.output


def test_unknown_recipe_is_a_manifest_error(project):
    _, result = project
    assert ("model 'typo', variant 'q', field 'recipe': unknown ai-edge-quantizer recipe "
            "'weight_only_w4'. Did you mean 'weight_only_wi4_afp32'?") in result.output


def test_static_recipe_calibrates_on_the_given_data(project):
    folder, result = project
    m = manifest_of(folder, "mlp", "s8")
    assert m["verification"]["status"] == "passed", result.output
    assert m["verification"]["inputs"] == "held-out calibration"
    assert m["quantization"]["calibration"] == {"available": 50, "used": 40, "held_out_for_verify": 8,
                                                "seed": 0}
    x = m["signatures"]["serving_default"]["inputs"][0]
    assert x["dtype"] == "int8" and x["quantization"]["scales"]  # activations quantized too
    assert ("model 'mlp', variant 's16_uncalibrated', field 'calibration': kind 'aeq' needs "
            "calibration data") in result.output
