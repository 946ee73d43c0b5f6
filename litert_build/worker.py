"""The conversion worker: one child process per artifact.

    python -m litert_build.worker SPEC.json RESULT.json

Loads the model, converts it, checks its ops, verifies it in the stock LiteRT
interpreter and writes the artifact and its JSON manifest atomically. This is the
only module that imports TensorFlow and Keras. It always writes RESULT.json:
``{"ok": true, "summary": ...}`` or ``{"ok": false, "error": ...}``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

os.environ["KERAS_BACKEND"] = "tensorflow"  # before Keras is imported, whatever saved the model

from .errors import ConversionError, LiteRTBuildError, ManifestError  # noqa: E402


def tool_versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    versions = {"python": platform.python_version(), "litert-build": __version__}
    for package in ("tensorflow", "keras", "ai-edge-litert"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def build(spec: dict[str, Any]) -> dict[str, Any]:
    import hashlib

    import keras

    from .artifacts import atomic_write_bytes, dumps_manifest
    from .export.adapter import make_serving_function
    from .export.converter import convert
    from .export.inventory import op_inventory, signatures
    from .export.signature import infer_input_signature
    from .sources import load_model
    from .verify import STOCK_RUNTIME, skipped, verify

    model_name, variant = spec["model"], spec["variant"]
    settings = spec["settings"]
    root = Path(spec["root"])

    keras.utils.set_random_seed(0)  # builders that forget to seed still build the same model
    try:
        model = load_model(root, spec["source"], settings["safe_mode"], model_name)
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

    signature = infer_input_signature(
        model, model_name, settings.get("batch_size"), settings.get("inputs")
    )
    serving = make_serving_function(model, model_name, signature, settings.get("outputs"))
    flatbuffer = convert(
        serving.tf_function, model, settings.get("converter_options", {}), model_name, variant
    )

    inventory = op_inventory(flatbuffer)
    if inventory.custom and not settings.get("converter_options", {}).get("allow_custom_ops"):
        raise ConversionError(f"the graph needs custom ops {sorted(inventory.custom)}.")
    if inventory.flex:
        if not settings.get("allow_flex_ops"):
            raise ConversionError(
                f"the graph needs Select TF (Flex) ops, which the stock LiteRT runtime cannot run: "
                f"{', '.join(sorted(inventory.flex))}. Replace the layers that produce them, or set "
                "'allow_flex_ops: true' for this model in models.yaml and ship the Flex delegate "
                "with your app."
            )
        verification = skipped(
            f"needs the Select TF (Flex) delegate for {', '.join(sorted(inventory.flex))}, which "
            f"the stock runtime ({STOCK_RUNTIME}) does not include"
        )
    else:
        verification = verify(flatbuffer, serving, settings["verify"])

    tflite_path, manifest_path = root / spec["tflite"], root / spec["manifest"]
    manifest = {
        "schema": 1,
        "model": model_name,
        "version": spec["version"],
        "variant": variant,
        "kind": spec["kind"],
        "artifact": {
            "file": tflite_path.name,
            "size": len(flatbuffer),
            "sha256": hashlib.sha256(flatbuffer).hexdigest(),
        },
        "runtime": "flex" if inventory.flex else "builtin",
        "signatures": signatures(flatbuffer, signature.names, serving.output_names),
        "input_signature_origin": signature.origin,
        "output_names_origin": serving.output_names_origin,
        "ops": inventory.to_json(),
        "flex_ops": sorted(inventory.flex),
        "inputs_xxh3": spec["input_hashes"],
        "settings": settings,
        "tools": tool_versions(),
        "verification": verification,
    }
    atomic_write_bytes(tflite_path, flatbuffer)
    atomic_write_bytes(manifest_path, dumps_manifest(manifest))
    if verification["status"] == "passed":
        err = max(o["max_abs_error"] for o in verification["outputs"].values())
        check = f"verified ({verification['samples']} samples, max abs error {err:.2g})"
    else:
        check = f"NOT verified: {verification['reason']}"
    return {"ok": True, "summary": f"{len(flatbuffer):,} bytes, {check}"}


def main(argv: list[str]) -> int:
    spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text())
    try:
        result = build(spec)
        code = 0
    except (LiteRTBuildError, ManifestError) as exc:
        result, code = {"ok": False, "error": str(exc)}, 1
    except Exception as exc:  # unexpected: keep the traceback's end for the user
        tb = traceback.format_exc().strip().splitlines()
        result = {
            "ok": False,
            "error": f"unexpected {type(exc).__name__}: {exc}\n" + "\n".join(tb[-15:]),
        }
        code = 1
    Path(result_path).write_text(json.dumps(result))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
