"""The serving adapter: a tf.function with named positional inputs and named outputs.

LiteRT signatures take flat, named tensors. The adapter receives them positionally
(named by the input signature), packs them into whatever ``call`` expects (a dict
keyed by input name, a list, or one tensor) and returns a dict keyed by output
name. It closes over the model itself, so the converter sees the model's own
variables: nothing is copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litert_build.errors import ConversionError, ManifestError

from .signature import InputSignature

DYNAMIC_DIM_EXAMPLE = 8  # stands in for a dynamic non-batch dimension when probing


@dataclass
class ServingFunction:
    signature: InputSignature
    output_names: list[str]
    output_names_origin: str
    python_call: Any  # eager: *inputs -> {name: tensor}
    tf_function: Any  # traced once, with the input signature's named TensorSpecs


def example_shape(shape) -> tuple[int, ...]:
    return tuple(
        (1 if i == 0 else DYNAMIC_DIM_EXAMPLE) if d is None else d for i, d in enumerate(shape)
    )


def _flatten_outputs(outputs) -> tuple[list[Any], str, list[str] | None]:
    """(flat tensors, structure, dict keys or None). A dict value that is a list or tuple of tensors
    (D-FINE's per-layer hidden states) becomes one output per element, ``<key>_<i>``; ``None``
    elements (attentions not computed) are left out."""
    if isinstance(outputs, dict):
        values, keys = [], []
        for key, value in outputs.items():
            if isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, (dict, list, tuple)):
                        raise ConversionError("nested output structures are not supported")
                    if item is not None:
                        values.append(item)
                        keys.append(f"{key}_{i}")
            elif isinstance(value, dict):
                raise ConversionError("nested output structures are not supported")
            elif value is not None:
                values.append(value)
                keys.append(str(key))
        return values, "dict", keys
    if isinstance(outputs, (list, tuple)):
        for v in outputs:
            if isinstance(v, (dict, list, tuple)):
                raise ConversionError("nested output structures are not supported")
        return list(outputs), "list", None
    return [outputs], "single", None


def resolve_output_names(
    model, model_name: str, outputs, manifest_names: list[str] | None,
    default_names: tuple[str, ...] = (),
) -> tuple[list[str], str]:
    """Names for the model's outputs: manifest > dict keys > registry default > the model's own
    > generic."""
    import keras
    from keras.src.models.functional import Functional

    flat, structure, keys = _flatten_outputs(outputs)
    count = len(flat)
    if manifest_names:
        if len(manifest_names) != count:
            raise ManifestError(
                f"the model returns {count} output(s); 'outputs' names {len(manifest_names)}.",
                model=model_name, field="outputs",
            )
        if keys is not None and set(manifest_names) != set(keys):
            raise ManifestError(
                f"the model returns a dict with keys {keys}; 'outputs' must list those keys or "
                "be left out.", model=model_name, field="outputs",
            )
        names, origin = list(manifest_names), "manifest"
    elif keys is not None:
        names, origin = keys, "model"
    elif default_names and len(default_names) == count:
        names, origin = list(default_names), "registry"
    elif isinstance(model, keras.Sequential) and count == 1:
        names, origin = [model.layers[-1].name], "model"
    elif isinstance(model, Functional) and len(getattr(model, "output_names", []) or []) == count:
        names, origin = list(model.output_names), "model"
    elif count == 1:
        names, origin = ["output"], "default"
    else:
        names, origin = [f"output_{i}" for i in range(count)], "default"
    if len(set(names)) != len(names):
        raise ManifestError(
            f"output names {names} are not unique; name them with 'outputs:'.",
            model=model_name, field="outputs",
        )
    return names, origin


def make_serving_function(
    model, model_name: str, signature: InputSignature, manifest_outputs: list[str] | None,
    default_outputs: tuple[str, ...] = (), masks_at_run_time: bool = False,
    probe_fixed: dict[str, Any] | None = None,
) -> ServingFunction:
    """The model as a traced function of named positional inputs returning named outputs.

    ``masks_at_run_time``: while tracing, keep aranges and fills (the stuff of attention masks and
    position biases) out of constant folding (:mod:`litert_build.export.runtime_constants`)."""
    import contextlib

    import numpy as np
    import tensorflow as tf

    from litert_build.export.runtime_constants import runtime_constants

    # One eager call tells us the output structure (and catches call errors early). Floats
    # are random rather than zeros, which break layers such as a matrix inverse; integers
    # are zeros, a valid index for any embedding.
    # Inputs the registry gives fixed values for (SAM 3's boxes) take those.
    rng = np.random.default_rng(0)
    fixed = probe_fixed or {}
    probe = [
        np.asarray(fixed[t.name], dtype=t.dtype).reshape(example_shape(t.shape)) if t.name in fixed
        else rng.standard_normal(example_shape(t.shape)).astype(t.dtype)
        if np.issubdtype(np.dtype(t.dtype), np.floating)
        else np.zeros(example_shape(t.shape), dtype=t.dtype)
        for t in signature.tensors
    ]
    try:
        probe_out = model(*signature.pack(probe), training=False)
    except Exception as exc:  # the model's own error, with our context
        raise ConversionError(
            f"model '{model_name}' failed when called with inputs "
            f"{[t.to_json() for t in signature.tensors]}: {type(exc).__name__}: {exc}"
        ) from exc
    names, origin = resolve_output_names(model, model_name, probe_out, manifest_outputs,
                                         default_outputs)
    by_key = isinstance(probe_out, dict)  # dict outputs are looked up by name

    def call(*flat):
        tracing = masks_at_run_time and tf.inside_function()  # eager calls (the reference) as they are
        with runtime_constants(flat) if tracing else contextlib.nullcontext():
            outputs = model(*signature.pack(list(flat)), training=False)
        values, _, keys = _flatten_outputs(outputs)
        if by_key:  # manifest names may list the keys in another order
            by_name = dict(zip(keys, values, strict=True))
            return {name: by_name[name] for name in names}
        return dict(zip(names, values, strict=True))

    specs = [tf.TensorSpec(t.shape, tf.as_dtype(t.dtype), name=t.name) for t in signature.tensors]
    function = tf.function(call, input_signature=specs, autograph=False)
    try:
        function.get_concrete_function()  # trace now: graph errors surface here, named
    except Exception as exc:
        raise ConversionError(
            f"model '{model_name}' could not be traced as a TensorFlow graph: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return ServingFunction(signature, names, origin, call, function)
