"""Whether a traced serving function or its weights hold an infinite float constant.

TensorFlow's converter runs ``CanonicalizeBoundaryValuePass`` (``canonicalizing_inf_as_min_max_float``,
on by default), which replaces +-inf in float constants with +-the largest finite value. To find
out whether there is any, it reads every element of every constant as an ``APFloat``: 85% of
converting a 400 MiB stand-in graph (8.5 of 10 s, where the splats have to be expanded for it),
and a large share of converting real weights. When no constant can be infinite the pass changes
nothing, so the converter is told to skip it (:func:`litert_build.export.converter.convert_saved_model`'s
``finite``); when one can, it runs as usual. The checks here read the graph's constants as
stored (a splat is one value) and each weight once, with NumPy. The pass runs at the end of the
converter's pipeline, after constant folding, which can make an infinity out of finite constants
(``log(0)``): so the artifact converted without it is checked too
(:func:`flatbuffer_has_infinities`), and converted again with the pass if it holds one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# TensorFlow DataType enum values of the float types, and how to read their stored values.
_FLOAT_TYPES = {1: "float32", 2: "float64", 19: "float16", 14: "bfloat16"}


def function_has_infinities(function: Any) -> bool:
    """Whether the concrete graph of the tf.function ``function`` (its nested functions too) or a
    tensor it captures holds +-inf in a float constant."""
    concrete = function.get_concrete_function()
    graph_def = concrete.graph.as_graph_def()
    nodes = list(graph_def.node)
    for library_function in graph_def.library.function:
        nodes.extend(library_function.node_def)
    for node in nodes:
        if node.op == "Const" and "value" in node.attr and _proto_has_infinities(node.attr["value"].tensor):
            return True
    for captured in concrete.captured_inputs:
        dtype = getattr(captured, "dtype", None)
        if dtype is not None and dtype.is_floating and _array_has_infinities(captured.numpy()):
            return True
    return False


def weights_have_infinities(variables: list) -> bool:
    """Whether any float weight holds +-inf (one variable at a time)."""
    for variable in variables:
        dtype = str(getattr(variable, "dtype", ""))
        if "float" not in dtype:
            continue
        value = variable.value if hasattr(variable, "value") else variable
        array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
        if _array_has_infinities(array):
            return True
    return False


def _array_has_infinities(array: Any) -> bool:
    try:
        return bool(np.isinf(array).any())
    except TypeError:  # a float type NumPy cannot test: assume the worst
        return True


def _bfloat16_has_infinities(bits: np.ndarray) -> bool:
    """Whether bfloat16 bit patterns (NumPy has no bfloat16) hold +-inf."""
    return bool(((bits & 0x7FFF) == 0x7F80).any())


def _proto_has_infinities(tensor) -> bool:
    """A TensorProto's values as stored: ``tensor_content`` (every element) or the typed value
    list (possibly one value for a splat), never expanded to the tensor's shape."""
    kind = _FLOAT_TYPES.get(tensor.dtype)
    if kind is None:
        return False
    if tensor.tensor_content:
        if kind == "bfloat16":
            return _bfloat16_has_infinities(np.frombuffer(tensor.tensor_content, dtype="<u2"))
        return bool(np.isinf(np.frombuffer(tensor.tensor_content, dtype=f"<{np.dtype(kind).str[1:]}")).any())
    if kind in ("float16", "bfloat16"):  # half_val holds the bit patterns
        infinity = 0x7C00 if kind == "float16" else 0x7F80
        return any((bits & 0x7FFF) == infinity for bits in tensor.half_val)
    values = tensor.float_val if kind == "float32" else tensor.double_val
    return bool(np.isinf(np.asarray(values, dtype=np.float64)).any()) if len(values) else False


_TFLITE_FLOAT_TYPES = {0: "<f4", 1: "<f2", 7: "<f8"}  # TensorType FLOAT32, FLOAT16, FLOAT64
_TFLITE_BFLOAT16 = 16


def flatbuffer_has_infinities(flatbuffer: bytes) -> bool:
    """Whether a float tensor's buffer in the LiteRT flatbuffer holds +-inf (inline buffers and
    buffers at offsets after the flatbuffer alike; each read in place, not copied)."""
    from tensorflow.lite.python import schema_py_generated as schema

    from litert_build.export.inventory import buffer_data

    model = schema.Model.GetRootAs(flatbuffer, 0)
    checked: set[int] = set()
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            kind, index = tensor.Type(), tensor.Buffer()
            if index in checked or (kind not in _TFLITE_FLOAT_TYPES and kind != _TFLITE_BFLOAT16):
                continue
            checked.add(index)
            data = buffer_data(flatbuffer, model.Buffers(index))
            if not len(data):
                continue
            if kind == _TFLITE_BFLOAT16:
                if _bfloat16_has_infinities(np.frombuffer(data, dtype="<u2")):
                    return True
            elif np.isinf(np.frombuffer(data, dtype=_TFLITE_FLOAT_TYPES[kind])).any():
                return True
    return False
