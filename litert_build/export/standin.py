"""Stand-in weights: convert a graph whose large weights are tiny splat constants, then write the
real weights into the artifact's buffers (issue 16).

TensorFlow's C++ converter holds about 2.85x a model's weights at its peak when the weights are
variables (restored, frozen into MLIR constants, exported). Here each large float32 weight is
replaced, only while the serving function is traced again, by a constant of its shape filled with
one value unique to it (``tf.constant(v, shape=...)``: a one-value TensorProto, which MLIR keeps
as a splat). The converter then holds next to nothing until it exports, which it does with
buffer offsets (buffers after the flatbuffer). :func:`assemble` then reads which buffer holds
which stand-in (its first value), works out the layout the converter gave it (as is, a 2-D
transpose for FULLY_CONNECTED weights, or an EinsumDense kernel reshaped to 2-D and transposed)
and writes the artifact: the flatbuffer, then every buffer in index order with the real weights,
streamed from the files :func:`dump_weights` wrote. Anything it cannot map raises
:class:`StandInError`, and the worker converts the usual way instead. Verification against the
Keras reference outputs is the final check, as for every artifact.

Used for ``kind: float32`` and ``kind: float16`` (the converter casts each stand-in to a float16
splat; the real weights are cast the same way, round to nearest even, as they are written): the
kinds in :data:`KINDS`. The quantizing kinds compute from the weights' values and convert as
usual, but a large model's float32 conversion made only for their ``float32_size`` comes from
stand-ins too. Used as the model's ``stand_ins:`` setting says: ``auto`` (the default) for models
whose float32 weights reach :data:`AUTO_MIN_BYTES`, ``always``, ``never``.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUTO_MIN_BYTES = 256 << 20  # float32 weight bytes from which stand-ins are used by default
KINDS = {"float32": "<f4", "float16": "<f2"}  # kinds converted with stand-ins: their weights' dtype
MIN_WEIGHT_BYTES = 1 << 16  # smaller weights stay real constants
ALIGN = 16  # each buffer starts at a multiple of this in the artifact


class StandInError(Exception):
    """The stand-in artifact cannot be assembled (a buffer the converter transformed in a way
    this module does not map back): the caller converts the usual way."""


@dataclass(frozen=True)
class StandIn:
    """One weight replaced by a splat: its value, its Keras shape, the file holding its data."""

    value: float
    shape: tuple[int, ...]
    path: Path
    equation: str | None = None  # the EinsumDense equation of the layer that owns it, if any


def enabled(setting: str, weight_bytes: int) -> bool:
    """Whether a model with ``weight_bytes`` of float32 weights and the ``stand_ins:`` setting
    ``setting`` (auto, always, never) is converted with stand-ins."""
    if setting == "auto":
        return weight_bytes >= AUTO_MIN_BYTES
    return setting == "always"


LAST_VALUE_BITS = 0x7BFF  # float16's largest finite value, 65,504


def standin_value(index: int) -> float:
    """A value unique to the ``index``-th stand-in, exact in float16 (so in float32 too) and far
    from the values real weights and folded constants take: the float16 numbers after 1.0, in
    order (1 + 1/1024, 1 + 2/1024, ... up to 65,504; 16,383 of them)."""
    bits = 0x3C00 + index + 1
    if bits > LAST_VALUE_BITS:
        raise StandInError(f"more than {LAST_VALUE_BITS - 0x3C00:,} large weights")
    return struct.unpack("<e", struct.pack("<H", bits))[0]


def dump_weights(variables: list, folder: Path,
                 equations: dict[int, str] | None = None) -> dict[int, StandIn]:
    """Write each large float32 variable's data to ``folder`` (``<i>.npy``): {id(variable): its
    stand-in}. Called while the weights are still in memory; :func:`assemble` reads them back one
    at a time, memory-mapped. ``equations``: {id(kernel): its EinsumDense equation}."""
    import numpy as np

    equations = equations or {}
    folder.mkdir(parents=True, exist_ok=True)
    standins: dict[int, StandIn] = {}
    for variable in variables:
        if str(variable.dtype) != "float32":
            continue
        shape = tuple(int(d) for d in variable.shape)
        if int(np.prod(shape)) * 4 < MIN_WEIGHT_BYTES:
            continue
        path = folder / f"{len(standins)}.npy"
        np.save(path, np.asarray(variable.numpy()), allow_pickle=False)
        standins[id(variable)] = StandIn(standin_value(len(standins)), shape, path,
                                         equations.get(id(variable)))
    return standins


def einsum_equations(model) -> dict[int, str]:
    """{id(kernel): equation} of the model's EinsumDense layers (KerasHub's attention and
    feed-forward kernels): which kernel axes a FULLY_CONNECTED op contracts."""
    import keras

    return {id(layer.kernel): layer.equation for layer in model._flatten_layers()
            if isinstance(layer, keras.layers.EinsumDense) and getattr(layer, "kernel", None) is not None}


def standin_function(serving: Any, variables: list, standins: dict[int, StandIn],
                     context=contextlib.nullcontext):
    """The serving function traced again with every stand-in variable read as its splat
    constant (inside the graph, so nothing of the weights' size is ever made); ``context``
    returns the context the first trace ran in (KerasHub's graph rewrites)."""
    import keras
    import tensorflow as tf

    replaced = [(v, standins[id(v)]) for v in variables if id(v) in standins]

    def call(*flat):
        mapping = [(v, tf.constant(s.value, dtype=tf.float32, shape=s.shape)) for v, s in replaced]
        with keras.StatelessScope(state_mapping=mapping):
            return serving.python_call(*flat)

    function = tf.function(call, input_signature=serving.tf_function.input_signature, autograph=False)
    with context():
        function.get_concrete_function()
    return function


def assemble(converted: bytes, standins: dict[int, StandIn], target: Path) -> None:
    """Write the artifact to ``target``: ``converted``'s flatbuffer with its buffers' offsets
    rewritten, then every buffer in index order (``ALIGN``-aligned), stand-ins replaced by the
    real weights in the layout the converter gave them."""
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(converted, 0)
    by_value = {dtype: {np.array(s.value, dtype).tobytes(): s for s in standins.values()}
                for dtype in set(_DTYPES.values())}
    fc_weights = _fully_connected_weight_buffers(model, schema)
    buffers = [model.Buffers(i) for i in range(model.BuffersLength())]
    with_data = {i: b for i, b in enumerate(buffers) if b.Offset() > 1 and b.Size()}
    if not with_data:
        raise StandInError("the converter did not write buffer offsets")
    tensors = _buffer_tensors(model, set(with_data))
    head = bytearray(converted[: min(b.Offset() for b in with_data.values())])
    plan: list[tuple[Any, Any]] = []  # per buffer with data, in index order: what to write
    position = _aligned(len(head))
    used: set[int] = set()
    for index, buffer in with_data.items():
        offset, size = buffer.Offset(), buffer.Size()
        shape, dtype = tensors.get(index, (None, None))
        width = np.dtype(dtype).itemsize if dtype else 0
        standin = None
        if width and size >= width:
            standin = by_value[dtype].get(bytes(converted[offset: offset + width]))
        if standin is not None and _is_splat(converted, offset, size, width):
            source = (standin, _layout(standin, shape, index in fc_weights, size // width), dtype)
            used.add(id(standin))
        else:
            source = (offset, size)
        _set_offset(head, buffer, position)
        plan.append(source)
        position = _aligned(position + size)
    if len(used) != len(standins):
        raise StandInError(f"{len(standins) - len(used)} stand-in weight(s) not found in the converted model")
    with open(target, "wb") as out:
        out.write(head)
        for source in plan:
            out.write(b"\0" * (_aligned(out.tell()) - out.tell()))
            if isinstance(source[0], StandIn):
                standin, transform, dtype = source
                weights = np.load(standin.path, mmap_mode="r")
                # float16: numpy's cast rounds to nearest even, as the converter's does
                out.write(np.ascontiguousarray(transform(weights), dtype=dtype).data)
                del weights
            else:
                offset, size = source
                out.write(converted[offset: offset + size])


def _aligned(position: int) -> int:
    return (position + ALIGN - 1) // ALIGN * ALIGN


_DTYPES = {0: "<f4", 1: "<f2"}  # TensorType FLOAT32, FLOAT16: the buffers a stand-in can be


def _is_splat(data: bytes, offset: int, size: int, width: int) -> bool:
    """Whether the buffer is one ``width``-byte value repeated (checked at its first, middle and
    last element)."""
    first = data[offset: offset + width]
    middle = offset + (size // (2 * width)) * width
    return data[middle: middle + width] == first and data[offset + size - width: offset + size] == first


def _buffer_tensors(model, with_data: set[int]) -> dict[int, tuple[tuple[int, ...], str | None]]:
    """(shape, numpy dtype if a float type a stand-in can take, else None) of the tensor(s) each
    buffer in ``with_data`` holds."""
    found: dict[int, tuple[tuple[int, ...], str | None]] = {}
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            if tensor.Buffer() not in with_data:
                continue
            shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
            described = (shape, _DTYPES.get(tensor.Type()))
            previous = found.setdefault(tensor.Buffer(), described)
            if previous != described:
                raise StandInError(f"buffer {tensor.Buffer()} is used as {previous} and {described}")
    return found


def _fully_connected_weight_buffers(model, schema) -> set[int]:
    """Buffers that are the weights (input 1) of a FULLY_CONNECTED op, directly or through a
    DEQUANTIZE (float16 weights): Keras' [in, out] kernels become [out, in] there, even when
    square."""
    codes = [max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]
    found: set[int] = set()
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        ops = [subgraph.Operators(o) for o in range(subgraph.OperatorsLength())]
        dequantized = {op.Outputs(0): op.Inputs(0) for op in ops
                       if codes[op.OpcodeIndex()] == schema.BuiltinOperator.DEQUANTIZE
                       and op.InputsLength() and op.OutputsLength()}
        for op in ops:
            if codes[op.OpcodeIndex()] == schema.BuiltinOperator.FULLY_CONNECTED and op.InputsLength() > 1:
                weights = op.Inputs(1)
                found.add(subgraph.Tensors(dequantized.get(weights, weights)).Buffer())
    return found


def _layout(standin: StandIn, shape: tuple[int, ...] | None, fc_weights: bool, elements: int):
    """How the Keras weights become this buffer of ``elements`` values: a function of the
    (memory-mapped) array."""
    import numpy as np

    kernel = standin.shape
    if shape is None or int(np.prod(shape)) != elements or int(np.prod(kernel)) != elements:
        raise StandInError(f"buffer of {elements} values (shape {shape}) does not hold the weight {kernel}")
    if fc_weights and len(shape) == 2:
        rows, cols = shape  # [out, in]
        if standin.equation:
            return _einsum_layout(standin.equation, kernel, rows, cols)
        splits = [s for s in range(len(kernel) + 1)
                  if int(np.prod(kernel[:s])) == cols and int(np.prod(kernel[s:])) == rows]
        if splits:  # a Dense kernel [in, out] (or [in..., out...]), transposed
            return lambda w: np.asarray(w).reshape(cols, rows).T
        if tuple(shape) == tuple(kernel):  # e.g. a tied embedding used as the output projection
            return lambda w: w
        raise StandInError(f"FULLY_CONNECTED weights {shape} do not come from the weight {kernel}")
    if tuple(shape) == tuple(kernel):
        return lambda w: w
    raise StandInError(f"the converter laid the weight {kernel} out as {shape}")


def _einsum_layout(equation: str, kernel: tuple[int, ...], rows: int, cols: int):
    """An EinsumDense kernel as FULLY_CONNECTED weights: its output axes (in the output's order)
    as rows, its contracted axes (in the input's order) as columns."""
    import numpy as np

    inputs, output = equation.replace("...", "").split("->")
    source, spec = inputs.split(",")
    contracted = [c for c in source if c in spec and c not in output]
    kept = [c for c in output if c in spec]
    if sorted(contracted + kept) != sorted(spec):
        raise StandInError(f"EinsumDense equation {equation!r} is not a contraction this module maps")
    order = [spec.index(c) for c in kept + contracted]
    sizes = dict(zip(spec, kernel, strict=True))
    if int(np.prod([sizes[c] for c in kept])) != rows or int(np.prod([sizes[c] for c in contracted])) != cols:
        raise StandInError(f"FULLY_CONNECTED weights {(rows, cols)} do not come from {equation!r} {kernel}")
    return lambda w: np.asarray(w).transpose(order).reshape(rows, cols)


def _set_offset(head: bytearray, buffer, position: int) -> None:
    """Rewrite one Buffer table's ``offset`` field (uint64, vtable slot 6) in place."""
    field = buffer._tab.Offset(6)
    if not field:
        raise StandInError("a buffer's offset field is absent")
    struct.pack_into("<Q", head, buffer._tab.Pos + field, position)

