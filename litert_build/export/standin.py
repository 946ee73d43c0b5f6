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

Used for ``kind: float32`` only (quantizing kinds compute from the weights' values), for models
whose float32 weights reach :data:`AUTO_MIN_BYTES`, or as ``LITERT_BUILD_STANDINS`` says
(``0``: never, ``1``: always, for every float32 variant).
"""

from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUTO_MIN_BYTES = 1 << 30  # float32 weight bytes from which stand-ins are used by default
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


def enabled(weight_bytes: int) -> bool:
    """Whether float32 variants of a model with ``weight_bytes`` use stand-ins."""
    setting = os.environ.get("LITERT_BUILD_STANDINS", "auto")
    if setting in ("0", "never"):
        return False
    if setting in ("1", "always"):
        return True
    return weight_bytes >= AUTO_MIN_BYTES


def standin_value(index: int) -> float:
    """A float32 value unique to the ``index``-th stand-in, exact in float32 and far from the
    values real weights and folded constants take (1 + (index + 1) / 2**16, up to 65,535)."""
    if index >= 65535:
        raise StandInError("more than 65,535 large weights")
    return 1.0 + (index + 1) / 65536.0


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
    by_value = {struct.pack("<f", s.value): s for s in standins.values()}
    fc_weights = _fully_connected_weight_buffers(model, schema)
    buffers = [model.Buffers(i) for i in range(model.BuffersLength())]
    with_data = {i: b for i, b in enumerate(buffers) if b.Offset() > 1 and b.Size()}
    if not with_data:
        raise StandInError("the converter did not write buffer offsets")
    shapes = _buffer_shapes(model, set(with_data))
    head = bytearray(converted[: min(b.Offset() for b in with_data.values())])
    plan: list[tuple[Any, Any]] = []  # per buffer with data, in index order: what to write
    position = _aligned(len(head))
    used: set[int] = set()
    for index, buffer in with_data.items():
        offset, size = buffer.Offset(), buffer.Size()
        standin = by_value.get(bytes(converted[offset: offset + 4])) if size >= 4 else None
        if standin is not None and _is_splat(converted, offset, size):
            source = (standin, _layout(standin, shapes.get(index), index in fc_weights, size))
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
                standin, transform = source
                weights = np.load(standin.path, mmap_mode="r")
                out.write(np.ascontiguousarray(transform(weights), dtype="<f4").data)
                del weights
            else:
                offset, size = source
                out.write(converted[offset: offset + size])


def _aligned(position: int) -> int:
    return (position + ALIGN - 1) // ALIGN * ALIGN


def _is_splat(data: bytes, offset: int, size: int) -> bool:
    """Whether the buffer is one 4-byte value repeated (checked at its first, middle and last)."""
    first = data[offset: offset + 4]
    middle = offset + (size // 8) * 4
    return data[middle: middle + 4] == first and data[offset + size - 4: offset + size] == first


def _buffer_shapes(model, with_data: set[int]) -> dict[int, tuple[int, ...]]:
    """The shape of the tensor(s) each buffer in ``with_data`` holds."""
    shapes: dict[int, tuple[int, ...]] = {}
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            if tensor.Buffer() not in with_data:
                continue
            shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
            previous = shapes.setdefault(tensor.Buffer(), shape)
            if previous != shape:
                raise StandInError(f"buffer {tensor.Buffer()} is used with shapes {previous} and {shape}")
    return shapes


def _fully_connected_weight_buffers(model, schema) -> set[int]:
    """Buffers that are the weights (input 1) of a FULLY_CONNECTED op: Keras' [in, out] kernels
    become [out, in] there, even when square."""
    codes = [max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]
    found: set[int] = set()
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            if codes[op.OpcodeIndex()] == schema.BuiltinOperator.FULLY_CONNECTED and op.InputsLength() > 1:
                found.add(subgraph.Tensors(op.Inputs(1)).Buffer())
    return found


def _layout(standin: StandIn, shape: tuple[int, ...] | None, fc_weights: bool, size: int):
    """How the Keras weights become this buffer: a function of the (memory-mapped) array."""
    import numpy as np

    kernel = standin.shape
    if shape is None or int(np.prod(shape)) * 4 != size or int(np.prod(kernel)) * 4 != size:
        raise StandInError(f"buffer of {size} bytes (shape {shape}) does not hold the weight {kernel}")
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

