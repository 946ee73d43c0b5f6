"""Labeled evaluation: the float Keras model and the variant on the same data.

``eval: {npz | builder, labels, metric, output, samples, max_drop}``. Metrics:
``accuracy`` and ``top5`` (higher is better; drop = float - variant) and ``mse``
(lower is better; drop = variant - float). ``max_drop`` fails the variant.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from litert_build.config.settings import Eval
from litert_build.errors import ManifestError, VerificationError


def metric_value(metric: str, predictions: np.ndarray, labels: np.ndarray) -> float:
    """``mse``, ``accuracy`` (argmax) or ``top5`` of ``predictions`` against ``labels``."""
    if metric == "mse":
        return float(np.mean((predictions.astype(np.float64) - labels.reshape(predictions.shape)) ** 2))
    flat = predictions.reshape(len(predictions), -1)
    labels = labels.reshape(-1).astype(np.int64)
    if metric == "accuracy":
        return float(np.mean(flat.argmax(axis=-1) == labels))
    top5 = np.argsort(-flat, axis=-1)[:, :5]
    return float(np.mean((top5 == labels[:, None]).any(axis=-1)))


def evaluate(runner, serving, arrays: dict[str, np.ndarray], settings: Eval) -> dict[str, Any]:
    """The ``eval`` block's metric for the float Keras model and for the variant (``runner``: the
    artifact in the interpreter) on the first ``samples`` labeled samples; the manifest's ``eval``
    record, or a VerificationError when the drop exceeds ``max_drop`` or a value is not a number."""
    from litert_build.worker.data import check_against_signature, samples, source_label

    label = source_label(settings, "eval")
    labels_key = settings.labels
    if labels_key not in arrays:
        raise ManifestError(
            f"{label} has no labels array '{labels_key}' (it has {sorted(arrays)}).",
            field="eval.labels",
        )
    tensors = serving.signature.tensors
    count = check_against_signature(arrays, tensors, "eval", extra_keys=(labels_key,), label=label)
    count = min(count, settings.samples or count)
    output = _output(settings, serving)
    labels = np.asarray(arrays[labels_key])[:count]
    batches = samples(arrays, tensors, range(count))
    reference = _keras_predictions(serving, arrays, count, batches, output)
    variant = np.concatenate([runner(batch)[output] for batch in batches])
    metric = settings.metric
    return _result(metric, count, output, metric_value(metric, reference, labels),
                   metric_value(metric, variant, labels), settings.max_drop)


def _output(settings: Eval, serving) -> str:
    """The output to evaluate: ``output``, or the only one."""
    output = settings.output or (serving.output_names[0] if len(serving.output_names) == 1 else None)
    if output not in serving.output_names:
        raise ManifestError(
            f"say which output to evaluate: 'output' must be one of {serving.output_names}.",
            field="eval.output",
        )
    return output


def _keras_predictions(serving, arrays: dict[str, np.ndarray], count: int,
                       batches: list[list[np.ndarray]], output: str) -> np.ndarray:
    """The float Keras model's ``output`` on the first ``count`` samples: one batched call, or
    per sample (``batches``) if the model insists on its batch size."""
    import keras

    try:
        whole = [arrays[t.name][:count].astype(t.dtype) for t in serving.signature.tensors]
        return keras.ops.convert_to_numpy(serving.python_call(*whole)[output])
    except Exception:
        return np.concatenate([
            keras.ops.convert_to_numpy(serving.python_call(*batch)[output]) for batch in batches
        ])


def _result(metric: str, count: int, output: str, float_value: float, variant_value: float,
            max_drop: float | None) -> dict[str, Any]:
    """The ``eval`` record; fails on a non-finite value or a drop above ``max_drop``."""
    if not (np.isfinite(float_value) and np.isfinite(variant_value)):
        raise VerificationError(
            f"eval {metric} on {count} labeled samples is not a number (Keras float {float_value}, "
            f"this variant {variant_value}): an output holds NaN or Inf.")
    drop = variant_value - float_value if metric == "mse" else float_value - variant_value
    if max_drop is not None and drop > max_drop:
        raise VerificationError(
            f"eval {metric} on {count} labeled samples: Keras float {float_value:.4f}, this variant "
            f"{variant_value:.4f}, a drop of {drop:.4f} > max_drop {max_drop}."
        )
    return {
        "metric": metric,
        "output": output,
        "samples": int(count),
        "keras_float": float_value,
        "variant": variant_value,
        "drop": drop,
        "max_drop": max_drop,
    }
