"""Infinite constants (litert_build.export.infinities): the converter's clamping pass is skipped
only when no float constant of the traced graph, no captured tensor and no weight is infinite.

In the unit tier: it traces tiny tf.functions in process (importing TensorFlow once, paid by this
file alone); nothing is converted.
"""

from __future__ import annotations

import numpy as np
import pytest

from litert_build.export.infinities import function_has_infinities, weights_have_infinities


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def traced(tf, body, dtype="float32"):
    return tf.function(body, input_signature=[tf.TensorSpec([2, 3], dtype)], autograph=False)


@pytest.mark.parametrize(("name", "has_inf"), [
    ("finite", False),
    ("negative infinity", True),
    ("finite splat", False),
    ("infinite splat", True),
    ("float16", True),
    ("bfloat16", True),
    ("in a nested function", True),
])
def test_graph_constants(tf, name, has_inf):
    inner = tf.function(lambda x: tf.maximum(x, tf.constant([-np.inf, 0.0, 1.0])), autograph=False)
    bodies = {
        "finite": lambda x: tf.maximum(x, tf.constant([-1e30, 0.0, 1.0])),
        "negative infinity": lambda x: tf.maximum(x, tf.constant([-np.inf, 0.0, 1.0])),
        # a splat is stored as one value: the check never expands it to its 16 M elements
        "finite splat": lambda x: x + tf.reduce_sum(tf.constant(3.0, shape=[4096, 4096])),
        "infinite splat": lambda x: x + tf.reduce_sum(tf.constant(np.inf, shape=[4096, 4096])),
        "float16": lambda x: x + tf.cast(tf.constant([1.0, np.inf, 2.0], tf.float16), tf.float32),
        "bfloat16": lambda x: x + tf.cast(tf.constant([1.0, -np.inf, 2.0], tf.bfloat16), tf.float32),
        "in a nested function": lambda x: inner(x),
    }
    assert function_has_infinities(traced(tf, bodies[name])) is has_inf


def test_captured_tensor(tf):
    captured = tf.constant(np.full((2, 3), -np.inf, np.float32))
    assert function_has_infinities(traced(tf, lambda x: tf.maximum(x, captured))) is True
    finite = tf.constant(np.zeros((2, 3), np.float32))
    assert function_has_infinities(traced(tf, lambda x: tf.maximum(x, finite))) is False


def test_integer_constants_do_not_count(tf):
    body = lambda x: x + tf.cast(tf.constant([2**31 - 1, 0, 1]), tf.float32)  # noqa: E731
    assert function_has_infinities(traced(tf, body)) is False


def test_weights():
    import keras

    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    assert weights_have_infinities(layer.weights) is False
    kernel = np.ones((3, 4), np.float32)
    kernel[1, 2] = np.inf
    layer.kernel.assign(kernel)
    assert weights_have_infinities(layer.weights) is True
    assert weights_have_infinities([keras.Variable(np.array([1, 2], np.int32))]) is False


def test_an_infinity_made_by_constant_folding_is_clamped_as_the_stock_converter_does(tf):
    """log(0) of a finite constant: the traced graph holds no infinity, constant folding makes
    one. Without the pass the artifact would keep -inf; the converter sees it in its output and
    converts again with the pass: the same bytes as with the pass from the start."""
    from litert_build.export.converter import Quantization, convert_saved_model, saved_model
    from litert_build.export.infinities import flatbuffer_has_infinities
    from litert_build.export.lean_converter import convert, saved_model_converter

    function = traced(tf, lambda x: tf.maximum(x, tf.math.log(tf.constant([0.0, 1.0, 2.0]))))
    assert function_has_infinities(function) is False
    with saved_model(function, []) as folder:
        converter = saved_model_converter(folder, "serving_default")
        converter.canonicalizing_inf_as_min_max_float = False
        assert flatbuffer_has_infinities(convert(converter)) is True  # the case is real
        skipped = convert_saved_model(folder, {}, "m", "v", Quantization("float32"), finite=True)
        stock = convert_saved_model(folder, {}, "m", "v", Quantization("float32"), finite=False)
    assert skipped == stock
    assert flatbuffer_has_infinities(stock) is False
