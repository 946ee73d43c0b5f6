"""Step ``signature``: the artifact's inputs, from ``inputs:``, the KerasHub registry or the model."""

from __future__ import annotations

import dataclasses

from litert_build.worker.intermediate import LoadedModel, ModelInputs
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("inferring the input signature")
def signature(job: Job, loaded: LoadedModel) -> ModelInputs:
    """The input signature: ``inputs:`` if given; for a KerasHub model the registry's static one
    (origin ``kerashub``); else inferred from the model (see the README, "Input signatures").

    A KerasHub model's preprocessor is detached here, after the registry has read its lengths and
    image size: the artifact takes model inputs (token ids, images), not raw text, and the
    preprocessor's configuration and files ship as assets instead."""
    from litert_build.export.kerashub import hub_signature
    from litert_build.export.signature import infer_input_signature

    model, settings = loaded.model, job.settings
    hub = None
    # The export engine takes manifest-style input records (name, shape, dtype), as the registry
    # makes them.
    explicit = [tensor.model_dump() for tensor in settings.inputs] if settings.inputs else None
    if loaded.from_hub and not explicit:
        hub = hub_signature(model, settings, job.model)
        explicit = hub.inputs
    preprocessor = getattr(model, "preprocessor", None) if loaded.from_hub else None
    if preprocessor is not None:
        model.preprocessor = None
    inferred = infer_input_signature(model, job.model, settings.batch_size, explicit)
    if hub is not None:
        inferred = dataclasses.replace(inferred, origin="kerashub")
    return ModelInputs(inferred, hub, preprocessor)
