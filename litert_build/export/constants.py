"""Constant bytes of a .tflite by origin: the model's weights vs. constants the converter computed
(folded masks, position biases, iota tables, splats). The manifest records both, so that an
artifact whose folded constants grow (the square of a sequence length, issue 19) shows it."""

from __future__ import annotations

from typing import Any

# (operator, input index): a constant read there is a weight (kernels, biases, embedding tables,
# quantized weights on their way to float).
WEIGHT_ROLES = {("FULLY_CONNECTED", 1), ("FULLY_CONNECTED", 2), ("CONV_2D", 1), ("CONV_2D", 2),
                ("DEPTHWISE_CONV_2D", 1), ("DEPTHWISE_CONV_2D", 2), ("TRANSPOSE_CONV", 1),
                ("TRANSPOSE_CONV", 3), ("CONV_3D", 1), ("CONV_3D", 2), ("GATHER", 0),
                ("EMBEDDING_LOOKUP", 1), ("BATCH_MATMUL", 0), ("BATCH_MATMUL", 1), ("DEQUANTIZE", 0)}


def constant_bytes_by_origin(flatbuffer: bytes, top: int = 3) -> dict[str, Any]:
    """``{"weights": bytes, "computed": bytes, "largest_computed": [...]}``: every constant buffer
    once, as a weight when some operator reads it in a weight's role, else as computed;
    ``largest_computed`` names the ``top`` largest of the others (tensor, shape, bytes, readers)."""
    from litert_build.export.inventory import buffer_data, op_names_of, tflite_schema

    model = tflite_schema().Model.GetRootAs(flatbuffer, 0)
    op_names = op_names_of(model)
    buffers: dict[int, dict[str, Any]] = {}  # buffer index -> its size, a tensor and its readers
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        readers: dict[int, set[tuple[str, int]]] = {}
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            for position in range(op.InputsLength()):
                readers.setdefault(op.Inputs(position), set()).add((op_names[op.OpcodeIndex()], position))
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            index = tensor.Buffer()
            size = len(buffer_data(flatbuffer, model.Buffers(index))) if index else 0
            if not size:
                continue
            entry = buffers.setdefault(index, {"bytes": size, "tensor": tensor.Name().decode(),
                                               "shape": tensor.ShapeAsNumpy().tolist()
                                               if tensor.ShapeLength() else [], "readers": set()})
            entry["readers"] |= readers.get(t, set())
    weights = computed = 0
    others = []
    for entry in buffers.values():
        if entry["readers"] & WEIGHT_ROLES:
            weights += entry["bytes"]
        else:
            computed += entry["bytes"]
            others.append({**entry, "readers": sorted({name for name, _ in entry["readers"]})})
    others.sort(key=lambda e: (-e["bytes"], e["tensor"]))
    return {"weights": weights, "computed": computed, "largest_computed": others[:top]}
