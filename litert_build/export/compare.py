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


class OutputErrors:
    """One output's errors against the reference, accumulated sample by sample in float64 (an
    LLM's logits are 16 MB a sample: one sample's temporaries at a time, not all samples'): what
    a verification gate's metric compares with its bound (:meth:`check`) and the manifest's error
    record. Over one array it is :func:`check_metric`."""

    def __init__(self, atol: float, rtol: float):
        self.atol, self.rtol = atol, rtol
        self.count = self.outside = 0
        self.sum_abs_error = self.max_abs_error = self.max_rel_error = 0.0
        self.signal = self.noise = self.sum_abs_keras = self.max_abs_keras = 0.0

    def add(self, litert: np.ndarray, keras: np.ndarray) -> None:
        a, b = np.asarray(litert, np.float64), np.asarray(keras, np.float64)
        diff, magnitude = np.abs(a - b), np.abs(b)
        self.count += diff.size
        self.outside += int(np.count_nonzero(~np.isclose(a, b, atol=self.atol, rtol=self.rtol,
                                                           equal_nan=True)))
        self.sum_abs_error += float(diff.sum())
        self.max_abs_error = max(self.max_abs_error, float(diff.max(initial=0.0)))
        rel = diff / np.maximum(magnitude, np.finfo(np.float32).tiny)
        self.max_rel_error = max(self.max_rel_error, float(rel.max(initial=0.0)))
        self.signal += float(np.sum(np.square(b)))
        self.noise += float(np.sum(np.square(diff)))
        self.sum_abs_keras += float(magnitude.sum())
        self.max_abs_keras = max(self.max_abs_keras, float(magnitude.max(initial=0.0)))

    @property
    def mean_abs_error(self) -> float:
        return self.sum_abs_error / self.count if self.count else 0.0

    @property
    def mean_abs_keras(self) -> float:
        return self.sum_abs_keras / self.count if self.count else 0.0

    @property
    def sqnr_db(self) -> float:
        return sqnr_from_sums(self.signal, self.noise)

    def check(self, metric: str, min_sqnr_db: float | None = None) -> tuple[bool, float]:
        """(passes, the number compared with the bound) over the samples added."""
        if metric == "sqnr":
            value = self.sqnr_db
            return value >= float(min_sqnr_db), value
        if metric == "allclose":
            return self.outside == 0, float(self.outside)
        if metric == "mean_abs":
            value = self.mean_abs_error
            return value <= self.atol + self.rtol * self.mean_abs_keras, value
        if metric == "max_abs":
            value = self.max_abs_error
            return value <= self.atol + self.rtol * self.max_abs_keras, value
        raise ValueError(f"unknown verification metric {metric!r}: use one of {', '.join(METRICS)}")


def check_metric(metric: str, a: np.ndarray, b: np.ndarray, atol: float, rtol: float,
                 min_sqnr_db: float | None = None) -> tuple[bool, float]:
    """(passes, the number compared with the bound) for one output over all samples."""
    errors = OutputErrors(atol, rtol)
    errors.add(a, b)
    return errors.check(metric, min_sqnr_db)


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
