"""Step ``load``: the Keras model the job's source describes, and its weights digest."""

from __future__ import annotations

from litert_build.errors import ConversionError, LiteRTBuildError
from litert_build.worker.intermediate import LoadedModel
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("loading the model")
def load(job: Job) -> LoadedModel:
    """Seed Keras (builders that forget to seed still build the same model), load the model and
    digest its weights as built and loaded, before any export step touches it."""
    import keras

    from litert_build.export.kerashub import is_kerashub
    from litert_build.worker.weights import weights_sha256

    keras.utils.set_random_seed(0)
    model = _load_model(job)
    return LoadedModel(model, weights_sha256(model), is_kerashub(model))


def _load_model(job: Job):
    """The model, or a ConversionError naming the source (and ``safe_mode`` when it is the cause)."""
    from litert_build.worker.load import load_model

    try:
        return load_model(job.root, job.source, job.settings.safe_mode, job.model)
    except LiteRTBuildError:
        raise
    except Exception as exc:
        origin = job.source.get("path") or job.source["module"]
        hint = ""
        if "safe_mode" in str(exc):
            hint = (" If you trust this file, set 'safe_mode: false' for this model in models.yaml;"
                    " better, rebuild it without Python lambdas (or use a builder: source).")
        raise ConversionError(
            f"could not load the model from {origin}: {type(exc).__name__}: {exc}{hint}"
        ) from exc
