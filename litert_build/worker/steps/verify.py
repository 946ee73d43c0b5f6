"""Step ``verify``: the artifact against the Keras model, in the stock LiteRT interpreter."""

from __future__ import annotations

import re
from typing import Any

from litert_build.errors import ConversionError, VerificationError
from litert_build.worker.intermediate import CheckedOps, Converted, Reference, Traced
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("verifying the artifact against Keras")
def verify(job: Job, converted: Converted, traced: Traced, ops: CheckedOps,
           reference: Reference) -> dict[str, Any]:
    """The manifest's ``verification`` record (see :func:`litert_build.worker.verify.verify`):
    skipped for Flex artifacts, which the stock runtime cannot run; else the artifact's outputs
    against the Keras outputs of the ``reference`` step. An int16x8 artifact whose ops have no 16x8
    kernel fails with what to do instead."""
    from litert_build.worker.verify import STOCK_RUNTIME, skipped
    from litert_build.worker.verify import verify as verify_artifact

    if ops.inventory.flex:
        return skipped(
            f"needs the Select TF (Flex) delegate for {', '.join(sorted(ops.inventory.flex))}, which "
            f"the stock runtime ({STOCK_RUNTIME}) does not include"
        )
    settings = job.settings
    try:
        return verify_artifact(converted.flatbuffer, traced.serving, settings.verify, reference.inputs,
                               reference.origin, expected=reference.outputs)
    except VerificationError as exc:
        failed = re.findall(r"\((\w+)\) failed to (?:prepare|invoke)", str(exc))
        if settings.kind == "int16x8" and failed:
            raise ConversionError(
                f"the 16x8 artifact does not run: {', '.join(sorted(set(failed)))} has no 16x8 kernel "
                "in the stock runtime. Use kind: int8 for this model."
            ) from exc
        raise

