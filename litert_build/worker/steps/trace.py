"""Step ``trace``: the serving function (named positional inputs, named outputs), traced once."""

from __future__ import annotations

import contextlib

from litert_build.worker.intermediate import LoadedModel, ModelInputs, Traced
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("tracing the serving function")
def trace(job: Job, loaded: LoadedModel, inputs: ModelInputs) -> Traced:
    """Trace the model behind :func:`litert_build.export.adapter.make_serving_function`; for a
    KerasHub model with the graph rewrites active (ops without a builtin kernel replaced by the
    same math), whose descriptions the manifest lists, and its masks and position biases kept
    computed at run time unless ``fold_masks``."""
    from litert_build.export.adapter import make_serving_function
    from litert_build.export.kerashub_rewrites import graph_rewrites

    model, hub = loaded.model, inputs.hub
    with graph_rewrites(model) if loaded.from_hub else contextlib.nullcontext([]) as rewrites:
        serving = make_serving_function(model, job.model, inputs.signature, job.settings.outputs,
                                        hub.default_outputs if hub else (),
                                        masks_at_run_time=bool(hub and hub.masks_at_run_time),
                                        probe_fixed=hub.hints.fixed if hub and hub.hints else None)
    return Traced(serving, rewrites)
