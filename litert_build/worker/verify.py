"""Verification: run the artifact in the stock LiteRT interpreter against the Keras model.

Inputs are the variant's held-out calibration samples (int8, int16x8) or seeded random
tensors (floats ~ N(0, 1), integers uniform in ``int_range``, booleans fair).
Integer artifact I/O is quantized / dequantized with the artifact's own parameters,
so the comparison is always in the Keras model's float domain. Metrics:

* ``allclose``: every element satisfies ``|litert - keras| <= atol + rtol * |keras|``;
* ``mean_abs``: ``mean |litert - keras| <= atol + rtol * mean |keras|``;
* ``max_abs``:  ``max |litert - keras| <= atol + rtol * max |keras|``;
* ``sqnr``: ``10 log10(sum keras^2 / sum (litert - keras)^2) >= min_sqnr_db`` (relative to the
  float output's own scale: the default of the quantized kinds).

NaN or Inf in either output always fails (see :func:`non_finite_problem`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from litert_build.config.settings import Verify
from litert_build.errors import VerificationError
from litert_build.export.adapter import ServingFunction, example_shape
from litert_build.export.compare import SIGNATURE_KEY, OutputErrors, non_finite_problem
from litert_build.export.signature import InputHints

STOCK_RUNTIME = "ai_edge_litert.interpreter"


class LiteRTRunner:
    """The artifact in the stock interpreter, called with float-domain inputs.

    Inputs whose artifact type is an integer type with a quantization scale are
    quantized; such outputs are dequantized. Real integer inputs (token ids) have
    no scale and pass through.
    """

    def __init__(self, flatbuffer: bytes, input_names: list[str]):
        from ai_edge_litert.interpreter import Interpreter

        try:
            # The runner keeps a pointer into the interpreter: keep both alive together.
            self.interpreter = Interpreter(model_content=flatbuffer)
            self.runner = self.interpreter.get_signature_runner(SIGNATURE_KEY)
        except Exception as exc:
            raise VerificationError(
                f"the artifact does not load in the stock LiteRT interpreter: {exc}"
            ) from exc
        self.input_names = input_names
        self.inputs = self.runner.get_input_details()
        self.outputs = self.runner.get_output_details()

    def __call__(self, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        feed = {}
        for name, array in zip(self.input_names, arrays, strict=True):
            detail = self.inputs[name]
            scale, zero_point = detail["quantization"]
            dtype = np.dtype(detail["dtype"])
            if scale and np.issubdtype(dtype, np.integer) and np.issubdtype(array.dtype, np.floating):
                info = np.iinfo(dtype)
                array = np.clip(np.round(array / scale + zero_point), info.min, info.max)
            feed[name] = np.asarray(array).astype(dtype)
        try:
            raw = self.runner(**feed)
        except Exception as exc:
            raise VerificationError(
                f"the artifact fails to run in the stock LiteRT interpreter: {exc}"
            ) from exc
        out = {}
        for name, value in raw.items():
            scale, zero_point = self.outputs[name]["quantization"]
            if scale and np.issubdtype(value.dtype, np.integer):
                value = (value.astype(np.float64) - zero_point) * scale
            out[name] = np.asarray(value)
        return out


def random_inputs(serving: ServingFunction, samples: int, seed: int, int_range,
                  hints: InputHints | None = None) -> list[list[np.ndarray]]:
    """Seeded inputs: floats ~ N(0, 1), integers uniform in ``int_range``, unless ``hints``
    say otherwise for an input."""
    rng = np.random.default_rng(seed)
    hints = hints or InputHints()
    batches = []
    for index in range(samples):
        sized = hints.sample_shapes[index % len(hints.sample_shapes)] if hints.sample_shapes else {}
        arrays = []
        for t in serving.signature.tensors:
            shape = tuple(sized.get(t.name) or example_shape(t.shape))
            dtype = np.dtype(t.dtype)
            low, high = hints.int_ranges.get(t.name, int_range)
            if t.name in hints.fixed:
                arrays.append(np.asarray(hints.fixed[t.name], dtype=dtype).reshape(shape))
            elif dtype == np.bool_:
                arrays.append(rng.integers(max(low, 0), min(high, 2), size=shape).astype(bool))
            elif np.issubdtype(dtype, np.integer):
                arrays.append(rng.integers(low, high, size=shape).astype(dtype))
            else:
                arrays.append(rng.standard_normal(shape).astype(dtype))
        batches.append(arrays)
    return batches


def verify(
    flatbuffer: bytes,
    serving: ServingFunction,
    gate: Verify,
    inputs: list[list[np.ndarray]],
    inputs_origin: str,
    expected: list[dict[str, np.ndarray]],
) -> dict[str, Any]:
    """Run the artifact on ``inputs`` and check every output against ``expected`` (the Keras
    model's outputs for them, computed before conversion by :func:`keras_outputs`, so that the
    model's weights may be gone by now) with the ``verify`` settings' metric; the manifest's
    ``verification`` record, or a VerificationError listing every output that fails."""
    metric = gate.metric or "allclose"
    atol, rtol = float(gate.atol or 0.0), float(gate.rtol or 0.0)
    min_sqnr = gate.min_sqnr_db
    got, want = _run_both(flatbuffer, serving, inputs, expected)
    outputs, failures = {}, []
    for name in serving.output_names:
        outputs[name], failure = _compare(name, got[name], want[name], metric, atol, rtol, min_sqnr)
        if failure:
            failures.append(failure)
    if failures:
        bound = f"SQNR >= {min_sqnr:g} dB" if metric == "sqnr" else f"{metric}, atol={atol:g}, rtol={rtol:g}"
        loosen = "verify.min_sqnr_db" if metric == "sqnr" else "verify.atol/rtol"
        raise VerificationError(
            f"the artifact disagrees with the Keras model ({bound}, {len(inputs)} {inputs_origin} "
            f"samples): {'; '.join(failures)}. Loosen {loosen} only if this error is expected."
        )
    bounds = {"min_sqnr_db": float(min_sqnr)} if metric == "sqnr" else {"atol": atol, "rtol": rtol}
    return {
        "status": "passed",
        "runtime": STOCK_RUNTIME,
        "inputs": inputs_origin,
        "samples": len(inputs),
        "seed": gate.seed,
        "metric": metric,
        **bounds,
        "outputs": outputs,
    }


def keras_outputs(serving: ServingFunction, inputs: list[list[np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """The Keras model's outputs for each sample of ``inputs``, by output name, as NumPy arrays."""
    import keras

    return [{name: keras.ops.convert_to_numpy(value)
             for name, value in serving.python_call(*arrays).items()} for arrays in inputs]


def _run_both(flatbuffer: bytes, serving: ServingFunction, inputs: list[list[np.ndarray]],
              reference: list[dict[str, np.ndarray]],
              ) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
    """(LiteRT's outputs, Keras' outputs from ``reference``) by output name, one array per sample
    as each side gave it (float32: an LLM's logits are 16 MB a sample); an output missing from
    the artifact or of another shape fails."""
    runner = LiteRTRunner(flatbuffer, serving.signature.names)
    got: dict[str, list[np.ndarray]] = {name: [] for name in serving.output_names}
    want: dict[str, list[np.ndarray]] = {name: [] for name in serving.output_names}
    for arrays, expected in zip(inputs, reference, strict=True):
        result = runner(arrays)
        for name in serving.output_names:
            if name not in result:
                raise VerificationError(f"the artifact has no output '{name}' (it has {sorted(result)})")
            a = np.asarray(result[name])
            b = np.asarray(expected[name])
            if a.shape != b.shape:
                raise VerificationError(
                    f"output '{name}' has shape {a.shape} in LiteRT but {b.shape} in Keras"
                )
            got[name].append(a)
            want[name].append(b)
    return got, want


def _joined(samples: list[np.ndarray]) -> np.ndarray:
    """The samples as one float64 array [sample, ...]; flattened into one row when a dynamic
    dimension gave them different shapes."""
    if len({a.shape for a in samples}) == 1:
        return np.stack(samples).astype(np.float64)
    return np.concatenate([a.ravel() for a in samples]).astype(np.float64)[None]


def _compare(name: str, got: list[np.ndarray], want: list[np.ndarray], metric: str, atol: float,
             rtol: float, min_sqnr: float | None) -> tuple[dict[str, Any], str | None]:
    """(the output's record: errors, SQNR, scale and the metric's value; why it fails, or None)
    over all samples of one output, ``got`` LiteRT's and ``want`` Keras', accumulated sample by
    sample (:class:`litert_build.export.compare.OutputErrors`)."""
    record: dict[str, Any] = {}
    if not all(np.isfinite(a).all() and np.isfinite(b).all() for a, b in zip(got, want, strict=True)):
        problem = non_finite_problem(name, _joined(got), _joined(want))
        if problem:
            return record, problem
    errors = OutputErrors(atol, rtol)
    for a, b in zip(got, want, strict=True):
        errors.add(a, b)
    record["max_abs_error"] = errors.max_abs_error
    record["mean_abs_error"] = errors.mean_abs_error
    record["max_rel_error"] = errors.max_rel_error
    record["sqnr_db"] = round(errors.sqnr_db, 2)
    record["mean_abs_keras"] = errors.mean_abs_keras  # the output's scale
    ok, value = errors.check(metric, min_sqnr)
    ok = ok and all(np.isfinite([value, record["max_abs_error"], record["mean_abs_error"]]))
    if metric != "sqnr":
        record["violations" if metric == "allclose" else metric] = value
    if ok:
        return record, None
    return record, (
        f"'{name}': SQNR {record['sqnr_db']:.1f} dB, max abs error {record['max_abs_error']:.3g}, "
        f"mean abs error {record['mean_abs_error']:.3g}, max rel error {record['max_rel_error']:.3g}"
        + (f", {int(value)} element(s) outside" if metric == "allclose" else "")
    )


def skipped(reason: str) -> dict[str, Any]:
    """The ``verification`` record of an artifact that cannot run here, with the reason."""
    return {"status": "skipped", "reason": reason}
