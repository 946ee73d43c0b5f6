"""Step ``calibrate``: the variant's calibration samples (seeded selection) and the held-out rest."""

from __future__ import annotations

from litert_build.worker.intermediate import Calibration, ModelInputs
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("loading the calibration data")
def calibrate(job: Job, inputs: ModelInputs) -> Calibration | None:
    """The ``calibration:`` data checked against the signature, split by a seeded permutation into
    ``samples`` to calibrate on and up to ``verify.samples`` held out for verification; None
    without a ``calibration:`` block."""
    import numpy as np

    from litert_build.worker.data import check_against_signature, load_arrays, samples, source_label

    block = job.settings.calibration
    if block is None:
        return None
    tensors, names = inputs.signature.tensors, inputs.signature.names
    arrays = load_arrays(job.root, block, "calibration")
    count = check_against_signature(arrays, tensors, "calibration",
                                    label=source_label(block, "calibration"))
    order = np.random.default_rng(block.seed).permutation(count)
    used = order[: min(block.samples, count)]
    held_out = order[len(used):][: job.settings.verify.samples]
    return Calibration(
        representative=[dict(zip(names, s, strict=True)) for s in samples(arrays, tensors, used)],
        held_out=samples(arrays, tensors, held_out),
        record={"available": int(count), "used": int(len(used)), "held_out_for_verify": int(len(held_out)),
                "seed": block.seed},
    )
