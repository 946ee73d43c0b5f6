"""A .keras file saved under the JAX backend converts (the worker always uses TensorFlow)."""

from __future__ import annotations

import importlib.util

import pytest
from shared.project import load_json, run_build, run_python, write

SAVE = '''
import keras
assert keras.backend.backend() == "jax"
keras.utils.set_random_seed(2)
x = keras.Input((6,), name="sensor")
y = keras.layers.Dense(8, activation="tanh")(x)
keras.Model(x, keras.layers.Dense(2, name="action")(y)).save("jax_model.keras")
'''


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_jax_saved_model_converts(tmp_path):
    run_python(tmp_path, SAVE, backend="jax")
    write(tmp_path / "models.yaml", """
        schema: 1
        models:
          policy: {version: "0.1", source: {keras: jax_model.keras}}
    """)
    result = run_build(tmp_path, env={"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.output
    meta = load_json(tmp_path / "artifacts/policy/0.1/policy.float32.json")
    assert meta["verification"]["status"] == "passed"
    sig = meta["signatures"]["serving_default"]
    assert [i["name"] for i in sig["inputs"]] == ["sensor"]
    assert [o["name"] for o in sig["outputs"]] == ["action"]
