"""KerasHub graph rewrites: ops without a builtin LiteRT kernel, replaced while the serving
function is traced by the same math in ops that have one (so the artifact needs no Flex ops)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _OpsWithMatmulFFT2:
    """``keras.ops`` whose ``fft2`` is computed as DFT matrix products.

    FNet mixes tokens with a 2-D FFT, which TensorFlow's converter can only emit as the
    Flex ops FFT2D and Complex. With static shapes the same transform is two products
    with constant cosine/sine matrices: FFT2(A + iB) = F_L (A + iB) F_H with
    F_N = C_N - i S_N, which converts to builtin BATCH_MATMUL / FULLY_CONNECTED.
    """

    def __init__(self, ops):
        self._ops = ops

    def __getattr__(self, name):
        return getattr(self._ops, name)

    def fft2(self, x):
        import numpy as np

        real, imag = x
        length, width = int(real.shape[-2]), int(real.shape[-1])
        ops = self._ops

        def dft(n):
            angle = 2.0 * np.pi * np.outer(np.arange(n), np.arange(n)) / n
            return (ops.convert_to_tensor(np.cos(angle).astype("float32")),
                    ops.convert_to_tensor(np.sin(angle).astype("float32")))

        cos_l, sin_l = dft(length)
        cos_h, sin_h = dft(width)
        # P = F_L (A + iB) = (C A + S B) + i (C B - S A)
        p_real = ops.matmul(cos_l, real) + ops.matmul(sin_l, imag)
        p_imag = ops.matmul(cos_l, imag) - ops.matmul(sin_l, real)
        # Q = P F_H = (Pr C + Pi S) + i (Pi C - Pr S)
        q_real = ops.matmul(p_real, cos_h) + ops.matmul(p_imag, sin_h)
        q_imag = ops.matmul(p_imag, cos_h) - ops.matmul(p_real, sin_h)
        return q_real, q_imag


_RWKV7_OP_ATTRS = ("RWKV7_OP", "RWKV7_OP_INFERENCE", "RWKV7_OP_RNN")


def _rwkv7_delta_rule_unrolled(r, w, k, v, a, b, initial_state=None, output_final_state=True,
                               head_first=False):
    """keras-hub's ``rnn_generalized_delta_rule`` with each step's output kept in a Python list.

    On the TensorFlow backend keras-hub collects the per-step outputs of its (already unrolled,
    static-length) loop in a ``tf.TensorArray``, which the converter cannot lower
    (TensorListReserve ... "does not dominate this use"). The state update, dtypes and return
    values are the same; the outputs are combined with one ``stack`` instead.
    """
    from keras import ops
    from keras_hub.src.models.rwkv7.rwkv7_layer import transpose_head

    dtype = r.dtype
    batch, length, heads, size = ops.shape(r)
    r, w, k, v, a, b = (transpose_head(x, head_first) for x in (r, w, k, v, a, b))
    w = ops.exp(-ops.exp(w))
    if initial_state is not None:
        state = ops.broadcast_to(initial_state, (batch, heads, size, size))
    else:
        state = ops.zeros((batch, heads, size, size))
    state = ops.cast(state, "float32")
    outs = []
    for t in range(length):
        kk = ops.reshape(k[:, t, :], (batch, heads, 1, size))
        rr = ops.reshape(r[:, t, :], (batch, heads, size, 1))
        vv = ops.reshape(v[:, t, :], (batch, heads, size, 1))
        aa = ops.reshape(a[:, t, :], (batch, heads, size, 1))
        bb = ops.reshape(b[:, t, :], (batch, heads, 1, size))
        state = state * w[:, t, :, None, :] + state @ aa @ bb + vv @ kk
        outs.append(ops.reshape(ops.cast(state @ rr, dtype), (batch, heads, size)))
    out = ops.cast(ops.stack(outs, axis=1), dtype)
    if output_final_state:
        return out, state
    return out


def _sam3_label_embed_call(layer):
    """``call`` for the ``label_embed`` Embedding of a SAM 3 geometry encoder: the same row
    lookup, with negative indices wrapped by a floor-mod instead of keras' select.

    keras-hub 0.32's backbone passes the box *mask* (bool) where the geometry encoder expects
    the box labels, so the lookup's indices are ``cast(bool, int32)``. Keras' TF ``take``
    wraps negative indices with ``where(i < 0, i + n, i)``; TensorFlow's converter folds
    ``cast(bool) < 0`` to ``zeros_like`` of the bool tensor, and ``tfl.zeros_like`` has no
    bool kernel (ConverterError). For every index in ``[-n, n)`` (the only ones a lookup
    accepts) ``floormod(i, n)`` equals that select, and nothing is left to fold.
    """

    def call(inputs):
        import tensorflow as tf
        from keras import ops

        indices = ops.cast(inputs, "int32")
        embeddings = layer.embeddings
        rows = tf.math.floormod(indices, tf.constant(int(embeddings.shape[0]), "int32"))
        return ops.cast(tf.gather(ops.convert_to_tensor(embeddings), rows, axis=0),
                        layer.compute_dtype)

    return call


_ABSENT = object()


def _uses(model, class_path: str) -> bool:
    import importlib

    module_name, _, class_name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        return False
    return any(isinstance(layer, cls) for layer in model._flatten_layers())


@contextlib.contextmanager
def graph_rewrites(model) -> Iterator[list[str]]:
    """Rewrites active while the serving function is traced; yields their descriptions.

    Each replaces an op that has no builtin LiteRT kernel with the same math in ops
    that have one. The Keras reference used for verification runs after the block,
    with the original ops, so verification checks the rewrite too.
    """
    import importlib

    patches: list[tuple[Any, str, Any]] = []
    applied: list[str] = []
    if _uses(model, "keras_hub.src.layers.modeling.f_net_encoder.FNetEncoder"):
        module = importlib.import_module("keras_hub.src.layers.modeling.f_net_encoder")
        patches.append((module, "ops", _OpsWithMatmulFFT2(module.ops)))
        applied.append("FNetEncoder: fft2 as DFT matrix products (no Flex FFT2D/Complex)")
    if _uses(model, "keras_hub.src.models.rwkv7.rwkv7_layer.RWKV7TimeMix"):
        # RWKV7TimeMix.__init__ binds the op functions to each instance, so patch the instances.
        from keras_hub.src.models.rwkv7.rwkv7_layer import RWKV7TimeMix

        for layer in model._flatten_layers():
            if isinstance(layer, RWKV7TimeMix):
                patches += [(layer, name, _rwkv7_delta_rule_unrolled) for name in _RWKV7_OP_ATTRS
                            if hasattr(layer, name)]
        applied.append("RWKV7TimeMix: the recurrence unrolled over the static length (no TensorArray)")
    if _uses(model, "keras_hub.src.models.sam3.sam3_geometry_encoder.SAM3GeometryEncoder"):
        from keras_hub.src.models.sam3.sam3_geometry_encoder import SAM3GeometryEncoder

        for layer in model._flatten_layers():
            embed = getattr(layer, "label_embed", None) if isinstance(
                layer, SAM3GeometryEncoder) else None
            if embed is not None and getattr(embed, "embeddings", None) is not None:
                patches.append((embed, "call", _sam3_label_embed_call(embed)))
        applied.append("SAM3GeometryEncoder: label embedding gathered with floor-mod index "
                       "wrapping (no bool zeros_like)")
    # An attribute the object did not hold itself (a method from its class) is deleted on
    # exit instead of being set back, so the class's own stays in effect.
    originals = [(obj, name, vars(obj).get(name, _ABSENT)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        yield applied
    finally:
        for obj, name, value in reversed(originals):
            if value is _ABSENT:
                delattr(obj, name)
            else:
                setattr(obj, name, value)
