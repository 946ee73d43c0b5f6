"""Baseline A of bench/throughput.py: one plain Python process that builds the example's three
models and calls upstream ``model.export(path, format="litert", ...)`` once per variant.

    cd <a copy of the example> && python <repo>/bench/_throughput_baseline.py OUT_FOLDER

Run in a folder holding the example (``models.yaml`` and ``examples/``). No litert-build code,
no verification, no eval, no manifests: only what a user would write by hand. The converter
settings are those litert-build's variant kinds use (``litert_build/config/kinds.py`` and
``export/converter.py``), passed through ``export(format="litert")``'s keyword arguments, which
Keras sets on ``tf.lite.TFLiteConverter`` (``target_spec`` as a dict of its attributes):

* every model: a static batch of 1 (litert-build's ``batch_size: 1``) through ``input_signature``;
* dynamic_range: ``optimizations=[Optimize.DEFAULT]``;
* float16: that and ``target_spec={"supported_types": [tf.float16]}``;
* int8: that and ``representative_dataset`` over the same 200 calibration samples litert-build
  picks (``np.random.default_rng(0).permutation``, the first ``samples``);
  int8_uint8 also ``inference_input_type``/``inference_output_type = tf.uint8``;
* int16x8: ``optimizations``, ``representative_dataset`` and
  ``target_spec={"supported_ops": [EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]}``.

Prints one ``BASELINE <name> <bytes> <seconds>`` line per artifact and ``BASELINE-TOTAL <seconds>``
(seconds inside this process; the caller times the process from outside too).
"""

from __future__ import annotations

import os
import sys
import time

START = time.perf_counter()
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.getcwd())

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from examples import models  # noqa: E402 - the example's builders, from the project copy

CALIBRATION_SAMPLES = 200  # models.yaml: digits.calibration.samples
CALIBRATION_SEED = 0


def spec(shape, dtype="float32", name=None):
    return tf.TensorSpec(shape, getattr(tf, dtype), name=name)


def representative(arrays: np.ndarray):
    order = np.random.default_rng(CALIBRATION_SEED).permutation(len(arrays))
    chosen = [arrays[i][None].astype("float32") for i in order[:CALIBRATION_SAMPLES]]
    return lambda: ([sample] for sample in chosen)


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    default = [tf.lite.Optimize.DEFAULT]
    digits = models.digits_classifier()
    digits.load_weights("examples/weights/digits.weights.h5")
    calibration = representative(models.digits_calibration()["pixels"])
    int16x8 = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    digits_signature = [spec((1, 64), name="pixels")]
    jobs = [
        ("digits.float32", digits, digits_signature, {}),
        ("digits.dynamic_range", digits, digits_signature, {"optimizations": default}),
        ("digits.float16", digits, digits_signature,
         {"optimizations": default, "target_spec": {"supported_types": [tf.float16]}}),
        ("digits.int8", digits, digits_signature,
         {"optimizations": default, "representative_dataset": calibration}),
        ("digits.int8_uint8", digits, digits_signature,
         {"optimizations": default, "representative_dataset": calibration,
          "inference_input_type": tf.uint8, "inference_output_type": tf.uint8}),
        ("digits.int16x8", digits, digits_signature,
         {"optimizations": default, "representative_dataset": calibration,
          "target_spec": {"supported_ops": int16x8}}),
    ]
    ranker = models.listing_ranker()
    jobs.append(("listing_ranker.float32", ranker,
                 [{"price": spec((1, 1), name="price"),
                   "category_id": spec((1, 1), "int32", name="category_id"),
                   "text_features": spec((1, 16), name="text_features")}], {}))
    jobs.append(("residual_mlp.float32", models.residual_mlp(), [spec((1, 12), name="features")], {}))
    for name, model, signature, kwargs in jobs:
        started = time.perf_counter()
        path = os.path.join(out, f"{name}.tflite")
        model.export(path, format="litert", input_signature=signature, verbose=False, **kwargs)
        print(f"BASELINE {name} {os.path.getsize(path)} {time.perf_counter() - started:.3f}", flush=True)
    keras.backend.clear_session()
    print(f"BASELINE-TOTAL {time.perf_counter() - START:.3f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
