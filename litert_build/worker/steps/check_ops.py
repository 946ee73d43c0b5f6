"""Step ``check_ops``: what the artifact's operators are, and whether the variant may have them."""

from __future__ import annotations

from typing import Any

from litert_build.config.kinds import KINDS
from litert_build.errors import ConversionError
from litert_build.worker.intermediate import CheckedOps, Converted
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("checking the artifact's ops")
def check_ops(job: Job, converted: Converted) -> CheckedOps:
    """The op inventory and the float ops of the artifact, after these checks: no custom ops
    unless ``converter_options.allow_custom_ops``, no Select TF (Flex) ops unless
    ``allow_flex_ops``, no large float32 weights in a quantized kind, no float ops in a
    ``strict`` int8 variant."""
    from litert_build.export.inventory import float_ops, op_inventory

    settings, flatbuffer = job.settings, converted.flatbuffer
    inventory = op_inventory(flatbuffer)
    floats = float_ops(flatbuffer)
    if inventory.custom and not settings.converter_options.allow_custom_ops:
        raise ConversionError(f"the graph needs custom ops {sorted(inventory.custom)}.")
    dynamic = [f for f in ("sequence_length", "image_size") if getattr(settings, f, None) == "dynamic"]
    if inventory.flex and not settings.allow_flex_ops and dynamic:
        raise ConversionError(
            f"with {' and '.join(f'{f}: dynamic' for f in dynamic)} the graph needs Select TF (Flex) "
            f"ops, which the stock LiteRT runtime cannot run: {', '.join(sorted(inventory.flex))}. "
            "Static shapes (the default) avoid them: that is why they are the default. Remove "
            f"'{dynamic[0]}: dynamic', or set 'allow_flex_ops: true' and ship the Flex delegate."
        )
    if inventory.flex and not settings.allow_flex_ops:
        hub = " (a KerasHub model: try 'fold_masks: true' first)" if not settings.fold_masks else ""
        raise ConversionError(
            f"the graph needs Select TF (Flex) ops, which the stock LiteRT runtime cannot run: "
            f"{', '.join(sorted(inventory.flex))}{hub}. Replace the layers that produce them, or set "
            "'allow_flex_ops: true' for this model in models.yaml and ship the Flex delegate "
            "with your app."
        )
    if KINDS[settings.kind].quantized_weights:  # aeq has expect_quantized instead
        _check_weights_quantized(settings, flatbuffer)
    if settings.kind == "int8" and settings.strict and floats:
        listed = ", ".join(f"{op} x{n}" for op, n in floats.items())
        raise ConversionError(
            f"strict int8: these ops stay float: {listed}. Replace the layers that produce them "
            "(e.g. LayerNormalization, GELU) or drop 'strict: true' to allow float islands."
        )
    return CheckedOps(inventory, floats)


def _check_weights_quantized(settings: dict[str, Any], flatbuffer: bytes) -> None:
    """A quantized kind whose large weights stayed float32 is float in all but name."""
    from litert_build.export.inventory import MIN_WEIGHT_ELEMENTS, float_weights

    left = float_weights(flatbuffer)
    if left:
        listed = ", ".join(f"{op} x{n}" for op, n in left.items())
        raise ConversionError(
            f"kind '{settings.kind}' left the weights of these ops float32: {listed} (each "
            f"with {MIN_WEIGHT_ELEMENTS:,}+ values). The artifact would be float in all but name; "
            "check the calibration data and the converter's log, or use kind: float32.")
