"""Step ``reference``: the verification inputs and the Keras model's outputs for them, before any
conversion, so that the Keras model's weights can be released while the converter runs (issue 16)."""

from __future__ import annotations

from litert_build.worker.intermediate import Calibration, ModelInputs, Reference, Traced
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("computing the Keras reference outputs")
def reference(job: Job, traced: Traced, calibration: Calibration | None, inputs: ModelInputs) -> Reference:
    """The held-out calibration samples when there are calibration data, else seeded random inputs
    (valid ones for KerasHub, from the registry's hints), and what Keras answers for each."""
    from litert_build.worker.verify import keras_outputs, random_inputs

    gate, serving = job.settings.verify, traced.serving
    samples, origin = verification_inputs(calibration, gate.samples)
    if samples is None:
        samples = random_inputs(serving, gate.samples, gate.seed, gate.int_range, inputs.hints)
    return Reference(samples, origin, keras_outputs(serving, samples))


def verification_inputs(calibration: Calibration | None, count: int) -> tuple[list | None, str]:
    """(inputs, their origin): the held-out calibration samples; every calibration sample when
    none was held out (and the origin says so); None (seeded random inputs) without calibration."""
    if calibration and calibration.held_out:
        return calibration.held_out, "held-out calibration"
    if calibration:
        inputs = [list(r.values()) for r in calibration.representative]
        return inputs[:count], "calibration (none held out)"
    return None, "random"
