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

from typing import Any

from ..errors import ConversionError, ManifestError

SIGNATURE_KEY = "serving_default"

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
    import difflib

    for name, value in options.items():
        if name not in CONVERTER_OPTIONS:
            close = difflib.get_close_matches(name, list(CONVERTER_OPTIONS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
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


def convert(function, keras_model, options: dict[str, Any], model: str, variant: str) -> bytes:
    """Convert a serving tf.function of ``keras_model`` to a LiteRT flatbuffer.

    The function goes through a temporary SavedModel (Keras' ``ExportArchive``),
    as Keras' own LiteRT export does: converting the concrete function directly
    keeps Keras variables as uninitialised resource variables (VAR_HANDLE /
    READ_VARIABLE ops, no weights in the file), while the SavedModel path freezes
    them into constants and keeps the named signature.
    """
    import tempfile

    import keras
    import tensorflow as tf

    check_converter_options(options, model, variant)
    with tempfile.TemporaryDirectory(prefix="litert-build-savedmodel-") as saved_model:
        archive = keras.export.ExportArchive()
        archive.track(keras_model)
        archive.add_endpoint(SIGNATURE_KEY, function)
        archive.write_out(saved_model, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(
            saved_model, signature_keys=[SIGNATURE_KEY]
        )
        return _run(converter, options)


def _run(converter, options: dict[str, Any]) -> bytes:
    import tensorflow as tf

    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    for name, value in options.items():
        setattr(converter, CONVERTER_OPTIONS[name], value)
    try:
        return bytes(converter.convert())
    except Exception as exc:
        message = str(exc).strip()
        raise ConversionError(
            f"TensorFlow's LiteRT converter failed: {type(exc).__name__}: {message[:4000]}"
        ) from exc
