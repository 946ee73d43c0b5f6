"""Dynamic-range (``kind: dynamic_range``) weight quantization exactly as TensorFlow's converter
does it, for writing real weights where stand-ins were converted (:mod:`litert_build.export.standin`).

The converter's MLIR quantizer (``PrepareDynamicRangeQuantize`` + ``Quantize``,
``legacy_float_scale=False``) quantizes a float weight of 1,024 elements or more to int8,
symmetric, narrow range [-127, 127], zero point 0: per channel along ``quantized_dimension``
(FULLY_CONNECTED and CONV_2D weights: axis 0; DEPTHWISE_CONV_2D: axis 3) or per tensor (BATCH_MATMUL
operands, GATHER tables). Per channel (or over the tensor), in double precision: ``m = max |w|``
(0 included); a range narrower than 1e-6 is widened to [-5e-7, 5e-7]; ``scale = 2m / 254``;
``q = clamp(round(w / scale), -127, 127)`` with ``std::round`` (ties away from zero) and the
double scale (the file stores it as float32). Checked bit for bit against the converter on Dense,
EinsumDense, Embedding, Conv2D, DepthwiseConv2D and BATCH_MATMUL weights, zero and tiny
channels, outliers and exact ties (tests/e2e/test_conversion_memory.py compares whole artifacts).

Weights are read and written in chunks of rows (axis 0), so a weight of any size needs a few
times :data:`CHUNK_ELEMENTS` of memory, not a multiple of itself.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np

NEAR_ZERO = 1.0e-6  # the quantizer's kNearZeroTolerance
CHUNK_ELEMENTS = 1 << 22  # elements read at a time (float64 temporaries: 32 MB each)


def scale_of_splat(value: float) -> bytes:
    """The float32 scale (little-endian bytes) the converter gives a weight whose every element
    is ``value`` (> 0): how a stand-in is recognised once quantized (its data is then all 127)."""
    return np.float32(_scales(np.array([abs(float(value))]))[0]).tobytes()


def channel_scales(weights: Any, axis: int | None) -> np.ndarray:
    """float64 scales of ``weights`` (an array in the artifact's layout, possibly memory-mapped
    or a lazily transposed view): one per index of ``axis``, or one for the tensor (None)."""
    absmax = np.zeros(1 if axis is None else weights.shape[axis], np.float64)
    for start, chunk in _chunks(weights):
        magnitude = np.abs(chunk)
        if axis is None:
            absmax[0] = max(absmax[0], float(magnitude.max(initial=0.0)))
        elif axis == 0:
            rest = tuple(range(1, chunk.ndim))
            absmax[start: start + len(chunk)] = magnitude.max(axis=rest, initial=0.0)
        else:
            rest = tuple(i for i in range(chunk.ndim) if i != axis)
            absmax = np.maximum(absmax, magnitude.max(axis=rest, initial=0.0))
    return _scales(absmax)


def write_quantized(out: BinaryIO, weights: Any, axis: int | None, scales: np.ndarray) -> None:
    """Write ``weights`` quantized with ``scales`` (from :func:`channel_scales`) to ``out`` as
    int8, in C order."""
    for start, chunk in _chunks(weights):
        if axis is None:
            scale = scales[0]
        else:
            shape = [1] * chunk.ndim
            shape[axis] = -1
            scale = scales[start: start + len(chunk)] if axis == 0 else scales
            scale = scale.reshape(shape)
        out.write(_round_away(chunk / scale).astype(np.int8).tobytes())


def _scales(absmax: np.ndarray) -> np.ndarray:
    low, high = -absmax, absmax.copy()
    narrow = ~((high - low) > NEAR_ZERO)
    low = np.where(narrow, np.minimum(low, -NEAR_ZERO / 2), low)
    high = np.where(narrow, np.maximum(high, NEAR_ZERO / 2), high)
    return (high - low) / 254.0


def _round_away(x: np.ndarray) -> np.ndarray:
    """``std::round`` (ties away from zero), clamped to [-127, 127]."""
    rounded = np.round(x)  # ties to even...
    whole = np.trunc(x)
    rounded = np.where(np.abs(x - whole) == 0.5, whole + np.sign(x), rounded)  # ...fixed
    return np.clip(rounded, -127, 127)


def _chunks(weights: Any):
    """(first row, float64 chunk) over axis 0 of ``weights``."""
    if weights.ndim == 0:
        yield 0, np.asarray(weights, np.float64).reshape(1)
        return
    per_row = max(1, int(np.prod(weights.shape[1:])))
    rows = max(1, CHUNK_ELEMENTS // per_row)
    for start in range(0, weights.shape[0], rows):
        yield start, np.asarray(weights[start: start + rows], dtype=np.float64)
