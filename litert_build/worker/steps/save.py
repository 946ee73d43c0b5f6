"""Step ``save``: the traced serving function as a SavedModel, once for all the variants that a
worker builds from one model."""

from __future__ import annotations

import contextlib

from litert_build.worker.intermediate import LoadedModel, Saved, Traced
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("saving the traced model")
def save(job: Job, loaded: LoadedModel, traced: Traced, stack: contextlib.ExitStack,
         standins: bool = False, only_standin_kinds: bool = False) -> Saved:
    """Write the SavedModel every conversion starts from (removed when ``stack`` closes). KerasHub
    tasks track their layers, not the task object (see
    :func:`litert_build.export.kerashub.tracked_layers`). With ``standins`` (a large model,
    :mod:`litert_build.export.standin`), also the large weights' data and a second SavedModel
    traced with splat stand-ins for them; when every variant converts from those
    (``only_standin_kinds``), the usual SavedModel is written only if a variant falls back to
    it (:meth:`Saved.usual_folder`; the released weights are read back from their files first)."""
    import functools

    from litert_build.export.converter import saved_model
    from litert_build.export.infinities import function_has_infinities, weights_have_infinities
    from litert_build.export.kerashub import tracked_layers
    from litert_build.worker.weights import restore_weights

    model = loaded.model
    tracked = tracked_layers(model) if loaded.from_hub else [model]
    saved = Saved(None)
    saved.finite = not (weights_have_infinities(model.weights)
                        or function_has_infinities(traced.serving.tf_function))

    @functools.cache
    def usual() -> str:
        restore_weights(model.weights, saved.standins)  # a no-op unless they were released
        return stack.enter_context(saved_model(traced.serving.tf_function, tracked))

    if standins:
        _save_standins(loaded, traced, stack, saved, tracked)
    if saved.standin_folder and only_standin_kinds:
        saved.write_usual = usual
    else:
        saved.folder = usual()
    return saved


def _save_standins(loaded: LoadedModel, traced: Traced, stack: contextlib.ExitStack, saved: Saved,
                   tracked: list) -> None:
    import tempfile
    from pathlib import Path

    from litert_build.export import standin
    from litert_build.export.converter import saved_model
    from litert_build.export.infinities import function_has_infinities
    from litert_build.export.kerashub_rewrites import graph_rewrites

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="litert-build-standins-")))
    variables = list(loaded.model.weights)
    equations = standin.einsum_equations(loaded.model)
    saved.standins = standin.dump_weights(variables, folder / "weights", equations)
    if not saved.standins:
        return
    context = (lambda: graph_rewrites(loaded.model)) if loaded.from_hub else contextlib.nullcontext
    function = standin.standin_function(traced.serving, variables, saved.standins, context)
    saved.finite = saved.finite and not function_has_infinities(function)
    saved.standin_folder = stack.enter_context(saved_model(function, tracked))
    saved.scratch = folder
