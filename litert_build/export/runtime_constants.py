"""Keep shape-derived tensors computed at run time in a static trace (KerasHub models).

With static input shapes Keras sees Python ints for every length, so ``ops.arange(T)`` and
``ops.ones((T, T))`` are graph constants, and TensorFlow's constant folding (at SavedModel import,
before any converter option applies) turns the attention masks and position biases built from them
into constants that grow with the square of the length: a tiny T5 at 1024 tokens is 26 MB, 99.9%
of it folded relative-position biases. Inside :func:`runtime_constants` the backend's
``arange``/``ones``/``zeros``/``full`` add an *opaque zero* to their values (element 0 of a model
input times 0, which no folder can evaluate): the shapes stay static, the values are identical, and
nothing built from them folds. ``tf.linalg.band_part`` (sliding-window masks) is replaced by the same
comparison of run-time iotas, because its lowering stores [M, N] index constants; ``tf.ones_like`` /
``tf.zeros_like`` become run-time fills (Keras' attention starts its mask as a [batch, heads, T, T]
``ones_like``), and a rank-5 comparison with a constant (Keras' Softmax mask, Gemma's 5-D attention)
compares with a run-time scalar, which the converter would otherwise broadcast and store.

The price is computing those tensors on every call (measured on tiny models at 1024 tokens: Bloom
unchanged, a Gemma 2-like model +13%, T5 6.7x); ``fold_masks: true`` keeps them folded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any


def opaque_zero(tensor):
    """An int32 scalar 0 the converter cannot fold: element 0 of a model input times 0."""
    import tensorflow as tf

    first = tf.reshape(tensor, [-1])[:1]
    if first.dtype != tf.int32:
        first = tf.cast(first, tf.int32)
    return tf.reshape(first * 0, [])


@contextlib.contextmanager
def runtime_constants(inputs: Sequence[Any]) -> Iterator[None]:
    """While tracing a serving function on ``inputs`` (its symbolic input tensors): aranges and
    fills stay computed at run time. Every patched function is restored on exit."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import numpy as backend_numpy

    tensors = [t for t in tf.nest.flatten(list(inputs)) if tf.is_tensor(t)]
    if not tensors:
        yield
        return
    zero = opaque_zero(tensors[0])
    names = ("arange", "ones", "zeros", "full", "greater")
    originals = {name: getattr(backend_numpy, name) for name in names}

    def compared(original):
        """A comparison of a tensor of rank 5 or more with a constant (Keras' Softmax: ``mask >
        0.5`` on [batch, kv_heads, groups, T, S]): the converter broadcasts the constant to the
        full shape for kernels that broadcast 4-D only, and stores it; a run-time scalar is
        broadcast at run time instead."""
        def make(x1, x2):
            x1 = tf.convert_to_tensor(x1)
            constant = not tf.is_tensor(x2) or tf.get_static_value(x2) is not None
            if x1.shape.rank is not None and x1.shape.rank > 4 and constant:
                x2 = shifted(tf.convert_to_tensor(x2), tf.convert_to_tensor(x2).dtype)
            return original(x1, x2)
        return make

    def shifted(value, dtype):
        if dtype == tf.bool:
            return tf.not_equal(tf.cast(value, tf.int32) + zero, 0)
        return tf.cast(value, dtype) + tf.cast(zero, dtype)

    def arange(*args, **kwargs):
        out = originals["arange"](*args, **kwargs)
        return out if out.shape.num_elements() is None else shifted(out, out.dtype)

    def filled(name: str, value_of):
        def make(*args, **kwargs):
            out = originals[name](*args, **kwargs)
            count = out.shape.num_elements()
            value = value_of(*args, **kwargs)
            if count is None or count < 2 or tf.is_tensor(value):  # nothing worth keeping out
                return out
            return tf.fill(out.shape.as_list(), shifted(value, out.dtype))
        return make

    replacements = {"arange": arange, "ones": filled("ones", lambda *a, **k: 1),
                    "zeros": filled("zeros", lambda *a, **k: 0),
                    "full": filled("full", lambda shape, fill_value, *a, **k: fill_value),
                    "greater": compared(originals["greater"])}
    band_part, ones_like, zeros_like = tf.linalg.band_part, tf.ones_like, tf.zeros_like

    def like(original, value: int):
        """``tf.ones_like``/``zeros_like`` as a run-time fill: Keras' attention builds its combined
        mask as ``ones_like(logits, bool)``, a [batch, heads, T, T] splat otherwise."""
        def make(x, dtype=None, name=None, **kwargs):
            x = tf.convert_to_tensor(x)
            if not x.shape.is_fully_defined() or x.shape.num_elements() < 2:
                return original(x, dtype=dtype, name=name, **kwargs)
            return tf.fill(x.shape.as_list(), shifted(value, tf.as_dtype(dtype or x.dtype)))
        return make

    def runtime_band_part(x, num_lower, num_upper, name=None):
        x = tf.convert_to_tensor(x)
        if not x.shape[-2:].is_fully_defined():
            return band_part(x, num_lower, num_upper, name=name)
        rows, cols = x.shape[-2], x.shape[-1]
        offset = tf.range(rows)[:, None] + zero - tf.range(cols)[None, :]  # row - column
        lower, upper = tf.cast(num_lower, tf.int32), tf.cast(num_upper, tf.int32)
        keep = tf.logical_and(tf.logical_or(lower < 0, offset <= lower),
                              tf.logical_or(upper < 0, -offset <= upper))
        return tf.where(keep, x, tf.zeros_like(x))

    patched_tf = {"ones_like": like(ones_like, 1), "zeros_like": like(zeros_like, 0)}
    try:
        for name, function in replacements.items():
            setattr(backend_numpy, name, function)
        tf.linalg.band_part = runtime_band_part
        for name, function in patched_tf.items():
            setattr(tf, name, function)
        yield
    finally:
        for name, function in originals.items():
            setattr(backend_numpy, name, function)
        tf.linalg.band_part = band_part
        tf.ones_like, tf.zeros_like = ones_like, zeros_like
