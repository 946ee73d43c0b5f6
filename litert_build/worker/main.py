"""The conversion worker: one child process per artifact.

    python -m litert_build.worker.main SPEC.json RESULT.json

Runs the steps of :mod:`litert_build.worker.steps` in order: load the model, infer its input
signature, trace it, convert it, check its ops, verify it in the stock LiteRT interpreter, evaluate
it, describe it and write the artifact and its JSON manifest atomically. Only the worker (with
the export engine it drives) imports TensorFlow and Keras. It always writes RESULT.json:
``{"ok": true, "summary": ...}`` or ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ["KERAS_BACKEND"] = "tensorflow"  # before Keras is imported, whatever saved the model

from litert_build.config.kinds import KINDS  # noqa: E402
from litert_build.errors import LiteRTBuildError, ManifestError  # noqa: E402
from litert_build.worker.runner import doing  # noqa: E402


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Convert one model/variant: the steps in order, each taking the records of the ones before.
    The steps are imported here, inside ``main``'s error handling: a failing import is reported."""
    from litert_build.worker.job import Job
    from litert_build.worker.steps.calibrate import calibrate
    from litert_build.worker.steps.check_ops import check_ops
    from litert_build.worker.steps.convert import convert
    from litert_build.worker.steps.describe import describe, summary
    from litert_build.worker.steps.evaluate import evaluate, should_evaluate
    from litert_build.worker.steps.load import load
    from litert_build.worker.steps.quantize import quantize
    from litert_build.worker.steps.signature import signature
    from litert_build.worker.steps.trace import trace
    from litert_build.worker.steps.verify import verify
    from litert_build.worker.steps.write import write

    job = Job.from_spec(spec)
    loaded = load(job)
    inputs = signature(job, loaded)
    traced = trace(job, loaded, inputs)
    calibration = calibrate(job, inputs)
    converted = convert(job, loaded, traced, calibration)
    if KINDS[job.kind].pipeline == "quantize":
        converted = quantize(job, converted, calibration)
    ops = check_ops(job, converted)
    verification = verify(job, converted, traced, ops, calibration, inputs)
    evaluation = evaluate(job, converted, inputs, traced) if should_evaluate(job, verification) else None
    described = describe(job, loaded, inputs, traced, calibration, converted, ops, verification, evaluation)
    write(job, described)
    return {"ok": True, "summary": summary(described.manifest)}


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


def main(argv: list[str]) -> int:
    """Build the spec in ``argv[0]``, write the result to ``argv[1]``; the exit code says if it
    built. An unexpected exception becomes one line naming the step it happened in (the
    stack goes to a log file)."""
    spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text())
    try:
        compiled = KINDS[spec["settings"]["kind"]].pipeline == "compile"
        result = build_aot(spec) if compiled else build(spec)
        code = 0
    except (LiteRTBuildError, ManifestError) as exc:
        result, code = {"ok": False, "error": str(exc)}, 1
    except Exception as exc:  # a bug, or a full disk: one line for the user, the stack in a log
        from litert_build.failures import describe
        from litert_build.plan.layout import log_dir

        where = f"{spec['model']}:{spec['variant']}"
        result, code = {"ok": False, "error": describe(exc, doing(), log_dir(Path(spec["root"])), where)}, 1
    try:
        Path(result_path).write_text(json.dumps(result))
    except OSError as exc:  # e.g. the disk is full: say it on stdout, which the parent shows
        print(f"litert-build worker: cannot write its result ({exc}); it was: {result}", flush=True)
        return 1
    return code


def exit_now(code: int) -> None:
    """Leave without tearing TensorFlow down (~1 s of finalizers and thread joins per process):
    every file this process writes is closed by then and its result is on disk, so only the
    standard streams need flushing."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv[1:]))
