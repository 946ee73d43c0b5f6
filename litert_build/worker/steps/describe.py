"""Step ``describe``: the signature manifest (``<model>.<variant>.json``) and the runtime assets, and
the one-line summary the build prints."""

from __future__ import annotations

import hashlib
from typing import Any

from litert_build.export.inventory import OpInventory
from litert_build.worker.intermediate import (
    Calibration,
    CheckedOps,
    Converted,
    Described,
    LoadedModel,
    ModelInputs,
    Traced,
)
from litert_build.worker.job import Job
from litert_build.worker.runner import step


@step("describing the artifact")
def describe(job: Job, loaded: LoadedModel, inputs: ModelInputs, traced: Traced,
             calibration: Calibration | None, converted: Converted, ops: CheckedOps,
             verification: dict[str, Any], evaluation: dict[str, Any] | None) -> Described:
    """The manifest of a converted artifact: the common fields, its quantization, signatures and
    where its names came from, the eval result, the KerasHub record and, with a detached
    preprocessor, the runtime assets (their files go into ``Described.assets``)."""
    from litert_build.export.inventory import signatures

    flatbuffer, serving = converted.flatbuffer, traced.serving
    manifest = common_manifest(job, flatbuffer, ops.inventory, verification, loaded.weights_sha256)
    manifest.update({
        "quantization": _quantization(job, converted, ops, calibration),
        "runtime": "flex" if ops.inventory.flex else "builtin",
        "signatures": signatures(flatbuffer, inputs.signature.names, serving.output_names),
        "input_signature_origin": inputs.signature.origin,
        "generated_input_names": inputs.signature.generated_names(),
        "output_names_origin": serving.output_names_origin,
        "eval": evaluation,
        "stand_in_weights": converted.stand_ins or None,
        "stand_in_fallback": converted.stand_in_fallback,
        "kerashub": ({**(inputs.hub.record if inputs.hub else {"task": type(loaded.model).__name__}),
                      "rewrites": traced.rewrites} if loaded.from_hub else None),
    })
    assets: dict[str, bytes] = {}
    if inputs.preprocessor is not None:
        manifest["assets"], assets = _runtime_assets(job, inputs.preprocessor)
    return Described(flatbuffer, manifest, assets)


def common_manifest(job: Job, flatbuffer: bytes, inventory: OpInventory, verification: dict[str, Any],
                    weights_digest: str | None) -> dict[str, Any]:
    """The fields every signature manifest has, whatever made the artifact. ``weights_digest``
    is :func:`litert_build.worker.weights.weights_sha256` of the Keras model it was converted from
    (an AOT artifact: its base artifact's)."""
    from litert_build.export.constants import constant_bytes_by_origin
    from litert_build.versions import tool_versions

    return {
        "schema": 1,
        "model": job.model,
        "version": job.version,
        "variant": job.variant,
        "kind": job.kind,
        "artifact": {"file": job.tflite.name, "size": len(flatbuffer),
                     "sha256": hashlib.sha256(flatbuffer).hexdigest(), "layout": layout(flatbuffer)},
        "ops": inventory.to_json(),
        "constants": constant_bytes_by_origin(flatbuffer),
        "flex_ops": sorted(inventory.flex),
        "inputs_xxh3": job.input_hashes,
        "build_key": job.cache_key,
        "settings": job.settings.key_json(),
        "tools": tool_versions(),
        "verification": verification,
        "weights_sha256": weights_digest,
    }


def layout(flatbuffer: bytes) -> str:
    """The manifest's ``artifact.layout``: ``inline`` (every constant buffer inside the
    flatbuffer, the format's default) or ``buffer_offsets`` (buffers after the flatbuffer,
    addressed by offset: the converter's layout past the flatbuffer's 2 GB limit, or with
    ``converter_options: {experimental_use_buffer_offset: true}``)."""
    from litert_build.export.lean_converter import uses_buffer_offsets

    return "buffer_offsets" if uses_buffer_offsets(flatbuffer) else "inline"


def _quantization(job: Job, converted: Converted, ops: CheckedOps,
                  calibration: Calibration | None) -> dict[str, Any]:
    """The manifest's ``quantization``: kind, I/O type, size against float32, float ops, the
    calibration record and, for ``kind: aeq``, what the recipe quantized."""
    return {
        "kind": job.kind,
        "io": job.settings.io,
        "float32_size": converted.float32_size,
        "size_ratio_vs_float32": round(len(converted.flatbuffer) / converted.float32_size, 4),
        "float_ops": sorted(ops.float_ops),
        "float_op_counts": ops.float_ops,
        "calibration": calibration.record if calibration else None,
        **({"ai_edge_quantizer": converted.aeq} if converted.aeq else {}),
    }


def _runtime_assets(job: Job, preprocessor: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(the manifest's ``assets`` record, the files): what an app needs to feed the artifact,
    in ``<model>.assets/`` beside it, each file with its sha256."""
    from litert_build.export.kerashub_assets import runtime_assets

    files, record = runtime_assets(preprocessor)
    record["folder"] = assets_folder(job).name
    record["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    return record, files


def assets_folder(job: Job):
    """``<model>.assets/`` beside the artifact."""
    return job.tflite.parent / f"{job.model}.assets"


def summary(manifest: dict[str, Any]) -> str:
    """One line for the build's console: size (and ratio to float32), verification, eval."""
    from litert_build.records import max_abs_error, worst_sqnr_db

    verification = manifest["verification"]
    size = manifest["artifact"]["size"]
    ratio = manifest["quantization"]["size_ratio_vs_float32"]
    parts = [f"{size:,} bytes ({ratio:.2f}x float32)" if manifest["kind"] != "float32" else f"{size:,} bytes"]
    if verification["status"] == "passed":
        sqnr = ""
        if verification["metric"] == "sqnr":
            sqnr = f"SQNR {worst_sqnr_db(verification):.1f} dB >= {verification['min_sqnr_db']:g}, "
        parts.append(f"verified ({verification['samples']} samples, {sqnr}"
                     f"max abs error {max_abs_error(verification):.2g})")
    else:
        parts.append(f"NOT verified: {verification['reason']}")
    if manifest["eval"]:
        e = manifest["eval"]
        parts.append(f"{e['metric']} {e['variant']:.4f} (Keras float {e['keras_float']:.4f})")
    if manifest.get("stand_in_fallback"):
        parts.append(f"stand-in weights not used: {manifest['stand_in_fallback']}")
    return ", ".join(parts)
