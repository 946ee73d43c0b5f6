"""The verification maths (litert_build.export.compare): each gate's number and bound, SQNR and
its clipping, and why non-finite outputs fail. Pure numpy, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from litert_build.export.compare import SQNR_LIMIT_DB, check_metric, non_finite_problem, sqnr_db

RNG = np.random.default_rng(12)
KERAS = RNG.standard_normal((8, 10))


def test_allclose_counts_the_elements_outside_atol_plus_rtol():
    b = np.array([1.0, -2.0, 100.0])
    # bound per element: atol + rtol * |b| = 0.1 + 0.01 * |b| -> 0.11, 0.12, 1.1
    passes, outside = check_metric("allclose", b + [0.109, -0.119, 1.09], b, atol=0.1, rtol=0.01)
    assert (passes, outside) == (True, 0.0)
    passes, outside = check_metric("allclose", b + [0.2, 0.0, 2.0], b, atol=0.1, rtol=0.01)
    assert (passes, outside) == (False, 2.0)


def test_allclose_alone_would_let_equal_nans_through():
    # Why the worker asks non_finite_problem first: allclose treats NaN == NaN as close.
    nan = np.array([np.nan, 1.0])
    assert check_metric("allclose", nan, nan.copy(), atol=0.0, rtol=0.0) == (True, 0.0)
    assert non_finite_problem("y", nan, nan.copy()) is not None


def test_mean_abs_compares_the_mean_error_with_the_mean_scale():
    b = np.array([[1.0, -3.0], [2.0, -2.0]])  # mean |b| = 2
    a = b + [[0.4, 0.0], [0.0, -0.4]]  # mean |a - b| = 0.2
    passes, value = check_metric("mean_abs", a, b, atol=0.0, rtol=0.1)  # bound 0.2
    assert passes and value == pytest.approx(0.2)
    assert check_metric("mean_abs", a, b, atol=0.0, rtol=0.09)[0] is False  # bound 0.18
    assert check_metric("mean_abs", a, b, atol=0.03, rtol=0.09)[0] is True  # bound 0.21
    assert check_metric("mean_abs", np.zeros((0, 3)), np.zeros((0, 3)), 0.0, 0.0) == (True, 0.0)


def test_max_abs_compares_the_largest_error_with_the_largest_scale():
    b = np.array([0.5, -4.0, 1.0])  # max |b| = 4
    a = b + [0.0, 0.0, -0.3]
    passes, value = check_metric("max_abs", a, b, atol=0.1, rtol=0.05)  # bound 0.3
    assert passes and value == pytest.approx(0.3)
    assert check_metric("max_abs", a, b, atol=0.1, rtol=0.04) == (False, pytest.approx(0.3))  # 0.26
    assert check_metric("max_abs", np.zeros(0), np.zeros(0), 0.0, 0.0) == (True, 0.0)


def test_sqnr_gate_uses_the_db_value():
    b = np.ones(100)
    assert check_metric("sqnr", b + 0.1, b, atol=0.0, rtol=0.0, min_sqnr_db=20.0 - 1e-9) == (
        True, pytest.approx(20.0))
    assert check_metric("sqnr", b + 0.1, b, atol=0.0, rtol=0.0, min_sqnr_db=20.1)[0] is False
    assert check_metric("sqnr", b + 0.1, b, atol=99.0, rtol=99.0, min_sqnr_db=25.0)[0] is False  # no atol


@pytest.mark.parametrize("noise, expected", [(0.1, 20.0), (0.01, 40.0), (1.0, 0.0), (10.0, -20.0)])
def test_sqnr_db_values(noise, expected):
    keras = np.ones(100)
    assert sqnr_db(keras + noise, keras) == pytest.approx(expected)


def test_sqnr_db_ignores_the_output_scale_and_the_noise_sign():
    litert = KERAS + RNG.standard_normal(KERAS.shape) * 0.05
    value = sqnr_db(litert, KERAS)
    assert 15.0 < value < 40.0
    assert sqnr_db(litert * 1e-3, KERAS * 1e-3) == pytest.approx(value)
    assert sqnr_db(litert * 1e3, KERAS * 1e3) == pytest.approx(value)
    assert sqnr_db(2 * KERAS - litert, KERAS) == pytest.approx(value)  # the opposite error
    assert isinstance(value, float)


def test_sqnr_db_is_clipped_and_finite():
    assert sqnr_db(KERAS.copy(), KERAS) == SQNR_LIMIT_DB == 300.0  # exact: 300, not inf
    assert sqnr_db(np.array([1e15 + 0.5]), np.array([1e15])) == 300.0  # about 306 dB
    assert sqnr_db(np.array([1.0 + 1e-20]), np.array([1e-20])) == -300.0  # about -400 dB
    assert sqnr_db(np.ones(3), np.zeros(3)) == -300.0  # no signal, some noise
    assert sqnr_db(np.zeros(3), np.zeros(3)) == 300.0  # both zero: equal


def test_sqnr_db_of_float32_outputs_squares_in_float64():
    keras = np.full(1000, 1e20, dtype=np.float32)  # its square overflows float32
    litert = keras * np.float32(1.001)
    assert sqnr_db(litert, keras) == pytest.approx(60.0, abs=1e-3)


def test_finite_outputs_have_no_problem():
    assert non_finite_problem("y", KERAS + 1.0, KERAS) is None


def grid(*bad: tuple[tuple[int, ...], float], shape=(2, 3)) -> np.ndarray:
    values = np.zeros(shape)
    for index, value in bad:
        values[index] = value
    return values


def test_litert_non_finite_where_keras_is_finite():
    assert non_finite_problem("y", grid(((1, 2), np.nan), ((1, 0), np.inf)), grid()) == (
        "'y': LiteRT gives NaN or Inf in 2 of 6 values (first at sample 1, element [0]) where Keras "
        "has finite values")


def test_keras_non_finite_where_litert_is_finite():
    assert non_finite_problem("logits", grid(), grid(((0, 1), -np.inf))) == (
        "'logits': Keras gives NaN or Inf in 1 of 6 values (first at sample 0, element [1]) where "
        "LiteRT has finite values")


def test_the_same_non_finite_values_blame_the_model():
    bad = grid(((1, 2, 3), np.nan), ((1, 2, 0), np.inf), shape=(2, 3, 4))
    message = non_finite_problem("out", bad, bad.copy())
    assert message == (
        "'out': 2 of 24 values are NaN or Inf (first at sample 1, element [2, 0]), and the Keras model "
        "itself produces the very same non-finite values at the same places: the model is broken "
        "(check its weights, its inputs' range and its layers), not the conversion")


@pytest.mark.parametrize("litert, keras", [
    (grid(((1, 2), np.nan)), grid(((0, 1), np.nan))),  # other places
    (grid(((1, 2), np.inf)), grid(((1, 2), -np.inf))),  # same place, other value
    (grid(((1, 2), np.nan)), grid(((1, 2), np.inf))),
    (grid(((1, 2), np.nan)), grid(((1, 2), np.nan), ((0, 0), np.nan))),  # Keras has more
])
def test_different_non_finite_values_blame_the_conversion(litert, keras):
    message = non_finite_problem("y", litert, keras)
    assert message.startswith("'y': LiteRT gives NaN or Inf in 1 of 6 values (first at sample 1, "
                              "element [2]); ")
    assert message.endswith(f"Keras has {int((~np.isfinite(keras)).sum())} non-finite values, not the same")


def test_an_unknown_metric_is_an_error_not_max_abs():
    with pytest.raises(ValueError, match="unknown verification metric 'median'"):
        check_metric("median", np.zeros(3), np.zeros(3), 0.0, 0.0)


@pytest.mark.parametrize("metric", ["allclose", "mean_abs", "max_abs", "sqnr"])
def test_the_workers_sample_by_sample_comparison_equals_the_whole_array_metrics(metric):
    """worker/verify.py accumulates each output sample by sample (an LLM's logits are 16 MB a
    sample): the same decision and values as the metrics over all samples stacked."""
    from litert_build.worker.verify import _compare

    rng = np.random.default_rng(3)
    want = [rng.standard_normal((2, 5)).astype(np.float32) for _ in range(4)]
    got = [(w + rng.normal(0, 1e-3, w.shape)).astype(np.float32) for w in want]
    a, b = np.stack(got).astype(np.float64), np.stack(want).astype(np.float64)
    for atol in (1e-4, 1e-2):
        record, failure = _compare("y", got, want, metric, atol, 1e-4, 40.0)
        ok, value = check_metric(metric, a, b, atol, 1e-4, 40.0)
        assert (failure is None) == ok
        assert record["sqnr_db"] == round(sqnr_db(a, b), 2)
        np.testing.assert_allclose(record["mean_abs_error"], np.abs(a - b).mean(), rtol=1e-12)
        assert record["max_abs_error"] == np.abs(a - b).max()
        if metric != "sqnr":
            np.testing.assert_allclose(record["violations" if metric == "allclose" else metric], value,
                                       rtol=1e-12)
