"""Step ``convert``: TensorFlow's LiteRT converter, on the SavedModel of the serving function."""

from __future__ import annotations

from litert_build.config.kinds import KINDS
from litert_build.worker.intermediate import Calibration, Converted, Saved
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("converting")
def convert(job: Job, saved: Saved, calibration: Calibration | None) -> Converted:
    """The variant's flatbuffer and the size of the model's float32 one (the manifest's size
    ratio). The float32 conversion is made once per SavedModel, so the variants a worker builds
    together share it; ``kind: aeq`` starts from it (``quantize``). With stand-in weights
    (:mod:`litert_build.export.standin`), float32, float16 and dynamic_range are converted from
    them, and a float32 conversion made only for its size is too."""
    from litert_build.export import standin
    from litert_build.export.converter import Quantization, convert_saved_model

    settings = job.settings
    options = settings.converter_options.to_json()
    representative = calibration.representative if calibration else None
    quantization = Quantization(settings.kind, settings.io)

    def run(quantization: Quantization) -> bytes:
        return convert_saved_model(saved.usual_folder(), options, job.model, job.variant, quantization,
                                   representative, finite=saved.finite)

    fallback = None
    if settings.kind in standin.KINDS and saved.standin_folder:
        flatbuffer, fallback = _with_standins(job, saved, options, quantization)
        if flatbuffer is not None:
            if settings.kind == "float32":
                saved.float32_size = len(flatbuffer)
            return Converted(flatbuffer=flatbuffer, float32_size=_float32_size(job, saved, options),
                             stand_ins=len(saved.standins))
    variant = None
    if KINDS[settings.kind].pipeline != "quantize" and settings.kind != "float32":
        variant = run(quantization)
    if saved.float32 is None and (variant is None or not saved.standin_folder):
        saved.float32 = run(Quantization("float32"))
    if variant is None:
        variant = saved.float32
    return Converted(flatbuffer=variant, float32_size=_float32_size(job, saved, options),
                     float32=saved.float32, stand_in_fallback=fallback)


def _float32_size(job: Job, saved: Saved, options: dict) -> int:
    """The float32 artifact's size: of the conversion made already, or estimated from a float32
    conversion of the stand-in graph with its large splats left as FILL ops (nothing of the
    weights' size is made, so it costs neither memory nor time; see
    :func:`litert_build.export.standin.float32_size`)."""
    from litert_build.export import standin
    from litert_build.export.converter import Quantization, convert_saved_model

    if saved.float32 is not None:
        return len(saved.float32)
    if saved.float32_size is None:
        unfolded = {**options, "experimental_use_buffer_offset": True,
                    "experimental_unfold_large_splat_constant": True}
        converted = convert_saved_model(saved.standin_folder, unfolded, job.model, job.variant,
                                        Quantization("float32"), finite=saved.finite)
        saved.float32_size = standin.float32_size(converted, saved.standins)
    return saved.float32_size


def _with_standins(job: Job, saved: Saved, options: dict, quantization) -> tuple[bytes | None, str | None]:
    """(the variant converted from the stand-in SavedModel, the real weights written in
    afterwards, None; or None and why, when the converted model cannot be mapped back)."""
    from litert_build.export import standin
    from litert_build.export.converter import convert_saved_model

    converted = convert_saved_model(saved.standin_folder, {**options, "experimental_use_buffer_offset": True},
                                    job.model, job.variant, quantization, finite=saved.finite)
    target = saved.scratch / f"{job.variant}.tflite"
    try:
        standin.assemble(converted, saved.standins, target)
    except standin.StandInError as exc:
        return None, f"the converted model could not be mapped back ({exc})"
    finally:
        del converted
    data = target.read_bytes()
    target.unlink()
    return data, None
