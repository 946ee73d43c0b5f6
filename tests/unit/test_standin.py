"""Stand-in weights (export/standin.py): the layouts that map a Keras kernel to the
FULLY_CONNECTED weights a converted artifact holds compute the same contraction as the kernel."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from litert_build.export.standin import StandIn, StandInError, _layout, standin_value


def fc_weights(kernel: np.ndarray, equation: str | None, shape: tuple[int, int]) -> np.ndarray:
    standin = StandIn(1.5, kernel.shape, Path("unused"), equation)
    return np.asarray(_layout(standin, shape, True, kernel.size)(kernel))


@pytest.mark.parametrize(("equation", "kernel_shape", "x_spec", "out_spec"), [
    ("btd,ndh->btnh", (4, 6, 3), "d", "nh"),  # Gemma query: contracted axis in the middle
    ("btnh,nhd->btd", (4, 3, 6), "nh", "d"),  # Gemma attention output: two contracted axes
    ("btd,df->btf", (6, 5), "d", "f"),        # feed-forward
])
def test_einsum_kernel_as_fully_connected_weights(equation, kernel_shape, x_spec, out_spec):
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal(kernel_shape).astype(np.float32)
    spec = equation.split(",")[1].split("->")[0]
    sizes = dict(zip(spec, kernel_shape, strict=True))
    x = rng.standard_normal([sizes[c] for c in x_spec]).astype(np.float32)
    want = np.einsum(f"{x_spec},{spec}->{out_spec}", x, kernel).reshape(-1)
    rows, cols = int(np.prod([sizes[c] for c in out_spec])), int(np.prod([sizes[c] for c in x_spec]))
    weights = fc_weights(kernel, equation, (rows, cols))
    np.testing.assert_allclose(weights @ x.reshape(-1), want, rtol=1e-5, atol=1e-5)


def test_dense_kernel_is_transposed_even_when_square():
    kernel = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_array_equal(fc_weights(kernel, None, (4, 4)), kernel.T)


def test_unmappable_layout_is_refused():
    standin = StandIn(1.5, (4, 6), Path("unused"))
    with pytest.raises(StandInError, match="laid the weight"):
        _layout(standin, (2, 12), False, 24)  # reshaped, not by a rule it knows
    with pytest.raises(StandInError, match="does not hold"):
        _layout(standin, (4, 5), False, 20)


def test_standin_values_are_distinct_and_exact_in_float16_and_float32():
    count = 16383
    values = [standin_value(i) for i in range(count)]
    for code in ("<f", "<e"):
        packed = {struct.pack(code, v) for v in values}
        assert len(packed) == count
        assert all(struct.unpack(code, struct.pack(code, v))[0] == v for v in values)
    assert min(values) > 1.0 and max(values) == 65504.0
    with pytest.raises(StandInError):
        standin_value(count)


@pytest.mark.parametrize("dtype", ["<f4", "<f2"])
def test_weights_are_written_in_chunks_of_rows_as_one_copy_would(monkeypatch, dtype):
    import io

    from litert_build.export import standin

    kernel = np.random.default_rng(2).standard_normal((37, 23)).astype(np.float32)
    for weights in (kernel, kernel.T, kernel.reshape(37, 23, 1), np.float32(3.0)):
        monkeypatch.setattr(standin, "WRITE_CHUNK_ELEMENTS", 50)  # two or three rows at a time
        out = io.BytesIO()
        standin._write_float(out, weights, dtype)
        assert out.getvalue() == np.ascontiguousarray(weights, dtype=dtype).tobytes()
