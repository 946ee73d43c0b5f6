"""Labeled evaluation: the float Keras model and the variant on the same data.

``eval: {npz | builder, labels, metric, output, samples, max_drop}``. Metrics:
``accuracy`` and ``top5`` (higher is better; drop = float - variant) and ``mse``
(lower is better; drop = variant - float). ``max_drop`` fails the variant.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from litert_build.errors import ManifestError, VerificationError


def metric_value(metric: str, predictions: np.ndarray, labels: np.ndarray) -> float:
    if metric == "mse":
        return float(np.mean((predictions.astype(np.float64) - labels.reshape(predictions.shape)) ** 2))
    flat = predictions.reshape(len(predictions), -1)
    labels = labels.reshape(-1).astype(np.int64)
    if metric == "accuracy":
        return float(np.mean(flat.argmax(axis=-1) == labels))
    top5 = np.argsort(-flat, axis=-1)[:, :5]
    return float(np.mean((top5 == labels[:, None]).any(axis=-1)))


def evaluate(runner, serving, arrays: dict[str, np.ndarray], settings: dict[str, Any]) -> dict[str, Any]:
    import keras

    from litert_build.worker.data import check_against_signature, samples, source_label

    label = source_label(settings, "eval")
    labels_key = settings["labels"]
    if labels_key not in arrays:
        raise ManifestError(
            f"{label} has no labels array '{labels_key}' (it has {sorted(arrays)}).",
            field="eval.labels",
        )
    tensors = serving.signature.tensors
    count = check_against_signature(arrays, tensors, "eval", extra_keys=(labels_key,), label=label)
    count = min(count, settings.get("samples") or count)
    output = settings.get("output") or (serving.output_names[0] if len(serving.output_names) == 1 else None)
    if output not in serving.output_names:
        raise ManifestError(
            f"say which output to evaluate: 'output' must be one of {serving.output_names}.",
            field="eval.output",
        )
    labels = np.asarray(arrays[labels_key])[:count]
    batches = samples(arrays, tensors, range(count))
    try:  # one batched Keras call; per sample if the model insists on its batch size
        whole = [arrays[t.name][:count].astype(t.dtype) for t in tensors]
        reference = keras.ops.convert_to_numpy(serving.python_call(*whole)[output])
    except Exception:
        reference = np.concatenate([
            keras.ops.convert_to_numpy(serving.python_call(*batch)[output]) for batch in batches
        ])
    variant = np.concatenate([runner(batch)[output] for batch in batches])
    metric = settings["metric"]
    float_value = metric_value(metric, reference, labels)
    variant_value = metric_value(metric, variant, labels)
    if not (np.isfinite(float_value) and np.isfinite(variant_value)):
        raise VerificationError(
            f"eval {metric} on {count} labeled samples is not a number (Keras float {float_value}, "
            f"this variant {variant_value}): an output holds NaN or Inf.")
    drop = variant_value - float_value if metric == "mse" else float_value - variant_value
    result = {
        "metric": metric,
        "output": output,
        "samples": int(count),
        "keras_float": float_value,
        "variant": variant_value,
        "drop": drop,
        "max_drop": settings.get("max_drop"),
    }
    if settings.get("max_drop") is not None and drop > settings["max_drop"]:
        raise VerificationError(
            f"eval {metric} on {count} labeled samples: Keras float {float_value:.4f}, this variant "
            f"{variant_value:.4f}, a drop of {drop:.4f} > max_drop {settings['max_drop']}."
        )
    return result
