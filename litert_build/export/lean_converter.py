"""TensorFlow's SavedModel -> LiteRT conversion, the same bytes with fewer copies of the weights.

``tf.lite.TFLiteConverter.from_saved_model(folder).convert()`` holds the model's weights many
times over (measured for issue 16 on a 400 MB Dense stack: +2 GB over TensorFlow's baseline):

1. ``from_saved_model`` loads the whole SavedModel (``tf.saved_model.load``: every variable)
   only to look its signature keys up; ``convert()`` loads it a second time only to read its
   debug info. Both loads are skipped here: the converter is made as ``from_saved_model``
   makes it for a TF2 SavedModel, and the debug info is read from the SavedModel's own
   proto, which is where the full load gets it.
2. After the C++ converter, ``_optimize_tflite_model`` turns the flatbuffer into Python objects
   to de-duplicate equal read-only buffers and packs it back; then the conversion metadata is
   added by a second unpack and pack. Each pack grows a 1 KB ``flatbuffers.Builder`` by doubling
   (up to 2x the model while it copies) and returns a copy of it. Here the flatbuffer is unpacked
   once, de-duplicated and given its metadata by TensorFlow's own functions in the same order,
   and packed once into a builder sized for it, whose buffer is returned without a copy.

The flatbuffer builder aligns relative to the end of its buffer, so its initial size does not
change the bytes; one pack of the object equals the two packs TensorFlow does, because packing is
a function of the object and unpacking a packed object gives the same object back.
``tests/e2e/test_conversion_memory.py`` checks the result byte for byte against the stock path.
TensorFlow's private names used here are looked up when a conversion starts: if one is missing
(another TensorFlow), the stock path runs instead; ``LITERT_BUILD_STOCK_CONVERTER=1`` asks for it
(the tests compare both).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

SERVE_TAGS = {"serve"}
BUILDER_SLACK = 1 << 20  # bytes of the pre-sized builder beyond the C++ converter's output


def saved_model_converter(folder: str, signature_key: str | list[str]):
    """A converter for the SavedModel in ``folder`` (one signature, or several: one subgraph each)
    as ``from_saved_model`` makes it, without loading the SavedModel's variables; the stock one if
    this TensorFlow lacks what that needs."""
    import tensorflow as tf

    keys = [signature_key] if isinstance(signature_key, str) else list(signature_key)
    lite = _lite()
    if lite is None:
        return tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=keys)
    from tensorflow.lite.python import conversion_metadata_schema_py_generated as metadata_fb

    lite.TFLiteConverterBase._set_original_model_type(metadata_fb.ModelType.TF_SAVED_MODEL)
    converter = lite.TFLiteSavedModelConverterV2(folder, SERVE_TAGS, keys)
    if not converter.saved_model_dir:  # not a TF2 SavedModel: what from_saved_model falls back to
        return tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=keys)
    return converter


def convert(converter) -> bytes:
    """``converter.convert()`` with one unpack and one pre-sized pack after the C++ converter
    (see the module's docstring); the stock ``convert()`` where that does not apply."""
    lite = _lite()
    if lite is None or not isinstance(converter, lite.TFLiteSavedModelConverterV2):
        return converter.convert()
    offsets = converter._experimental_use_buffer_offset
    excluded = converter.exclude_conversion_metadata
    converter.exclude_conversion_metadata = True
    try:
        with _patched(lite, converter.saved_model_dir):
            converted = converter.convert()
    finally:
        converter.exclude_conversion_metadata = excluded
    if offsets:  # TensorFlow de-duplicates nothing and adds no metadata in this layout
        return converted
    packed = _finish(lite, converted, None if excluded else converter._metadata)
    del converted
    # The stock interpreter's wrapper takes bytes only: one copy, made after the converter's own
    # copies are gone.
    return packed if isinstance(packed, bytes) else bytes(packed)


def stock_requested() -> bool:
    """``LITERT_BUILD_STOCK_CONVERTER=1``: TensorFlow's converter exactly as ``from_saved_model``
    and ``convert()`` run it, every default kept (what the tests compare the lean path with)."""
    return os.environ.get("LITERT_BUILD_STOCK_CONVERTER") == "1"


def _lite():
    """TensorFlow's ``lite`` module if it has every private name this module uses, else None (also
    when ``LITERT_BUILD_STOCK_CONVERTER=1``)."""
    from tensorflow.lite.python import lite

    if stock_requested():
        return None
    needed = ("TFLiteSavedModelConverterV2", "TFLiteConverterBase", "_load",
              "_deduplicate_readonly_buffers", "_get_sparsity_modes", "_get_model_hash",
              "_populate_conversion_metadata", "_parse_saved_model_with_debug_info")
    return lite if all(hasattr(lite, name) for name in needed) else None


@contextlib.contextmanager
def _patched(lite, folder: str) -> Iterator[None]:
    """While ``convert()`` runs: its SavedModel load answers with the SavedModel's debug info
    only, and its de-duplication pass is left to :func:`_finish`."""
    _, debug_info = lite._parse_saved_model_with_debug_info(folder)
    saved = lite._load, lite._deduplicate_readonly_buffers
    lite._load = lambda *args, **kwargs: SimpleNamespace(graph_debug_info=debug_info)
    lite._deduplicate_readonly_buffers = lambda model: model
    try:
        yield
    finally:
        lite._load, lite._deduplicate_readonly_buffers = saved


def _finish(lite, converted: bytes, metadata: Any) -> bytes | bytearray:
    """What ``_optimize_tflite_model`` and ``_convert_and_export_metrics`` do after the C++
    converter (de-duplication, then conversion metadata), on one unpacked object."""
    from tensorflow.lite.tools import flatbuffer_utils

    size_hint = len(converted) + BUILDER_SLACK
    if uses_buffer_offsets(converted):
        return converted  # the converter wrote buffers past the flatbuffer: TF leaves it as is
    model = flatbuffer_utils.convert_bytearray_to_object(converted)
    deduplicate(model)
    if metadata is not None:
        metadata.options.modelOptimizationModes.extend(lite._get_sparsity_modes(model))
        metadata.environment.modelHash = lite._get_model_hash(model)
        model = lite._populate_conversion_metadata(model, metadata)
    del converted
    return pack(model, size_hint)


def uses_buffer_offsets(flatbuffer: bytes) -> bool:
    """Whether the converter wrote the constant buffers after the flatbuffer, addressed by
    offset (its layout past 2 GB, or with ``experimental_use_buffer_offset``): the model's
    ``buffer_location`` metadata entry, as TensorFlow checks it."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAs(flatbuffer, 0)
    return any(model.Metadata(i).Name() == b"buffer_location" for i in range(model.MetadataLength()))


def pack(model: Any, size_hint: int) -> bytearray:
    """``flatbuffer_utils.convert_object_to_bytearray`` into a builder of ``size_hint`` bytes,
    returned without the copy ``Output()`` makes (a bytearray drops its head in place)."""
    import flatbuffers

    builder = flatbuffers.Builder(size_hint)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    data, head = builder.Bytes, builder.Head()
    del builder
    del data[:head]
    return data


def deduplicate(model: Any) -> None:
    """TensorFlow's ``deduplicate_readonly_buffers`` (tensorflow/lite/python/convert.py) on an
    unpacked model, in place: equal read-only constant buffers become one; the others' data is
    dropped. Same selection, order and tie-breaking as TensorFlow's, so the same bytes."""
    read_only: set[int] = set()
    for subgraph in model.subgraphs:
        candidates: set[int] = set()
        for op in subgraph.operators:
            if op.inputs is None:
                continue
            for i, tensor in enumerate(op.inputs):
                mutating = op.mutatingVariableInputs
                if mutating is not None and i < len(mutating) and mutating[i]:
                    continue
                if subgraph.tensors[tensor].isVariable:
                    continue
                candidates.add(tensor)
        for op in subgraph.operators:
            for tensor in list(op.outputs if op.outputs is not None else []) + list(
                    op.intermediates if op.intermediates is not None else []):
                candidates.discard(tensor)
        for tensor in list(subgraph.inputs if subgraph.inputs is not None else []) + list(
                subgraph.outputs if subgraph.outputs is not None else []):
            candidates.discard(tensor)
        read_only.update(subgraph.tensors[t].buffer for t in candidates)
    for index in list(read_only):
        data = model.buffers[index].data if index >= 0 else None
        if index < 0 or data is None or isinstance(data, list) or data.size == 0:
            read_only.discard(index)
    keyed = sorted(((model.buffers[i].data.size, hashlib.md5(model.buffers[i].data.data).hexdigest(), i)
                    for i in read_only), key=lambda k: (k[0], k[1]), reverse=True)
    duplicates: dict[int, int] = {}
    for n, (size_i, hash_i, index_i) in enumerate(keyed):
        if index_i in duplicates:
            continue
        for size_j, hash_j, index_j in keyed[n + 1:]:
            if index_j in duplicates:
                continue
            if size_i != size_j:
                break
            if hash_i != hash_j:
                continue
            duplicates[index_j] = index_i
    if not duplicates:
        return
    for subgraph in model.subgraphs:
        for op in subgraph.operators:
            for tensor in op.inputs if op.inputs is not None else []:
                buffer = subgraph.tensors[tensor].buffer
                if buffer in duplicates:
                    subgraph.tensors[tensor].buffer = duplicates[buffer]
    for index in duplicates:
        model.buffers[index].data = None
