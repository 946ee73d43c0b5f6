"""What a .tflite flatbuffer contains: operators and signatures, read without a runtime.

Reading the flatbuffer (instead of asking an interpreter) works for artifacts the
stock runtime cannot load, such as those with Select TF (Flex) ops.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class OpInventory:
    builtin: dict[str, int] = field(default_factory=dict)
    flex: dict[str, int] = field(default_factory=dict)  # Select TF ops, e.g. FlexMatrixInverse
    custom: dict[str, int] = field(default_factory=dict)  # other custom ops

    def to_json(self) -> dict[str, Any]:
        return {"builtin": self.builtin, "flex": self.flex, "custom": self.custom}


def tflite_schema():
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def enum_names(enum_class) -> dict[int, str]:
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)}


def op_names_of(model) -> list[str]:
    """The name of each operator code of a parsed model: the custom code (``FlexX``) or the
    builtin operator's name."""
    op_names = enum_names(tflite_schema().BuiltinOperator)
    names = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        custom = oc.CustomCode()
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        names.append(custom.decode() if custom else op_names.get(code, str(code)))
    return names


def buffer_data(flatbuffer: bytes, buffer) -> memoryview:
    """A buffer's bytes, read in place: inline in the flatbuffer, or at its offset after it (the
    buffer-offset layout); empty when it has none."""
    view = memoryview(flatbuffer)
    if buffer.Offset() > 1:
        return view[buffer.Offset(): buffer.Offset() + buffer.Size()]
    if not buffer.DataLength():
        return view[0:0]
    start = buffer._tab.Vector(buffer._tab.Offset(4))
    return view[start: start + buffer.DataLength()]


def operators(model) -> Iterator[tuple[Any, Any, str]]:
    """(subgraph, operator, operator name) for every operator of every subgraph."""
    codes = op_names_of(model)
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            yield subgraph, op, codes[op.OpcodeIndex()]


def op_inventory(flatbuffer: bytes) -> OpInventory:
    s = tflite_schema()
    model = s.Model.GetRootAsModel(flatbuffer, 0)
    op_names = enum_names(s.BuiltinOperator)
    codes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        custom = oc.CustomCode()
        codes.append((op_names.get(code, str(code)), custom.decode() if custom else None))
    counts: Counter[tuple[str, str | None]] = Counter()
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for o in range(subgraph.OperatorsLength()):
            counts[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
    inventory = OpInventory()
    for (name, custom), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if custom is None:
            inventory.builtin[name] = n
        elif custom.startswith("Flex"):
            inventory.flex[custom] = n
        else:
            inventory.custom[custom] = n
    return inventory


def _tensor_json(subgraph, index: int, name: str, position: int) -> dict[str, Any]:
    s = tflite_schema()
    types = enum_names(s.TensorType)
    tensor = subgraph.Tensors(index)
    shape = [int(d) for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
    signature = (
        [int(d) for d in tensor.ShapeSignatureAsNumpy()] if tensor.ShapeSignatureLength() else shape
    )
    quant = tensor.Quantization()
    scales, zero_points, axis = [], [], 0
    if quant is not None:
        if quant.ScaleLength():
            scales = [float(x) for x in np.asarray(quant.ScaleAsNumpy(), dtype=np.float64)]
        if quant.ZeroPointLength():
            zero_points = [int(x) for x in quant.ZeroPointAsNumpy()]
        axis = int(quant.QuantizedDimension())
    return {
        "name": name,
        "index": position,
        "tensor_index": index,
        "shape": shape,
        "shape_signature": signature,
        "dtype": types.get(tensor.Type(), str(tensor.Type())).lower(),
        "quantization": {"scales": scales, "zero_points": zero_points, "quantized_dimension": axis},
    }


def signatures(flatbuffer: bytes, input_order: list[str], output_order: list[str]) -> dict[str, Any]:
    """Per signature key: inputs and outputs with index, shape, shape_signature, dtype, quantization.

    ``index`` is the position in the model's declared order (the order of the
    Keras model's inputs and outputs), which LiteRT's own listing does not keep.
    """
    s = tflite_schema()
    model = s.Model.GetRootAsModel(flatbuffer, 0)
    result = {}
    for i in range(model.SignatureDefsLength()):
        sig = model.SignatureDefs(i)
        subgraph = model.Subgraphs(sig.SubgraphIndex())
        result[sig.SignatureKey().decode()] = {
            "inputs": _entries(subgraph, sig.InputsLength(), sig.Inputs, input_order),
            "outputs": _entries(subgraph, sig.OutputsLength(), sig.Outputs, output_order),
        }
    return result


def _entries(subgraph, count: int, get, order: list[str]) -> list[dict[str, Any]]:
    items = [(get(j).Name().decode(), get(j).TensorIndex()) for j in range(count)]
    rank = {name: pos for pos, name in enumerate(order)}
    items.sort(key=lambda item: (rank.get(item[0], len(rank)), item[0]))
    return [_tensor_json(subgraph, idx, name, pos) for pos, (name, idx) in enumerate(items)]


def float_ops(flatbuffer: bytes) -> dict[str, int]:
    """Ops that compute in floating point: any output tensor is float32 or float16.

    DEQUANTIZE is left out: it only marks where a float island starts (or, in float16
    variants, expands float16 weights); the ops after it are the ones listed. An empty
    result means the graph is fully integer.
    """
    s = tflite_schema()
    model = s.Model.GetRootAsModel(flatbuffer, 0)
    float_types = {s.TensorType.FLOAT32, s.TensorType.FLOAT16}
    counts: Counter[str] = Counter()
    for subgraph, op, name in operators(model):
        if name == "DEQUANTIZE":
            continue
        outputs = [op.Outputs(k) for k in range(op.OutputsLength())]
        if any(t >= 0 and subgraph.Tensors(t).Type() in float_types for t in outputs):
            counts[name] += 1
    return dict(sorted(counts.items()))


# Ops whose weights a quantized kind must turn into integers (or float16), by operand index.
WEIGHT_OPERANDS = {"FULLY_CONNECTED": (1,), "CONV_2D": (1,), "DEPTHWISE_CONV_2D": (1,), "CONV_3D": (1,),
                   "TRANSPOSE_CONV": (1,), "BATCH_MATMUL": (0, 1), "EMBEDDING_LOOKUP": (1,)}
MIN_WEIGHT_ELEMENTS = 1024  # TF's converter leaves smaller weights float on purpose


def float_weights(flatbuffer: bytes, min_elements: int = MIN_WEIGHT_ELEMENTS) -> dict[str, int]:
    """Ops (with counts) whose weight operand is still a float32 constant of at least
    ``min_elements`` values: in a quantized variant, weights the converter did not quantize."""
    s = tflite_schema()
    model = s.Model.GetRootAsModel(flatbuffer, 0)
    counts: Counter[str] = Counter()
    for subgraph, op, name in operators(model):
        for position in WEIGHT_OPERANDS.get(name, ()):
            if position >= op.InputsLength() or op.Inputs(position) < 0:
                continue
            tensor = subgraph.Tensors(op.Inputs(position))
            buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() else None
            constant = buffer is not None and (buffer.DataLength() or buffer.Size())
            size = int(np.prod(tensor.ShapeAsNumpy())) if tensor.ShapeLength() else 1
            if constant and tensor.Type() == s.TensorType.FLOAT32 and size >= min_elements:
                counts[name] += 1
    return dict(sorted(counts.items()))
