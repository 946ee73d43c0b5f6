"""The conversion worker: one child process per model, for one or several of its variants.

    python -m litert_build.worker.main SPEC.json RESULT.json

SPEC.json is ``{"specs": [spec, ...]}``: one variant, or several variants of one model that share
its source and input signature (:mod:`litert_build.build.sessions` groups them). The model is
loaded, its input signature inferred, its serving function traced and saved once
(:func:`build_shared`); then each variant is converted, its ops checked, verified in the stock
LiteRT interpreter, evaluated, described and written atomically (:func:`build_variant`), failing
alone. Only the worker (with the export engine it drives) imports TensorFlow and Keras.

It always writes RESULT.json: ``{"results": [...], "started": t, "finished": t}``, one entry per
spec in order, ``{"ok": true, "summary": ..., "steps": {...}}`` or ``{"ok": false, "error": ...}``;
when a step all the variants share fails, only the first spec has an entry (the others are
built again alone, so their messages name them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ["KERAS_BACKEND"] = "tensorflow"  # before Keras is imported, whatever saved the model

from litert_build.config.kinds import KINDS  # noqa: E402
from litert_build.errors import LiteRTBuildError, ManifestError, VerificationError  # noqa: E402
from litert_build.worker.runner import doing, set_doing, set_variant, stamp_count, timings  # noqa: E402


def build(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Build the variants in ``specs`` (one model) from one load and trace: a result per spec,
    in order. An error in the shared steps raises (it is the first spec's failure).

    Every variant's calibration data and Keras reference outputs are made before the first
    conversion; then the Keras model's weights are released (unless a variant evaluates on
    ``eval:`` data, which calls the model later), so the converter never runs beside them."""
    from litert_build.worker.job import Job
    from litert_build.worker.weights import release_weights

    jobs = [Job.from_spec(spec) for spec in specs]
    with contextlib.ExitStack() as stack:
        mark = stamp_count()
        shared = build_shared(jobs[0], stack, [job.kind for job in jobs])
        shared_steps = timings(mark)
        prepared = [_prepare(job, shared, len(jobs) > 1) for job in jobs]
        if not any(job.settings.eval is not None for job in jobs):
            saved = shared[3]
            # The usual SavedModel deferred: keep the weights without a file to restore them from.
            release_weights(shared[0].model, None if saved.folder else set(saved.standins))
        results = []
        for job, (early, steps) in zip(jobs, prepared, strict=True):
            if len(jobs) > 1:
                set_variant(job.variant)
            result = early if early.get("ok") is False else _variant_result(job, shared, early)
            result["steps"] = {**steps, **result.get("steps", {})}
            results.append(result)
    # The shared steps are counted once, in the first variant's steps (the build records' breakdown).
    results[0]["steps"] = {**shared_steps, **results[0].get("steps", {})}
    return results


def build_shared(job, stack: contextlib.ExitStack, kinds: list[str] | None = None) -> tuple:
    """The steps every variant of a model shares: load, signature, trace, save (with stand-in
    weights too when the model's ``stand_ins:`` setting and size say so and a variant of
    ``kinds`` is made by the converter: float32, float16 and dynamic_range from them, the other
    quantizing kinds their float32 size; not ai-edge-quantizer recipes, which start from the
    usual float32)."""
    set_doing("importing TensorFlow and Keras")
    import keras  # noqa: F401 - timed as its own step (a warm worker has it already)
    import tensorflow  # noqa: F401

    from litert_build.export import standin
    from litert_build.worker import allocator
    from litert_build.worker.steps.load import load
    from litert_build.worker.steps.save import save
    from litert_build.worker.steps.signature import signature
    from litert_build.worker.steps.trace import trace
    from litert_build.worker.weights import weight_bytes

    loaded = load(job)
    size = weight_bytes(loaded.model)
    allocator.for_model(size)
    inputs = signature(job, loaded)
    traced = trace(job, loaded, inputs)
    kinds = kinds or [job.kind]
    standins = (any(KINDS[kind].pipeline == "convert" for kind in kinds)
                and standin.enabled(job.settings.stand_ins, size))
    saved = save(job, loaded, traced, stack, standins=standins,
                 only_standin_kinds=all(kind in standin.KINDS for kind in kinds))
    return loaded, inputs, traced, saved


def _prepare(job, shared: tuple, several: bool) -> tuple[dict[str, Any], dict[str, float]]:
    """(``{"calibration": ..., "reference": ...}``, or this variant's failure; the steps' times):
    what a variant needs from the Keras model, before any conversion."""
    from litert_build.worker.steps.calibrate import calibrate
    from litert_build.worker.steps.reference import reference

    _, inputs, traced, _ = shared
    if several:
        set_variant(job.variant)
    mark = stamp_count()
    try:
        calibration = calibrate(job, inputs)
        prepared = {"calibration": calibration, "reference": reference(job, traced, calibration, inputs)}
    except Exception as exc:  # noqa: BLE001 - reported as this variant's failure
        prepared = failure(exc, job.model, job.variant, job.root)
    return prepared, timings(mark)


def build_variant(job, shared: tuple, prepared: dict[str, Any]) -> str:
    """One variant from the shared records and its own calibration and reference outputs: its
    one-line summary. The steps are imported here, inside the error handling: a failing import is
    reported."""
    from litert_build.worker.steps.check_ops import check_ops
    from litert_build.worker.steps.convert import convert
    from litert_build.worker.steps.describe import describe, summary
    from litert_build.worker.steps.evaluate import evaluate, should_evaluate
    from litert_build.worker.steps.quantize import quantize
    from litert_build.worker.steps.verify import verify
    from litert_build.worker.steps.write import write

    loaded, inputs, traced, saved = shared
    calibration = prepared["calibration"]
    converted = convert(job, saved, calibration)
    if KINDS[job.kind].pipeline == "quantize":
        converted = quantize(job, converted, calibration)
    ops = check_ops(job, converted)
    try:
        verification = verify(job, converted, traced, ops, prepared["reference"])
    except VerificationError as exc:
        if not converted.stand_ins:
            raise
        # A layout export/standin.py mapped wrongly: the usual conversion decides.
        converted = dataclasses.replace(
            convert(job, dataclasses.replace(saved, standin_folder=None), calibration),
            stand_in_fallback=f"the stand-in artifact failed verification ({exc})")
        ops = check_ops(job, converted)
        verification = verify(job, converted, traced, ops, prepared["reference"])
    evaluation = evaluate(job, converted, inputs, traced) if should_evaluate(job, verification) else None
    described = describe(job, loaded, inputs, traced, calibration, converted, ops, verification, evaluation)
    write(job, described)
    return summary(described.manifest)


def _variant_result(job, shared: tuple, prepared: dict[str, Any]) -> dict[str, Any]:
    """:func:`build_variant`'s result entry: a failure is this variant's alone."""
    mark = stamp_count()
    try:
        return {"ok": True, "summary": build_variant(job, shared, prepared), "steps": timings(mark)}
    except Exception as exc:  # noqa: BLE001 - reported as this variant's failure
        return failure(exc, job.model, job.variant, job.root)


def failure(exc: Exception, model: str, variant: str, root: Path) -> dict[str, Any]:
    """A result entry for an exception: its message for a known error; for anything else (a bug,
    a full disk) one line naming the step it happened in, the stack in a log file."""
    if isinstance(exc, LiteRTBuildError | ManifestError):
        return {"ok": False, "error": str(exc)}
    from litert_build.failures import describe
    from litert_build.plan.layout import log_dir

    return {"ok": False, "error": describe(exc, doing(), log_dir(root), f"{model}:{variant}")}


def build_aot(spec: dict[str, Any]) -> dict[str, Any]:
    """Compile the base variant's artifact for one NPU target; verify it where it can run."""
    from litert_build.worker.job import Job
    from litert_build.worker.steps.aot import (
        compile_target,
        compiled_summary,
        describe_compiled,
        read_base,
        verify_compiled,
    )
    from litert_build.worker.steps.write import write

    job = Job.from_spec(spec)
    base = read_base(job)
    compiled = compile_target(job, base)
    verification = verify_compiled(job, base, compiled)
    write(job, describe_compiled(job, base, compiled, verification))
    return {"ok": True, "summary": compiled_summary(job, compiled, verification)}


def build_llm(spec: dict[str, Any]) -> str:
    """A CausalLM's prefill/decode artifact and its .litertlm (:mod:`litert_build.worker.steps.llm`)."""
    from litert_build.worker.job import Job
    from litert_build.worker.steps.llm import build as build_llm_variant

    set_doing("importing TensorFlow and Keras")
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    return build_llm_variant(Job.from_spec(spec))


def main(argv: list[str]) -> int:
    """Build the specs in ``argv[0]``, write the results to ``argv[1]``; the exit code says if
    the first spec built."""
    started = time.time()
    resident = _memory("VmRSS")  # a warm worker starts with the zygote's (shared) pages
    spec_path, result_path = argv
    specs = json.loads(Path(spec_path).read_text())["specs"]
    first = specs[0]
    mark = stamp_count()
    try:
        pipeline = KINDS[first["settings"]["kind"]].pipeline
        if pipeline == "compile":
            results = [{"ok": True, "summary": build_aot(first), "steps": timings(mark)}]
        elif pipeline == "llm":
            results = [{"ok": True, "summary": build_llm(first), "steps": timings(mark)}]
        else:
            results = build(specs)
    except Exception as exc:  # noqa: BLE001 - a shared step failed: the first spec's failure
        results = [failure(exc, first["model"], first["variant"], Path(first["root"]))]
    code = 0 if results[0]["ok"] else 1
    outcome = {"results": results, "started": started, "finished": time.time(),
               "peak_rss": max(0, _memory("VmHWM") - resident)}
    try:
        Path(result_path).write_text(json.dumps(outcome))
    except OSError as exc:  # e.g. the disk is full: say it on stdout, which the parent shows
        print(f"litert-build worker: cannot write its result ({exc}); it was: {outcome}", flush=True)
        return 1
    return code


def _memory(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (its peak) of this process, in bytes; 0 if unknown."""
    from litert_build.processes import proc_bytes

    return proc_bytes("/proc/self/status", field) or 0


def exit_now(code: int) -> None:
    """Leave without tearing TensorFlow down (~1 s of finalizers and thread joins per process):
    every file this process writes is closed by then and its result is on disk, so only the
    standard streams need flushing."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
