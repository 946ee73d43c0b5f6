"""Dynamic-range weight quantization (litert_build.export.weight_quantizer): the converter's rules
(narrow range, ties away from zero, double-precision scales, widened tiny ranges), and chunked
reading that gives the same bytes as quantizing the whole weight at once. The comparison with
TensorFlow's converter itself is in tests/e2e/test_conversion_memory.py."""

from __future__ import annotations

import io

import numpy as np
import pytest

from litert_build.export import weight_quantizer


def quantized(weights: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
    scales = weight_quantizer.channel_scales(weights, axis)
    out = io.BytesIO()
    weight_quantizer.write_quantized(out, weights, axis, scales)
    return np.frombuffer(out.getvalue(), np.int8).reshape(weights.shape), scales


def test_rules_on_a_hand_made_weight():
    # channel 0: max |w| 1.27 -> scale 0.01, 0.005 is a tie (0.5) and rounds away from zero;
    # channel 1: all zero -> the range widens to 1e-6 and every value is 0;
    # channel 2: an outlier sets the scale, the rest round to 0 or 1
    weights = np.array([[1.27, -0.005, 0.015, -1.27],
                        [0.0, 0.0, 0.0, 0.0],
                        [100.0, 0.3, -0.5, 0.4]], np.float32)
    q, scales = quantized(weights, 0)
    np.testing.assert_array_equal(scales, [2 * np.float64(np.float32(1.27)) / 254, 1e-6 / 254,
                                           2 * 100.0 / 254])
    np.testing.assert_array_equal(q[1], [0, 0, 0, 0])
    assert q[0, 0] == 127 and q[0, 3] == -127 and q[2, 0] == 127
    x = np.float64(np.float32(-0.005)) / scales[0]
    assert q[0, 1] == (np.sign(x) * np.floor(abs(x) + 0.5))


def test_ties_round_away_from_zero():
    scale = 2 * 127.0 / 254  # max |w| = 127: scale 1, so w / scale is w itself
    weights = np.array([[127.0, 0.5, -0.5, 1.5, -2.5, 2.5]], np.float32)
    q, scales = quantized(weights, None)
    assert scales[0] == scale
    np.testing.assert_array_equal(q, [[127, 1, -1, 2, -3, 3]])


@pytest.mark.parametrize(("shape", "axis"), [((37, 53), 0), ((37, 53), None), ((5, 3, 3, 29), 3),
                                             ((6, 3, 3, 4), 0), ((64,), None)])
def test_chunked_reading_gives_the_bytes_of_one_pass(monkeypatch, shape, axis):
    rng = np.random.default_rng(0)
    weights = (rng.standard_normal(shape) * rng.uniform(1e-3, 10, shape)).astype(np.float32)
    whole = quantized(weights, axis)
    monkeypatch.setattr(weight_quantizer, "CHUNK_ELEMENTS", 7)  # a few rows per chunk, unevenly
    chunked = quantized(weights, axis)
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_array_equal(chunked[1], whole[1])
    # and the reference formula, applied to the whole weight in double precision
    reduce = tuple(i for i in range(weights.ndim) if i != axis) if axis is not None else None
    absmax = np.abs(weights.astype(np.float64)).max(axis=reduce)
    np.testing.assert_array_equal(whole[1], np.atleast_1d(2 * absmax / 254))


def test_transposed_view_as_written_by_assemble():
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((40, 24)).astype(np.float32)  # Keras [in, out]
    laid = kernel.T  # FULLY_CONNECTED [out, in], a strided view
    q, scales = quantized(laid, 0)
    q_copy, scales_copy = quantized(np.ascontiguousarray(laid), 0)
    np.testing.assert_array_equal(q, q_copy)
    np.testing.assert_array_equal(scales, scales_copy)


def test_scale_of_splat_is_what_its_quantization_gives():
    for value in (1.0009765625, 3.5, 65504.0):
        _, scales = quantized(np.full((4, 8), value, np.float32), 0)
        assert weight_quantizer.scale_of_splat(value) == np.float32(scales[0]).tobytes()
