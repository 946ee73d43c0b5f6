"""Step ``evaluate``: the variant and the float Keras model on the ``eval:`` data."""

from __future__ import annotations

from typing import Any

from litert_build.worker.intermediate import Converted, ModelInputs, Traced
from litert_build.worker.job import Job
from litert_build.worker.runner import step


def should_evaluate(job: Job, verification: dict[str, Any]) -> bool:
    """Evaluate when the variant has ``eval:`` data and its verification passed."""
    return job.settings.eval is not None and verification["status"] == "passed"


@step("evaluating on the eval data")
def evaluate(job: Job, converted: Converted, inputs: ModelInputs, traced: Traced) -> dict[str, Any]:
    """The manifest's ``eval`` record (see :mod:`litert_build.worker.evaluate`); fails a variant
    that drops more than ``max_drop``."""
    from litert_build.worker.data import load_arrays
    from litert_build.worker.evaluate import evaluate as evaluate_variant
    from litert_build.worker.verify import LiteRTRunner

    block = job.settings.eval
    arrays = load_arrays(job.root, block, "eval")
    runner = LiteRTRunner(converted.flatbuffer, inputs.signature.names)
    return evaluate_variant(runner, traced.serving, arrays, block)
