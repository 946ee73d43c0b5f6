"""Comparing an artifact's outputs with a reference: the metrics of a verification gate
(``allclose``, ``mean_abs``, ``max_abs``, ``sqnr``), SQNR, and why non-finite values fail.
Pure numpy: used by the worker's verification and by the AOT check against the base."""

from __future__ import annotations

import numpy as np

SIGNATURE_KEY = "serving_default"
METRICS = ("allclose", "mean_abs", "max_abs", "sqnr")

SQNR_LIMIT_DB = 300.0  # |SQNR| is reported up to this: an exact match is 300 dB, not inf


def sqnr_db(litert: np.ndarray, keras: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio of ``litert`` against ``keras``, in dB:
    ``10 log10(sum keras^2 / sum (litert - keras)^2)``. Independent of the output's scale,
    so one threshold fits a logit of 1e-3 and one of 1e3; finite (clipped to +-300 dB)."""
    signal = float(np.sum(np.square(keras, dtype=np.float64)))
    noise = float(np.sum(np.square(litert - keras, dtype=np.float64)))
    return sqnr_from_sums(signal, noise)


def sqnr_from_sums(signal: float, noise: float) -> float:
    """:func:`sqnr_db` from ``sum keras^2`` and ``sum (litert - keras)^2`` (accumulated sample by
    sample)."""
    if noise == 0.0:
        return SQNR_LIMIT_DB
    if signal == 0.0:
        return -SQNR_LIMIT_DB
    return float(np.clip(10.0 * np.log10(signal / noise), -SQNR_LIMIT_DB, SQNR_LIMIT_DB))


def check_metric(metric: str, a: np.ndarray, b: np.ndarray, atol: float, rtol: float,
           min_sqnr_db: float | None = None) -> tuple[bool, float]:
    """(passes, the number compared with the bound) for one output over all samples."""
    diff = np.abs(a - b)
    if metric == "sqnr":
        value = sqnr_db(a, b)
        return value >= float(min_sqnr_db), value
    if metric == "allclose":
        outside = ~np.isclose(a, b, atol=atol, rtol=rtol, equal_nan=True)
        return not outside.any(), float(np.count_nonzero(outside))
    if metric == "mean_abs":
        value = float(diff.mean()) if diff.size else 0.0
        return value <= atol + rtol * float(np.abs(b).mean() if b.size else 0.0), value
    if metric == "max_abs":
        value = float(diff.max(initial=0.0))
        return value <= atol + rtol * float(np.abs(b).max(initial=0.0)), value
    raise ValueError(f"unknown verification metric {metric!r}: use one of {', '.join(METRICS)}")


def non_finite_problem(name: str, litert: np.ndarray, keras: np.ndarray) -> str | None:
    """Why an output with NaN or Inf fails (None when both are finite everywhere).

    Non-finite values never pass: equal NaNs are no evidence that the artifact works. When
    Keras has the very same non-finite values at the same places, the message says so: then
    the model itself (its weights or a layer) is broken, not the conversion.
    """
    bad_litert, bad_keras = ~np.isfinite(litert), ~np.isfinite(keras)
    if not bad_litert.any() and not bad_keras.any():
        return None

    def first(mask: np.ndarray) -> str:
        index = np.unravel_index(int(np.flatnonzero(mask)[0]), mask.shape)
        return f"first at sample {index[0]}, element {list(int(i) for i in index[1:])}"

    same = np.array_equal(bad_litert, bad_keras) and np.array_equal(
        litert[bad_litert], keras[bad_keras], equal_nan=True)
    if same:
        return (f"'{name}': {int(bad_keras.sum())} of {keras.size} values are NaN or Inf "
                f"({first(bad_keras)}), and the Keras model itself produces the very same non-finite "
                "values at the same places: the model is broken (check its weights, its inputs' range "
                "and its layers), not the conversion")
    if bad_litert.any():
        elsewhere = (" where Keras has finite values" if not bad_keras.any()
                     else f"; Keras has {int(bad_keras.sum())} non-finite values, not the same")
        return (f"'{name}': LiteRT gives NaN or Inf in {int(bad_litert.sum())} of {litert.size} values "
                f"({first(bad_litert)}){elsewhere}")
    return (f"'{name}': Keras gives NaN or Inf in {int(bad_keras.sum())} of {keras.size} values "
            f"({first(bad_keras)}) where LiteRT has finite values")
