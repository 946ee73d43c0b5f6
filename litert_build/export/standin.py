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

Used for the kinds in :data:`KINDS`: float32; float16 (the converter casts each stand-in to a
float16 splat; the real weights are cast the same way, round to nearest even, as they are
written); dynamic_range (the converter quantizes each stand-in to an int8 splat of 127 with the
scale its value gives; the real weights are quantized as the converter does,
:mod:`litert_build.export.weight_quantizer`, and their scales written into the flatbuffer). int8
and int16x8 compute from activations and convert as usual, but a large model's float32
conversion made only for their ``float32_size`` comes from stand-ins too (:func:`float32_size`).
Used as the model's ``stand_ins:`` setting says: ``auto`` (the default) for models whose float32
weights reach :data:`AUTO_MIN_BYTES`, ``always``, ``never``.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUTO_MIN_BYTES = 256 << 20  # float32 weight bytes from which stand-ins are used by default
KINDS = frozenset({"float32", "float16", "dynamic_range"})  # the kinds converted from stand-ins
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
    """Write the artifact to ``target``: ``converted``'s flatbuffer (unpacked and packed again,
    the buffers' offsets and the int8 weights' scales set), then every buffer in index order
    (``ALIGN``-aligned), stand-ins replaced by the real weights in the layout the converter gave
    them: float32, float16 (cast), or int8 (quantized as the converter quantizes). The
    converter writes the int8 splat of every stand-in once, shared by all their tensors (the
    same bytes): each stand-in gets a buffer of its own here."""
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema

    from litert_build.export import weight_quantizer
    from litert_build.export.lean_converter import pack

    model = schema.Model.GetRootAs(converted, 0)
    with_data = {i: (b.Offset(), b.Size()) for i in range(model.BuffersLength())
                 if (b := model.Buffers(i)).Offset() > 1 and b.Size()}
    if not with_data:
        raise StandInError("the converter did not write buffer offsets")
    by_value = {dtype: {np.array(s.value, dtype).tobytes(): s for s in standins.values()}
                for dtype in ("<f4", "<f2")}
    by_value["int8"] = {weight_quantizer.scale_of_splat(s.value): s for s in standins.values()}
    fc_weights = _fully_connected_weight_buffers(model)
    tensors = _buffer_tensors(model, set(with_data))
    unpacked = schema.ModelT.InitFromObj(model)
    sources: dict[int, tuple[Any, ...]] = {}  # buffer index -> what its data is
    used: set[int] = set()
    for index, (offset, size) in with_data.items():
        shape, dtype, users = tensors.get(index, (None, None, []))
        groups = _standin_groups(converted, offset, size, dtype, users, by_value)
        if any(standin is None for standin, _ in groups):
            sources[index] = ("copy", offset, size)
        for standin, group in groups:
            if standin is None:
                continue
            if index in sources:  # another stand-in (or real data) has this buffer: a new one
                unpacked.buffers.append(schema.BufferT())
                for g, t in group:
                    unpacked.subgraphs[g].tensors[t].buffer = len(unpacked.buffers) - 1
            width = 1 if dtype == "int8" else np.dtype(dtype).itemsize
            layout = _layout(standin, shape, index in fc_weights, size // width)
            sources[_buffer_of(unpacked, group[0])] = ("standin", standin, layout, dtype, group, size)
            used.add(id(standin))
    if len(used) != len(standins):
        raise StandInError(f"{len(standins) - len(used)} stand-in weight(s) not found in the converted model")
    for index, source in sources.items():  # placeholder offsets: the head's size does not depend on them
        unpacked.buffers[index].offset, unpacked.buffers[index].size = 1 << 40, source[-1]
    head_size = len(pack(unpacked, min(offset for offset, _ in with_data.values()) + (1 << 16)))
    rescaled: dict[tuple[bytes, int], list[float]] = {}  # (splat scale, count) -> the real scales
    with open(target, "wb") as out:
        out.write(b"\0" * head_size)  # the head goes last: int8 scales are known only then
        for index in sorted(sources):
            source = sources[index]
            out.write(b"\0" * (_aligned(out.tell()) - out.tell()))
            unpacked.buffers[index].offset = out.tell()
            if source[0] == "copy":
                out.write(converted[source[1]: source[1] + source[2]])
                continue
            _, standin, layout, dtype, group, _ = source
            weights = layout(np.load(standin.path, mmap_mode="r"))
            if dtype == "int8":
                scales = _write_int8(out, weights, [unpacked.subgraphs[g].tensors[t] for g, t in group])
                rescaled[weight_quantizer.scale_of_splat(standin.value), len(scales)] = scales
            else:
                _write_float(out, weights, dtype)
            del weights
        _carry_scales(unpacked, rescaled)
        head = pack(unpacked, head_size + 1024)
        if len(head) != head_size:
            raise StandInError("the flatbuffer changed size when its offsets were set")
        out.seek(0)
        out.write(head)


def float32_size(unfolded: bytes, standins: dict[int, StandIn]) -> int:
    """The size of the float32 artifact assembled from stand-ins, estimated from a conversion of
    the same graph with ``experimental_unfold_large_splat_constant`` (the converter writes a FILL
    op for each large splat instead of its data): that artifact's size plus, for each FILL of a
    stand-in's value, its output's float32 bytes (aligned as :func:`assemble` aligns them). Off
    by the FILL ops' own few hundred bytes each: a size ratio's precision."""
    import numpy as np
    from tensorflow.lite.python import schema_py_generated as schema

    from litert_build.export.inventory import buffer_data, operators

    model = schema.Model.GetRootAs(unfolded, 0)
    values = {np.array(s.value, "<f4").tobytes() for s in standins.values()}
    size = len(unfolded)
    for subgraph, op, name in operators(model):
        if name != "FILL" or op.InputsLength() < 2:
            continue
        value = subgraph.Tensors(op.Inputs(1))
        data = bytes(buffer_data(unfolded, model.Buffers(value.Buffer()))[:4])
        if value.Type() == 0 and data in values:
            output = subgraph.Tensors(op.Outputs(0))
            size += _aligned(int(np.prod(output.ShapeAsNumpy())) * 4)
    return size


def _buffer_of(unpacked, user: tuple[int, int]) -> int:
    g, t = user
    return unpacked.subgraphs[g].tensors[t].buffer


def _standin_groups(converted: bytes, offset: int, size: int, dtype: str | None, users: list,
                    by_value: dict[str, dict[bytes, StandIn]]) -> list[tuple[StandIn | None, list]]:
    """The stand-ins a buffer holds, each with the tensors ((subgraph, tensor) indices) that read
    it as that stand-in; None for tensors that read real data. A float stand-in is a splat of its
    value; an int8 one is a splat of 127 whose tensors' scales are the scale the converter gives
    that value (one buffer may serve several: the converter writes equal bytes once), a group
    per way it is quantized."""
    import numpy as np

    everyone = [user for user, _ in users]
    if dtype is None:
        return [(None, everyone)]
    if dtype != "int8":
        width = np.dtype(dtype).itemsize
        if size < width or not _is_splat(converted, offset, size, width):
            return [(None, everyone)]
        return [(by_value[dtype].get(bytes(converted[offset: offset + width])), everyone)]
    if converted[offset] != 127 or not _is_splat(converted, offset, size, 1):
        return [(None, everyone)]
    groups: dict[tuple[int, int, int], tuple[StandIn | None, list]] = {}
    for user, tensor in users:
        quantization = tensor.Quantization()
        found = {scale.tobytes() for scale in quantization.ScaleAsNumpy()} if quantization else set()
        standin = by_value["int8"].get(found.pop()) if len(found) == 1 else None
        # A weight quantized two ways (a tied embedding: per tensor for GATHER, per channel for
        # FULLY_CONNECTED) is two buffers of different data: one group each.
        way = (quantization.ScaleLength(), quantization.QuantizedDimension()) if standin else (0, 0)
        groups.setdefault((id(standin), *way), (standin, []))[1].append(user)
    return list(groups.values())


WRITE_CHUNK_ELEMENTS = 1 << 22  # elements per write: a few rows of a weight at a time


def _write_float(out, weights, dtype: str) -> None:
    """Write ``weights`` (possibly a transposed view of a memory-mapped array) as ``dtype``, in
    C order, a few rows at a time: no copy of the whole weight, and a transposed view is read in
    blocks of rows of the result (contiguous runs of the source: ~5x faster than one
    ``ascontiguousarray`` of an 8192 x 8192 transpose). float16: numpy's cast rounds to nearest
    even, as the converter's does."""
    import numpy as np

    if weights.ndim == 0:
        out.write(np.ascontiguousarray(weights, dtype=dtype).data)
        return
    per_row = max(1, int(np.prod(weights.shape[1:])))
    rows = max(1, WRITE_CHUNK_ELEMENTS // per_row)
    for start in range(0, weights.shape[0], rows):
        out.write(np.ascontiguousarray(weights[start: start + rows], dtype=dtype).data)


def _carry_scales(unpacked, rescaled: dict[tuple[bytes, int], list[float]]) -> None:
    """Tensors without data that carry an int8 stand-in's quantization (GATHER's output, from
    the table it reads) get the real weights' scales too: every tensor whose scales are all one
    stand-in's splat scale (a value nothing else has)."""
    import numpy as np

    for subgraph in unpacked.subgraphs:
        for tensor in subgraph.tensors:
            scales = tensor.quantization.scale if tensor.quantization is not None else None
            if scales is None or not len(scales):
                continue
            distinct = {np.float32(v).tobytes() for v in scales}
            if len(distinct) == 1 and (key := (distinct.pop(), len(scales))) in rescaled:
                tensor.quantization.scale = rescaled[key]


def _write_int8(out, weights, tensors: list) -> list[float]:
    """Quantize ``weights`` as the converter quantized the stand-in (per channel along the
    tensors' ``quantized_dimension``, or per tensor), write the int8 data and set the scales of
    the (unpacked) ``tensors`` that read it."""
    from litert_build.export import weight_quantizer

    # one way of quantizing per group (_standin_groups): the first tensor says it for all
    count, axis = len(tensors[0].quantization.scale), tensors[0].quantization.quantizedDimension
    if count > 1 and (axis >= weights.ndim or weights.shape[axis] != count):
        raise StandInError(f"{count} scales for axis {axis} of an int8 weight of shape {weights.shape}")
    per = axis if count > 1 else None
    scales = weight_quantizer.channel_scales(weights, per)
    weight_quantizer.write_quantized(out, weights, per, scales)
    stored = [float(v) for v in scales.astype("float32")]
    for tensor in tensors:
        tensor.quantization.scale = stored
    return stored


def _aligned(position: int) -> int:
    return (position + ALIGN - 1) // ALIGN * ALIGN


_DTYPES = {0: "<f4", 1: "<f2", 9: "int8"}  # TensorType FLOAT32, FLOAT16, INT8: what a stand-in can be


def _is_splat(data: bytes, offset: int, size: int, width: int) -> bool:
    """Whether the buffer is one ``width``-byte value repeated (checked at its first, middle and
    last element)."""
    first = data[offset: offset + width]
    middle = offset + (size // (2 * width)) * width
    return data[middle: middle + width] == first and data[offset + size - width: offset + size] == first


def _buffer_tensors(model, with_data: set[int]) -> dict[int, tuple[tuple[int, ...], str | None, list]]:
    """(shape, "<f4" / "<f2" / "int8" or None for other types, [((subgraph, tensor), tensor)])
    of each buffer in ``with_data``: what the tensors that read it hold."""
    found: dict[int, tuple[tuple[int, ...], str | None, list]] = {}
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            if tensor.Buffer() not in with_data:
                continue
            shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
            described = (shape, _DTYPES.get(tensor.Type()))
            previous = found.setdefault(tensor.Buffer(), (*described, []))
            if previous[:2] != described:
                raise StandInError(f"buffer {tensor.Buffer()} is used as {previous[:2]} and {described}")
            previous[2].append(((g, t), tensor))
    return found


def _fully_connected_weight_buffers(model) -> set[int]:
    """Buffers that are the weights (input 1) of a FULLY_CONNECTED op, directly or through a
    DEQUANTIZE (float16 weights): Keras' [in, out] kernels become [out, in] there, even when
    square."""
    from litert_build.export.inventory import operators

    ops = list(operators(model))
    # per subgraph (its table's position): DEQUANTIZE output tensor -> its input tensor
    dequantized = {(subgraph._tab.Pos, op.Outputs(0)): op.Inputs(0) for subgraph, op, name in ops
                   if name == "DEQUANTIZE" and op.InputsLength() and op.OutputsLength()}
    found: set[int] = set()
    for subgraph, op, name in ops:
        if name == "FULLY_CONNECTED" and op.InputsLength() > 1:
            weights = op.Inputs(1)
            found.add(subgraph.Tensors(dequantized.get((subgraph._tab.Pos, weights), weights)).Buffer())
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
