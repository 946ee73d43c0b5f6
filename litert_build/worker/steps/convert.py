"""Step ``convert``: TensorFlow's LiteRT converter, on one temporary SavedModel of the serving
function."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litert_build.config.kinds import KINDS
from litert_build.config.settings import BuildSettings
from litert_build.worker.intermediate import Calibration, Converted, LoadedModel, Traced
from litert_build.worker.job import Job
from litert_build.worker.runner import step

if TYPE_CHECKING:
    from litert_build.export.converter import Quantization


@step("converting")
def convert(job: Job, loaded: LoadedModel, traced: Traced, calibration: Calibration | None) -> Converted:
    """The variant's flatbuffer and the float32 one. A quantized kind also converts float32 (from
    the same SavedModel) to measure its size; ``kind: aeq`` converts float32 only, which
    ``quantize`` starts from. KerasHub tasks track their layers, not the task object (see
    :func:`litert_build.export.kerashub.tracked_layers`)."""
    from litert_build.export.converter import convert as convert_function
    from litert_build.export.kerashub import tracked_layers

    model = loaded.model
    flatbuffers = convert_function(
        traced.serving.tf_function, tracked_layers(model) if loaded.from_hub else [model],
        job.settings.converter_options.to_json(), job.model, job.variant,
        _quantizations(job.settings), calibration.representative if calibration else None,
    )
    return Converted(flatbuffer=flatbuffers[0], float32=flatbuffers[-1])


def _quantizations(settings: BuildSettings) -> list[Quantization]:
    """What to convert, the variant first, then float32 unless it is float32."""
    from litert_build.export.converter import Quantization

    float32 = Quantization("float32")
    if KINDS[settings.kind].pipeline == "quantize":  # the quantizer starts from float32
        return [float32]
    return [Quantization(settings.kind, settings.io)] + ([float32] if settings.kind != "float32" else [])
