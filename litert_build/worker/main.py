"""The conversion worker: one child process per artifact.

    python -m litert_build.worker.main SPEC.json RESULT.json

Loads the model, converts it, checks its ops, verifies it in the stock LiteRT
interpreter and writes the artifact and its JSON manifest atomically. This is the
only module that imports TensorFlow and Keras. It always writes RESULT.json:
``{"ok": true, "summary": ...}`` or ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ["KERAS_BACKEND"] = "tensorflow"  # before Keras is imported, whatever saved the model

from litert_build.errors import ConversionError, LiteRTBuildError, ManifestError  # noqa: E402


def build(spec: dict[str, Any]) -> dict[str, Any]:
    import contextlib
    import dataclasses

    import keras

    from litert_build.export.adapter import make_serving_function
    from litert_build.export.converter import convert
    from litert_build.export.inventory import float_ops, op_inventory, signatures
    from litert_build.export.kerashub import graph_rewrites, hub_signature, is_kerashub, tracked_layers
    from litert_build.export.signature import infer_input_signature
    from litert_build.worker.weights import weights_sha256

    model_name, variant = spec["model"], spec["variant"]
    settings = spec["settings"]
    kind = settings["kind"]
    root = Path(spec["root"])

    keras.utils.set_random_seed(0)  # builders that forget to seed still build the same model
    _doing("loading the model")
    model = _load_model(root, spec, settings, model_name)
    weights_digest = weights_sha256(model)  # as built and loaded, before any export step
    from_hub = is_kerashub(model)
    hub = None  # the registry's static signature, unless inputs: are given
    explicit = settings.get("inputs")
    if from_hub and not explicit:
        hub = hub_signature(model, settings, model_name)
        explicit = hub.inputs
    preprocessor = getattr(model, "preprocessor", None) if from_hub else None
    if preprocessor is not None:
        # The artifact takes model inputs (token ids, images), not raw text: detach the
        # preprocessor (its configuration and files ship as assets instead).
        model.preprocessor = None
    _doing("inferring the input signature")
    signature = infer_input_signature(model, model_name, settings.get("batch_size"), explicit)
    if hub is not None:
        signature = dataclasses.replace(signature, origin="kerashub")
    with graph_rewrites(model) if from_hub else contextlib.nullcontext([]) as rewrites:
        serving = make_serving_function(model, model_name, signature, settings.get("outputs"),
                                        hub.default_outputs if hub else ())
    _doing("loading the calibration data")
    calibration = _calibration(root, settings, signature) if settings.get("calibration") else None
    _doing("converting")

    # A quantized variant also converts float32 (from the same SavedModel) to measure its size;
    # an ai-edge-quantizer variant starts from that float32 artifact.
    quantizations = [settings] + ([{"kind": "float32"}] if kind not in ("float32", "aeq") else [])
    if kind == "aeq":
        quantizations = [{"kind": "float32"}]
    flatbuffers = convert(
        serving.tf_function, tracked_layers(model) if from_hub else [model],
        settings.get("converter_options", {}), model_name, variant,
        quantizations, calibration["representative"] if calibration else None,
    )
    flatbuffer = flatbuffers[0]
    float32_size = len(flatbuffers[-1])
    aeq_record = None
    if kind == "aeq":
        from litert_build.export import aeq
        from litert_build.export.converter import SIGNATURE_KEY

        flatbuffer = aeq.quantize(flatbuffers[0], settings["recipe"], root,
                                  calibration["representative"] if calibration else None, SIGNATURE_KEY)
        aeq_record = {"recipe": settings["recipe"], **aeq.quantized_weights(flatbuffers[0], flatbuffer)}
        aeq.check_expected(aeq_record, settings.get("expect_quantized"), settings["recipe"])

    _doing("checking the artifact's ops")
    inventory = op_inventory(flatbuffer)
    floats = float_ops(flatbuffer)
    _check_ops(inventory, floats, settings, flatbuffer)
    _doing("verifying the artifact against Keras")
    verification = _verify(flatbuffer, serving, inventory, settings, calibration,
                           hub.hints if hub else None)
    eval_result = None
    if settings.get("eval") and verification["status"] == "passed":
        from litert_build.worker.data import load_arrays
        from litert_build.worker.evaluate import evaluate
        from litert_build.worker.verify import LiteRTRunner

        _doing("evaluating on the eval data")
        arrays = load_arrays(root, settings["eval"], "eval")
        eval_result = evaluate(LiteRTRunner(flatbuffer, signature.names), serving, arrays,
                               settings["eval"])

    _doing("writing the artifact")
    tflite_path = root / spec["tflite"]
    manifest = _common_manifest(spec, flatbuffer, inventory, verification, weights_digest)
    manifest.update({
        "quantization": {
            "kind": kind,
            "io": settings.get("io", "float"),
            "float32_size": float32_size,
            "size_ratio_vs_float32": round(len(flatbuffer) / float32_size, 4),
            "float_ops": sorted(floats),
            "float_op_counts": floats,
            "calibration": calibration["record"] if calibration else None,
            **({"ai_edge_quantizer": aeq_record} if aeq_record else {}),
        },
        "runtime": "flex" if inventory.flex else "builtin",
        "signatures": signatures(flatbuffer, signature.names, serving.output_names),
        "input_signature_origin": signature.origin,
        "output_names_origin": serving.output_names_origin,
        "eval": eval_result,
        "kerashub": ({**(hub.record if hub else {"task": type(model).__name__}),
                      "rewrites": rewrites} if from_hub else None),
    })
    if preprocessor is not None:
        manifest["assets"] = _write_assets(tflite_path.parent, model_name, preprocessor)
    _write_outputs(spec, flatbuffer, manifest)
    return {"ok": True, "summary": _summary(manifest)}


def _common_manifest(spec: dict[str, Any], flatbuffer: bytes, inventory, verification,
                     weights_digest: str | None) -> dict[str, Any]:
    """The fields every signature manifest has, whatever made the artifact. ``weights_digest``
    is :func:`litert_build.worker.weights.weights_sha256` of the Keras model it was converted from
    (an AOT artifact: its base artifact's)."""
    import hashlib

    from litert_build.versions import tool_versions

    settings = spec["settings"]
    return {
        "schema": 1,
        "model": spec["model"],
        "version": spec["version"],
        "variant": spec["variant"],
        "kind": settings["kind"],
        "artifact": {"file": Path(spec["tflite"]).name, "size": len(flatbuffer),
                     "sha256": hashlib.sha256(flatbuffer).hexdigest()},
        "ops": inventory.to_json(),
        "flex_ops": sorted(inventory.flex),
        "inputs_xxh3": spec["input_hashes"],
        "build_key": spec["cache_key"],
        "settings": settings,
        "tools": tool_versions(),
        "verification": verification,
        "weights_sha256": weights_digest,
    }


def _write_outputs(spec: dict[str, Any], flatbuffer: bytes, manifest: dict[str, Any]) -> None:
    """The .tflite, then its manifest. The old manifest (and the provenance that names the
    files) goes first, so a visible manifest always matches the visible artifact, whenever
    the process is killed."""
    from litert_build.plan.layout import provenance_path
    from litert_build.store.files import atomic_write_bytes, dumps_manifest, remove_quietly

    root = Path(spec["root"])
    tflite_path, manifest_path = root / spec["tflite"], root / spec["manifest"]
    remove_quietly(manifest_path, provenance_path(tflite_path))
    atomic_write_bytes(tflite_path, flatbuffer)
    atomic_write_bytes(manifest_path, dumps_manifest(manifest))  # last: marks the build complete


def build_aot(spec: dict[str, Any]) -> dict[str, Any]:
    """Compile the base variant's artifact for one NPU target; verify it where it can run."""
    import hashlib
    import json

    from litert_build.export import aot
    from litert_build.export.inventory import op_inventory
    from litert_build.worker.verify import skipped

    settings, root = spec["settings"], Path(spec["root"])
    vendor, soc = settings["target"].split("/")
    base_path = root / settings["base_tflite"]
    base = base_path.read_bytes()
    base_meta = json.loads((root / settings["base_manifest"]).read_text())
    options = settings.get("backend_options", {})
    compiled, report = aot.compile_for_target(base_path, vendor, soc, options)
    inventory = op_inventory(compiled)
    if aot.DISPATCH_OP not in inventory.custom:
        raise ConversionError(
            f"target {vendor}/{soc}: the compiler offloaded nothing (no {aot.DISPATCH_OP} in its "
            "output, only a copy of the base model); not emitted as a compiled artifact.")
    offload = aot.offload_summary(report)
    if vendor == "intel_openvino":
        verification = aot.verify_against_base(compiled, base, options, settings["verify"])
    else:
        verification = skipped(f"needs a {vendor} {soc} device and its LiteRT dispatch library")
    manifest = _common_manifest(spec, compiled, inventory, verification, base_meta.get("weights_sha256"))
    manifest.update({
        "aot": {
            "target": settings["target"], "vendor": vendor, "soc": soc,
            "base_variant": settings["base"], "base_file": base_path.name,
            "base_sha256": hashlib.sha256(base).hexdigest(), "backend_options": options,
            "compiler": settings["compiler_versions"], "offload": offload,
            "size_ratio_vs_base": round(len(compiled) / len(base), 4),
        },
        "runtime": "dispatch",
        "runtime_api": ("ai_edge_litert.compiled_model.CompiledModel with the vendor's dispatch "
                        "library; the plain Interpreter cannot run DISPATCH_OP"),
        "signatures": base_meta["signatures"],
        "eval": None,
        "quantization": {"kind": base_meta["kind"], "size_ratio_vs_float32":
                         base_meta.get("quantization", {}).get("size_ratio_vs_float32"),
                         "float_ops": [], "float_op_counts": {}},
    })
    _write_outputs(spec, compiled, manifest)
    summary = (f"{len(compiled):,} bytes for {vendor}/{soc}, {offload['ops_offloaded']}/"
               f"{offload['ops_total']} ops offloaded, ")
    if verification["status"] == "passed":
        err = max(o["max_abs_error"] for o in verification["outputs"].values())
        summary += f"verified with CompiledModel against {settings['base']} (max abs error {err:.2g})"
    else:
        summary += f"NOT verified: {verification['reason']}"
    return {"ok": True, "summary": summary}


def _write_assets(folder: Path, model_name: str, preprocessor) -> dict[str, Any]:
    """Tokenizer / image-preprocessing assets next to the artifact, with their sha256."""
    import hashlib

    from litert_build.export.kerashub import runtime_assets
    from litert_build.store.files import atomic_write_bytes
    from litert_build.store.safepath import inside

    files, record = runtime_assets(preprocessor)
    assets_dir = folder / f"{model_name}.assets"
    for name, data in files.items():  # names come from the preset's tokenizer: keep them inside
        atomic_write_bytes(inside(assets_dir, name), data)
    record["folder"] = assets_dir.name
    record["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    return record


def _load_model(root: Path, spec: dict[str, Any], settings: dict[str, Any], model_name: str):
    from litert_build.worker.load import load_model

    try:
        return load_model(root, spec["source"], settings["safe_mode"], model_name)
    except LiteRTBuildError:
        raise
    except Exception as exc:
        origin = spec["source"].get("path") or spec["source"]["module"]
        hint = ""
        if "safe_mode" in str(exc):
            hint = (" If you trust this file, set 'safe_mode: false' for this model in models.yaml;"
                    " better, rebuild it without Python lambdas (or use a builder: source).")
        raise ConversionError(
            f"could not load the model from {origin}: {type(exc).__name__}: {exc}{hint}"
        ) from exc


def _calibration(root: Path, settings: dict[str, Any], signature) -> dict[str, Any]:
    """Calibration samples (seeded selection) and the held-out rest used for verification."""
    import numpy as np

    from litert_build.worker.data import check_against_signature, load_arrays, samples, source_label

    block = settings["calibration"]
    arrays = load_arrays(root, block, "calibration")
    count = check_against_signature(arrays, signature.tensors, "calibration",
                                    label=source_label(block, "calibration"))
    order = np.random.default_rng(block["seed"]).permutation(count)
    used = order[: min(block["samples"], count)]
    held_out = order[len(used):][: settings["verify"]["samples"]]
    calib = samples(arrays, signature.tensors, used)
    return {
        "representative": [dict(zip(signature.names, s, strict=True)) for s in calib],
        "held_out": samples(arrays, signature.tensors, held_out),
        "record": {"available": int(count), "used": int(len(used)), "held_out_for_verify": int(len(held_out)),
                   "seed": block["seed"]},
    }


QUANTIZED_WEIGHT_KINDS = ("dynamic_range", "float16", "int8", "int16x8")  # aeq: expect_quantized


def _check_ops(inventory, floats: dict[str, int], settings: dict[str, Any],
               flatbuffer: bytes) -> None:
    if inventory.custom and not settings.get("converter_options", {}).get("allow_custom_ops"):
        raise ConversionError(f"the graph needs custom ops {sorted(inventory.custom)}.")
    if inventory.flex and not settings.get("allow_flex_ops"):
        raise ConversionError(
            f"the graph needs Select TF (Flex) ops, which the stock LiteRT runtime cannot run: "
            f"{', '.join(sorted(inventory.flex))}. Replace the layers that produce them, or set "
            "'allow_flex_ops: true' for this model in models.yaml and ship the Flex delegate "
            "with your app."
        )
    if settings["kind"] in QUANTIZED_WEIGHT_KINDS:
        from litert_build.export.inventory import MIN_WEIGHT_ELEMENTS, float_weights

        left = float_weights(flatbuffer)
        if left:
            listed = ", ".join(f"{op} x{n}" for op, n in left.items())
            raise ConversionError(
                f"kind '{settings['kind']}' left the weights of these ops float32: {listed} (each "
                f"with {MIN_WEIGHT_ELEMENTS:,}+ values). The artifact would be float in all but name; "
                "check the calibration data and the converter's log, or use kind: float32.")
    if settings["kind"] == "int8" and settings.get("strict") and floats:
        listed = ", ".join(f"{op} x{n}" for op, n in floats.items())
        raise ConversionError(
            f"strict int8: these ops stay float: {listed}. Replace the layers that produce them "
            "(e.g. LayerNormalization, GELU) or drop 'strict: true' to allow float islands."
        )


def _verify(flatbuffer: bytes, serving, inventory, settings: dict[str, Any], calibration,
            hints=None) -> dict[str, Any]:
    import re

    from litert_build.errors import VerificationError
    from litert_build.worker.verify import STOCK_RUNTIME, skipped, verify

    if inventory.flex:
        return skipped(
            f"needs the Select TF (Flex) delegate for {', '.join(sorted(inventory.flex))}, which "
            f"the stock runtime ({STOCK_RUNTIME}) does not include"
        )
    inputs, origin = None, "random"
    if calibration and calibration["held_out"]:
        inputs, origin = calibration["held_out"], "held-out calibration"
    elif calibration:  # every sample went into calibration: verify on those, and say so
        inputs = [list(r.values()) for r in calibration["representative"]]
        inputs, origin = inputs[: settings["verify"]["samples"]], "calibration (none held out)"
    try:
        return verify(flatbuffer, serving, settings["verify"], inputs, origin, hints)
    except VerificationError as exc:
        ops = re.findall(r"\((\w+)\) failed to (?:prepare|invoke)", str(exc))
        if settings["kind"] == "int16x8" and ops:
            raise ConversionError(
                f"the 16x8 artifact does not run: {', '.join(sorted(set(ops)))} has no 16x8 kernel "
                "in the stock runtime. Use kind: int8 for this model."
            ) from exc
        raise


def _summary(manifest: dict[str, Any]) -> str:
    verification = manifest["verification"]
    size = manifest["artifact"]["size"]
    ratio = manifest["quantization"]["size_ratio_vs_float32"]
    parts = [f"{size:,} bytes ({ratio:.2f}x float32)" if manifest["kind"] != "float32" else f"{size:,} bytes"]
    if verification["status"] == "passed":
        err = max(o["max_abs_error"] for o in verification["outputs"].values())
        sqnr = ""
        if verification["metric"] == "sqnr":
            worst = min(o["sqnr_db"] for o in verification["outputs"].values())
            sqnr = f"SQNR {worst:.1f} dB >= {verification['min_sqnr_db']:g}, "
        parts.append(f"verified ({verification['samples']} samples, {sqnr}max abs error {err:.2g})")
    else:
        parts.append(f"NOT verified: {verification['reason']}")
    if manifest["eval"]:
        e = manifest["eval"]
        parts.append(f"{e['metric']} {e['variant']:.4f} (Keras float {e['keras_float']:.4f})")
    return ", ".join(parts)


_DOING = ["starting the conversion worker"]


def _doing(what: str) -> None:
    """What the worker is doing now, for the message of an unexpected failure."""
    _DOING[0] = what


def main(argv: list[str]) -> int:
    spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text())
    try:
        result = build_aot(spec) if spec["settings"]["kind"] == "aot" else build(spec)
        code = 0
    except (LiteRTBuildError, ManifestError) as exc:
        result, code = {"ok": False, "error": str(exc)}, 1
    except Exception as exc:  # a bug, or a full disk: one line for the user, the stack in a log
        from litert_build.failures import describe
        from litert_build.plan.layout import log_dir

        where = f"{spec['model']}:{spec['variant']}"
        result, code = {"ok": False, "error": describe(exc, _DOING[0], log_dir(Path(spec["root"])), where)}, 1
    try:
        Path(result_path).write_text(json.dumps(result))
    except OSError as exc:  # e.g. the disk is full: say it on stdout, which the parent shows
        print(f"litert-build worker: cannot write its result ({exc}); it was: {result}", flush=True)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
