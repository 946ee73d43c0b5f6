"""Step ``quantize`` (``kind: aeq`` only): an ai-edge-quantizer recipe on the float32 flatbuffer."""

from __future__ import annotations

import dataclasses

from litert_build.worker.intermediate import Calibration, Converted
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("quantizing with ai-edge-quantizer")
def quantize(job: Job, converted: Converted, calibration: Calibration | None) -> Converted:
    """Apply the variant's ``recipe`` (calibrated on the calibration data when the recipe quantizes
    activations), record which float weights became integers, and fail below
    ``expect_quantized``."""
    from litert_build.export import aeq
    from litert_build.export.converter import SIGNATURE_KEY

    recipe = job.settings.recipe
    flatbuffer = aeq.quantize(converted.float32, recipe, job.root,
                              calibration.representative if calibration else None, SIGNATURE_KEY)
    record = {"recipe": recipe, **aeq.quantized_weights(converted.float32, flatbuffer)}
    aeq.check_expected(record, job.settings.expect_quantized, recipe)
    return dataclasses.replace(converted, flatbuffer=flatbuffer, aeq=record)
