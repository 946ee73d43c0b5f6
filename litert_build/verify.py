"""Verification: run the artifact in the stock LiteRT interpreter against the Keras model.

Inputs are seeded random tensors (floats ~ N(0, 1), integers uniform in
``int_range``, booleans fair). An output passes when every element satisfies
``|litert - keras| <= atol + rtol * |keras|`` (numpy's ``allclose`` rule).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import VerificationError
from .export.adapter import ServingFunction, example_shape

STOCK_RUNTIME = "ai_edge_litert.interpreter"
SIGNATURE_KEY = "serving_default"


def make_inputs(serving: ServingFunction, samples: int, seed: int, int_range) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    low, high = int_range
    batches = []
    for _ in range(samples):
        arrays = []
        for t in serving.signature.tensors:
            shape = example_shape(t.shape)
            dtype = np.dtype(t.dtype)
            if dtype == np.bool_:
                arrays.append(rng.random(shape) < 0.5)
            elif np.issubdtype(dtype, np.integer):
                arrays.append(rng.integers(low, high, size=shape).astype(dtype))
            else:
                arrays.append(rng.standard_normal(shape).astype(dtype))
        batches.append(arrays)
    return batches


def verify(flatbuffer: bytes, serving: ServingFunction, settings: dict[str, Any]) -> dict[str, Any]:
    import keras
    from ai_edge_litert.interpreter import Interpreter

    samples, seed = int(settings["samples"]), int(settings["seed"])
    atol, rtol = float(settings["atol"]), float(settings["rtol"])
    try:
        interpreter = Interpreter(model_content=flatbuffer)
        runner = interpreter.get_signature_runner(SIGNATURE_KEY)
    except Exception as exc:
        raise VerificationError(
            f"the artifact does not load in the stock LiteRT interpreter: {exc}"
        ) from exc

    worst = {name: {"max_abs_error": 0.0, "max_rel_error": 0.0, "violations": 0}
             for name in serving.output_names}
    for arrays in make_inputs(serving, samples, seed, settings["int_range"]):
        feed = dict(zip(serving.signature.names, arrays, strict=True))
        try:
            got = runner(**feed)
        except Exception as exc:
            raise VerificationError(
                f"the artifact fails to run in the stock LiteRT interpreter: {exc}"
            ) from exc
        expected = {k: keras.ops.convert_to_numpy(v) for k, v in serving.python_call(*arrays).items()}
        for name in serving.output_names:
            if name not in got:
                raise VerificationError(
                    f"the artifact has no output '{name}' (it has {sorted(got)})"
                )
            a = np.asarray(got[name], dtype=np.float64)
            b = np.asarray(expected[name], dtype=np.float64)
            if a.shape != b.shape:
                raise VerificationError(
                    f"output '{name}' has shape {a.shape} in LiteRT but {b.shape} in Keras"
                )
            record = worst[name]
            outside = ~np.isclose(a, b, atol=atol, rtol=rtol, equal_nan=True)
            record["violations"] += int(np.count_nonzero(outside))
            finite = np.isfinite(a) & np.isfinite(b)
            if not np.array_equal(np.isfinite(a), np.isfinite(b)):
                record["max_abs_error"] = record["max_rel_error"] = float("inf")
                continue
            diff = np.abs(a - b)[finite]
            rel = diff / np.maximum(np.abs(b[finite]), np.finfo(np.float32).tiny)
            record["max_abs_error"] = max(record["max_abs_error"], float(diff.max(initial=0.0)))
            record["max_rel_error"] = max(record["max_rel_error"], float(rel.max(initial=0.0)))

    result = {
        "status": "passed",
        "runtime": STOCK_RUNTIME,
        "samples": samples,
        "seed": seed,
        "atol": atol,
        "rtol": rtol,
        "outputs": worst,
    }
    failed = {n: r for n, r in worst.items() if r["violations"]}
    if failed:
        detail = "; ".join(
            f"'{n}': max abs error {r['max_abs_error']:.3g}, max rel error {r['max_rel_error']:.3g},"
            f" {r['violations']} element(s) outside"
            for n, r in failed.items()
        )
        raise VerificationError(
            f"the artifact disagrees with the Keras model beyond atol={atol:g}, rtol={rtol:g} "
            f"over {samples} seeded samples: {detail}. Loosen verify.atol/rtol only if this "
            "error is expected."
        )
    return result


def skipped(reason: str) -> dict[str, Any]:
    return {"status": "skipped", "reason": reason}
