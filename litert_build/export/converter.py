"""TensorFlow's LiteRT converter, configured from checked settings only.

``converter_options`` in models.yaml may set exactly the converter settings listed
in :data:`CONVERTER_OPTIONS` (name in models.yaml -> attribute on
``tf.lite.TFLiteConverter``). Quantization settings (optimizations,
representative_dataset, target_spec, inference types) belong to variant kinds.

Conversion always allows Select TF ops so that the op inventory can *name* the ops
that have no builtin kernel; whether such an artifact is acceptable is decided
afterwards from the inventory (``allow_flex_ops``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from litert_build.config.kinds import KINDS
from litert_build.errors import ConversionError, ManifestError, did_you_mean

SIGNATURE_KEY = "serving_default"


class Quantization(NamedTuple):
    """What one conversion quantizes: the variant's kind and, for int8, its I/O type."""

    kind: str
    io: str = "float"

CONVERTER_OPTIONS: dict[str, str] = {
    "allow_custom_ops": "allow_custom_ops",
    "experimental_new_converter": "experimental_new_converter",
    "experimental_enable_resource_variables": "experimental_enable_resource_variables",
    "experimental_lower_tensor_list_ops": "_experimental_lower_tensor_list_ops",
    "experimental_default_to_single_batch_in_tensor_list_ops":
        "_experimental_default_to_single_batch_in_tensor_list_ops",
    "experimental_unfold_large_splat_constant": "_experimental_unfold_large_splat_constant",
    "experimental_enable_dynamic_update_slice": "_experimental_enable_dynamic_update_slice",
    "experimental_preserve_assert_op": "_experimental_preserve_assert_op",
    "experimental_disable_fuse_mul_and_fc": "_experimental_disable_fuse_mul_and_fc",
    "experimental_use_buffer_offset": "_experimental_use_buffer_offset",
    "unfold_batchmatmul": "unfold_batchmatmul",
    "legalize_custom_tensor_list_ops": "legalize_custom_tensor_list_ops",
    "exclude_conversion_metadata": "exclude_conversion_metadata",
}


def check_converter_options(options: dict[str, Any], model: str, variant: str) -> None:

    for name, value in options.items():
        if name not in CONVERTER_OPTIONS:
            hint = did_you_mean(name, CONVERTER_OPTIONS)
            raise ManifestError(
                f"unknown converter option '{name}'.{hint} Known options: "
                f"{', '.join(sorted(CONVERTER_OPTIONS))}.",
                model=model, variant=variant, field=f"converter_options.{name}",
            )
        if not isinstance(value, bool):
            raise ManifestError(
                f"must be true or false, got {value!r}.",
                model=model, variant=variant, field=f"converter_options.{name}",
            )


@contextmanager
def saved_model(function, tracked: list) -> Iterator[str]:
    """A temporary SavedModel of the serving tf.function, for :func:`convert_saved_model`.

    Written once per model and converted once per variant, as Keras' own LiteRT export does
    (Keras' ``ExportArchive``): converting the concrete function directly keeps Keras
    variables as uninitialised resource variables (VAR_HANDLE / READ_VARIABLE ops, no weights
    in the file), while the SavedModel path freezes them into constants and keeps the named
    signature.

    The endpoint alone brings the variables (and Keras' lookup tables) the function uses. Keras'
    own export also ``track()``s the model, which writes every weight a second time (the Keras
    variable beside the tf.Variable the function captures: twice the disk and the time, the same
    artifact); ``tracked`` (the model; for KerasHub tasks their layers, so that the
    preprocessor's tokenizer tables are not saved) is used only when the endpoint alone cannot
    be saved.
    """
    import tempfile

    import keras

    with tempfile.TemporaryDirectory(prefix="litert-build-savedmodel-") as folder:
        try:
            _write_archive(keras, function, [], folder)
        except Exception:  # noqa: BLE001 - e.g. an untracked resource: save it as Keras does
            _write_archive(keras, function, tracked, folder)
        yield folder


def _write_archive(keras, function, tracked: list, folder: str) -> None:
    archive = keras.export.ExportArchive()
    for layer in tracked:
        archive.track(layer)
    archive.add_endpoint(SIGNATURE_KEY, function)
    archive.write_out(folder, verbose=False)


def convert_saved_model(
    folder: str,
    options: dict[str, Any],
    model: str,
    variant: str,
    quantization: Quantization,
    representative: list[dict[str, Any]] | None = None,
    finite: bool = False,
) -> bytes:
    """One conversion of the SavedModel in ``folder`` (``kind`` and, for int8, ``io``).
    ``finite``: no float constant of the graph (weights included) is infinite, so the
    converter's pass that clamps infinities, slow and a no-op then, is skipped
    (:mod:`litert_build.export.infinities`)."""
    check_converter_options(options, model, variant)
    from litert_build.export.lean_converter import saved_model_converter, stock_requested

    converter = saved_model_converter(folder, SIGNATURE_KEY)
    if not finite or stock_requested():
        return _run(converter, options, quantization, representative)
    from litert_build.export.infinities import flatbuffer_has_infinities

    converter.canonicalizing_inf_as_min_max_float = False
    flatbuffer = _run(converter, options, quantization, representative)
    if not flatbuffer_has_infinities(flatbuffer):
        return flatbuffer
    # The pass runs after constant folding, which made an infinity (say log(0)): run it after all.
    del flatbuffer
    return _run(saved_model_converter(folder, SIGNATURE_KEY), options, quantization, representative)


def _run(converter, options: dict[str, Any], quantization: Quantization,
         representative: list[dict[str, Any]] | None) -> bytes:
    import tensorflow as tf

    from litert_build.export import lean_converter

    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    for name, value in options.items():
        setattr(converter, CONVERTER_OPTIONS[name], value)
    kind = quantization.kind
    settings = KINDS[kind].converter
    if settings.optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if settings.float16_weights:
        converter.target_spec.supported_types = [tf.float16]
    if settings.calibrate:
        samples = list(representative or [])
        converter.representative_dataset = lambda: iter(samples)
    if settings.io_types and quantization.io != "float":
        io_type = {"int8": tf.int8, "uint8": tf.uint8}[quantization.io]
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    if settings.int16_activations:
        # Only the 16x8 op set: an op without a 16x8 kernel fails here, by name, instead
        # of producing an artifact that fails at run time.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    try:
        return lean_converter.convert(converter)
    except Exception as exc:
        message = str(exc).strip()
        unsupported = sorted(set(re.findall(r"16x8-bit not yet supported for op: '(\w+)'", message)))
        if settings.int16_activations and unsupported:
            raise ConversionError(
                f"the model has ops without a 16x8 (int16 activations, int8 weights) kernel: "
                f"{', '.join(unsupported)}. Use kind: int8 for this model, or replace the layers "
                "that produce these ops."
            ) from exc
        raise ConversionError(
            f"TensorFlow's LiteRT converter failed: {type(exc).__name__}: {message[:4000]}"
        ) from exc
