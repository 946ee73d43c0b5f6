""".keras files saved under the JAX and torch backends convert (the worker always uses TensorFlow),
and the .tflite computes what the saving backend's Keras model computed. Both models are built in
one project and one run; each test skips only when its backend is not installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from shared.project import build_project, load_json, run_python

# Every weight is set from a seeded generator (BatchNormalization's moving statistics included), so
# that a weight read in the wrong layout, or left at its initial value, changes the output; the
# reference prediction on a fixed input is computed under the saving backend.
SAVE = '''
import sys
import keras
import numpy as np
assert keras.backend.backend() == sys.argv[1]
keras.utils.set_random_seed(4)
if sys.argv[1] == "jax":  # a small policy MLP
    x = keras.Input((6,), name="sensor")
    y = keras.layers.Dense(8, activation="tanh")(x)
    model = keras.Model(x, keras.layers.Dense(2, name="action")(y))
else:  # a small conv net a torch user might build
    x = keras.Input((8, 8, 3), name="image")
    y = keras.layers.Conv2D(6, 3, padding="same")(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.ReLU()(y)
    y = keras.layers.Conv2D(4, 3, strides=2)(y)
    y = keras.layers.GlobalAveragePooling2D()(y)
    y = keras.layers.LayerNormalization()(y)
    model = keras.Model(x, keras.layers.Dense(3, name="logits")(y))
rng = np.random.default_rng(4)
for layer in model.layers:
    layer.set_weights([
        rng.uniform(0.5, 1.5, w.shape).astype("float32") if "variance" in w.path
        else rng.standard_normal(w.shape).astype("float32") * 0.5
        for w in layer.weights
    ])
model.save(f"{sys.argv[1]}_model.keras")
sample = rng.standard_normal((1, *model.inputs[0].shape[1:])).astype("float32")
np.save(f"{sys.argv[1]}_input.npy", sample)
np.save(f"{sys.argv[1]}_expected.npy", keras.ops.convert_to_numpy(model(sample, training=False)))
'''
NAMES = {"jax": ("sensor", "action"), "torch": ("image", "logits")}
INSTALLED = [b for b in NAMES if importlib.util.find_spec(b) is not None]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = tmp_path_factory.mktemp("backends")
    for backend in INSTALLED:
        run_python(project, SAVE, backend, backend=backend)
    models = "".join(f"  {b}: {{version: '1', source: {{keras: {b}_model.keras}}}}\n" for b in INSTALLED)
    # The user's shell says the saving backend: the worker must use TensorFlow all the same.
    env = {"KERAS_BACKEND": INSTALLED[-1]} if INSTALLED else None
    return build_project(project, {"models.yaml": f"schema: 1\nmodels:\n{models}"}, env=env)


@pytest.mark.parametrize("backend", list(NAMES))
def test_a_model_saved_under_another_backend_converts_and_matches(built, backend):
    from ai_edge_litert.interpreter import Interpreter

    if backend not in INSTALLED:
        pytest.skip(f"{backend} is not installed")
    project, result = built
    assert result.returncode == 0, result.output
    folder = project / f"artifacts/{backend}/1"
    meta = load_json(folder / f"{backend}.float32.json")
    assert meta["verification"]["status"] == "passed"
    sig = meta["signatures"]["serving_default"]
    input_name, output_name = NAMES[backend]
    assert [i["name"] for i in sig["inputs"]] == [input_name]
    assert [o["name"] for o in sig["outputs"]] == [output_name]
    # Independently of the worker: the .tflite against the prediction made under that backend.
    tflite = (folder / f"{backend}.float32.tflite").read_bytes()
    got = Interpreter(model_content=tflite).get_signature_runner()(
        **{input_name: np.load(project / f"{backend}_input.npy")})[output_name]
    expected = np.load(project / f"{backend}_expected.npy")
    assert got.shape == expected.shape
    assert np.abs(expected).max() > 0.1  # not a degenerate (all-zero) output
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
