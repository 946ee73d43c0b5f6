"""The steps of ``kind: aot``: compile a built variant's artifact for one NPU target, verify it
where it can run, describe it. The Keras model is not loaded."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from litert_build.errors import ConversionError
from litert_build.worker.intermediate import BaseArtifact, Compiled, Described
from litert_build.worker.job import Job
from litert_build.worker.runner import step
from litert_build.worker.steps.describe import common_manifest


@step("reading the base artifact")
def read_base(job: Job) -> BaseArtifact:
    """The base variant's artifact and manifest (built before this task: its ``after``)."""
    path = job.root / job.settings.base_tflite
    flatbuffer = path.read_bytes()
    return BaseArtifact(path, flatbuffer, json.loads((job.root / job.settings.base_manifest).read_text()))


@step("compiling for the target")
def compile_target(job: Job, base: BaseArtifact) -> Compiled:
    """Compile with the vendor's plugin (its SDK checked first); an output without a dispatch op
    is a copy of the base, not a compiled artifact, and fails."""
    from litert_build.export import aot
    from litert_build.export.inventory import op_inventory

    vendor, soc = job.settings.target.split("/")
    compiled, report = aot.compile_for_target(base.path, vendor, soc, job.settings.backend_options)
    inventory = op_inventory(compiled)
    if aot.DISPATCH_OP not in inventory.custom:
        raise ConversionError(
            f"target {vendor}/{soc}: the compiler offloaded nothing (no {aot.DISPATCH_OP} in its "
            "output, only a copy of the base model); not emitted as a compiled artifact.")
    return Compiled(vendor, soc, compiled, inventory, aot.offload_summary(report))


@step("verifying the compiled artifact")
def verify_compiled(job: Job, base: BaseArtifact, compiled: Compiled) -> dict[str, Any]:
    """Intel OpenVINO runs here (CompiledModel, against the base in the stock interpreter);
    other vendors need their device: skipped, with the reason."""
    from litert_build.export import aot
    from litert_build.worker.verify import skipped

    if compiled.vendor == "intel_openvino":
        return aot.verify_against_base(compiled.flatbuffer, base.flatbuffer,
                                       job.settings.backend_options, job.settings.verify)
    return skipped(f"needs a {compiled.vendor} {compiled.soc} device and its LiteRT dispatch library")


@step("describing the artifact")
def describe_compiled(job: Job, base: BaseArtifact, compiled: Compiled,
                      verification: dict[str, Any]) -> Described:
    """The compiled artifact's manifest: the common fields (weights digest, signatures and
    quantization kind from the base's manifest) and the ``aot`` record."""
    settings, flatbuffer, meta = job.settings, compiled.flatbuffer, base.manifest
    manifest = common_manifest(job, flatbuffer, compiled.inventory, verification, meta.get("weights_sha256"))
    manifest.update({
        "aot": {
            "target": settings.target, "vendor": compiled.vendor, "soc": compiled.soc,
            "base_variant": settings.base, "base_file": base.path.name,
            "base_sha256": hashlib.sha256(base.flatbuffer).hexdigest(),
            "backend_options": settings.backend_options,
            "compiler": settings.compiler_versions, "offload": compiled.offload,
            "size_ratio_vs_base": round(len(flatbuffer) / len(base.flatbuffer), 4),
        },
        "runtime": "dispatch",
        "runtime_api": ("ai_edge_litert.compiled_model.CompiledModel with the vendor's dispatch "
                        "library; the plain Interpreter cannot run DISPATCH_OP"),
        "signatures": meta["signatures"],
        "eval": None,
        "quantization": {"kind": meta["kind"], "size_ratio_vs_float32":
                         meta.get("quantization", {}).get("size_ratio_vs_float32"),
                         "float_ops": [], "float_op_counts": {}},
    })
    return Described(flatbuffer, manifest)


def compiled_summary(job: Job, compiled: Compiled, verification: dict[str, Any]) -> str:
    """One line for the build's console: size, offload, verification."""
    from litert_build.records import max_abs_error

    offload = compiled.offload
    summary = (f"{len(compiled.flatbuffer):,} bytes for {compiled.vendor}/{compiled.soc}, "
               f"{offload['ops_offloaded']}/{offload['ops_total']} ops offloaded, ")
    if verification["status"] == "passed":
        return summary + (f"verified with CompiledModel against {job.settings.base} "
                          f"(max abs error {max_abs_error(verification):.2g})")
    return summary + f"NOT verified: {verification['reason']}"
