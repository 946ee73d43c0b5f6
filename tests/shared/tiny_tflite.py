"""A real LiteRT model without TensorFlow, for tests and benchmarks that need one to load."""

from __future__ import annotations


def tiny_model() -> bytes:
    """A real one-op model (y = x + x, float32 [1, 4]), written with the flatbuffer schema the
    stock interpreter reads: no TensorFlow needed."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.ADD
    code.version = 1
    tensors = []
    for buffer, name in enumerate(("x", "y"), start=1):
        tensor = fb.TensorT()
        tensor.shape, tensor.type, tensor.buffer, tensor.name = [1, 4], fb.TensorType.FLOAT32, buffer, name
        tensors.append(tensor)
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 0], [1]
    op.builtinOptionsType, op.builtinOptions = fb.BuiltinOptions.AddOptions, fb.AddOptionsT()
    graph = fb.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators = tensors, [0], [1], [op]
    model = fb.ModelT()
    model.version, model.buffers = 3, [fb.BufferT()] * 3
    model.operatorCodes, model.subgraphs = [code], [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
