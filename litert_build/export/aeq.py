"""ai-edge-quantizer (AEQ) recipes applied to the float32 artifact: int4/int8 weights and more.

The TensorFlow converter has no int4; AEQ rewrites a float .tflite by recipe. It also
skips what it does not support (e.g. the GATHER of a Keras Embedding) without a word,
and some recipes quantize nothing, so :func:`quantized_weights` compares the float and
the quantized flatbuffers tensor by tensor: which float weights became integers, which
stayed float and which ops use those.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from litert_build.errors import ConversionError

INTEGER_TYPES = {"INT2", "INT4", "INT8", "UINT8", "INT16"}


def quantize(float_flatbuffer: bytes, recipe: str, root: Path,
             calibration: list[dict[str, Any]] | None, signature_key: str) -> bytes:
    """Apply a named recipe of ``ai_edge_quantizer.recipe`` or a recipe JSON file."""
    from ai_edge_quantizer import quantizer
    from ai_edge_quantizer import recipe as recipes

    if recipe.endswith(".json"):
        steps = json.loads((root / recipe).read_text())
    else:
        steps = getattr(recipes, recipe)()
    try:
        qz = quantizer.Quantizer(float_flatbuffer, steps)
        result = None
        if qz.need_calibration:
            if not calibration:
                raise ConversionError(
                    f"recipe '{recipe}' quantizes activations and needs calibration data: add "
                    "calibration: {npz: ...} or {builder: ...} to this variant or its model.")
            result = qz.calibrate({signature_key: calibration})
        return bytes(qz.quantize(result).quantized_model)
    except ConversionError:
        raise
    except Exception as exc:
        raise ConversionError(
            f"ai-edge-quantizer failed with recipe '{recipe}': {type(exc).__name__}: "
            f"{str(exc).strip()[:2000]}") from exc


def _constant_tensors(flatbuffer: bytes) -> tuple[dict[str, tuple[str, int]], dict[str, Counter]]:
    """name -> (type, bytes) of every constant tensor, and name -> ops that read it."""
    from ai_edge_litert import schema_py_generated as s

    from .inventory import enum_names, op_names_of

    types = enum_names(s.TensorType)
    model = s.Model.GetRootAsModel(flatbuffer, 0)
    codes = op_names_of(model)
    constants: dict[str, tuple[str, int]] = {}
    readers: dict[str, Counter] = {}
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        names = {}
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() else None
            size = (buffer.DataLength() or buffer.Size()) if buffer is not None else 0
            if size:
                name = tensor.Name().decode()
                names[t] = name
                constants[name] = (types.get(tensor.Type(), "?"), int(size))
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            for t in op.InputsAsNumpy() if op.InputsLength() else []:
                if int(t) in names:
                    readers.setdefault(names[int(t)], Counter())[codes[op.OpcodeIndex()]] += 1
    return constants, readers


def quantized_weights(float_flatbuffer: bytes, quantized: bytes) -> dict[str, Any]:
    """Which float weights the recipe turned into integers, as a fraction of float weight bytes."""
    before, readers = _constant_tensors(float_flatbuffer)
    after, _ = _constant_tensors(quantized)
    floats = {name: size for name, (dtype, size) in before.items() if dtype in ("FLOAT32", "FLOAT16")}
    done = {name: after[name][0] for name in floats if after.get(name, ("",))[0] in INTEGER_TYPES}
    skipped = sorted(set(floats) - set(done))
    skipped_ops: Counter = Counter()
    for name in skipped:
        skipped_ops.update(readers.get(name, Counter()))
    total = sum(floats.values())
    quantized_bytes = sum(floats[name] for name in done)
    return {
        "float_weight_bytes": total,
        "quantized_weight_bytes": quantized_bytes,
        "fraction": round(quantized_bytes / total, 4) if total else 0.0,
        "quantized": {name: done[name] for name in sorted(done)},
        "skipped": skipped,
        "skipped_ops": dict(sorted(skipped_ops.items())),
    }


def check_expected(record: dict[str, Any], minimum: float | None, recipe: str) -> None:
    if minimum is None or record["fraction"] >= minimum:
        return
    ops = ", ".join(f"{op} x{n}" for op, n in record["skipped_ops"].items()) or "none"
    raise ConversionError(
        f"recipe '{recipe}' quantized {record['fraction']:.1%} of the float weight bytes "
        f"({record['quantized_weight_bytes']:,} of {record['float_weight_bytes']:,}), less than "
        f"expect_quantized: {minimum}. Weights left float are read by: {ops}. Pick another recipe, "
        "or lower expect_quantized.")
