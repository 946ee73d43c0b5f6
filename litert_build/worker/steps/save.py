"""Step ``save``: the traced serving function as a SavedModel, once for all the variants that a
worker builds from one model."""

from __future__ import annotations

import contextlib

from litert_build.worker.intermediate import LoadedModel, Saved, Traced
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("saving the traced model")
def save(job: Job, loaded: LoadedModel, traced: Traced, stack: contextlib.ExitStack) -> Saved:
    """Write the SavedModel every conversion starts from (removed when ``stack`` closes). KerasHub
    tasks track their layers, not the task object (see
    :func:`litert_build.export.kerashub.tracked_layers`)."""
    from litert_build.export.converter import saved_model
    from litert_build.export.kerashub import tracked_layers

    model = loaded.model
    tracked = tracked_layers(model) if loaded.from_hub else [model]
    return Saved(stack.enter_context(saved_model(traced.serving.tf_function, tracked)))
