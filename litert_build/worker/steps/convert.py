"""Step ``convert``: TensorFlow's LiteRT converter, on the SavedModel of the serving function."""

from __future__ import annotations

from litert_build.config.kinds import KINDS
from litert_build.worker.intermediate import Calibration, Converted, Saved
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("converting")
def convert(job: Job, saved: Saved, calibration: Calibration | None) -> Converted:
    """The variant's flatbuffer and the float32 one. A quantized kind also needs float32 (to
    measure its size; ``kind: aeq`` converts float32 only, which ``quantize`` starts from): it is
    converted once per SavedModel, so the variants a worker builds together share it."""
    from litert_build.export.converter import Quantization, convert_saved_model

    settings = job.settings
    options = settings.converter_options.to_json()
    representative = calibration.representative if calibration else None

    def run(quantization: Quantization) -> bytes:
        return convert_saved_model(saved.folder, options, job.model, job.variant, quantization,
                                   representative)

    variant = None
    if KINDS[settings.kind].pipeline != "quantize" and settings.kind != "float32":
        variant = run(Quantization(settings.kind, settings.io))
    if saved.float32 is None:
        saved.float32 = run(Quantization("float32"))
    return Converted(flatbuffer=variant or saved.float32, float32=saved.float32)
