"""A KerasHub CausalLM as one .tflite with ``prefill_<T>`` and ``decode`` signatures sharing its
weights, the KV cache as explicit inputs and outputs: what LiteRT-LM's CPU executor runs.

Conventions (LiteRT-LM 0.18, the same as litert-torch's generative converter):

* ``prefill_<T>`` per chunk length T: ``tokens`` int32 [1, T], ``input_pos`` int32 [T]; ``decode``:
  ``tokens`` [1, 1], ``input_pos`` [1]. Only ``input_pos[0]`` is read: a chunk is written to the
  cache contiguously from there (the runtime zero-pads short chunks, positions included).
* Per layer ``kv_cache_k_<i>`` and ``kv_cache_v_<i>``, float32 [1, kv_heads, kv_cache, head_dim],
  inputs and outputs under the same names, the output the whole updated cache. The sequence axis
  is dimension 2 because, without a mask input, LiteRT-LM reads the context size from dimension 2
  of the key cache; KerasHub's layers keep [batch, seq, heads, dim], so the graph transposes.
* ``decode`` returns ``logits`` float32 [1, 1, vocab]; ``prefill`` returns only the caches (the
  runtime keeps the last prompt token for the first decode step, so prefill logits are unused and
  their lm head is pruned).
* The causal mask and RoPE are computed in the graph from ``input_pos`` (no mask input).

The forward pass is KerasHub's ``call_with_cache`` with the cache split per layer: for the
families whose cache is one stacked tensor, the same few lines (embedding, each decoder layer
with its own [1, 2, seq, heads, dim] cache, final norm, reversed embedding); Gemma 3's takes
per-layer caches already and is called as it is.

The functions are written with Keras' ``ExportArchive`` and converted from that SavedModel with
``signature_keys``: a plain ``tf.saved_model.save`` or ``from_concrete_functions`` keeps the Keras
variables as uninitialised resource variables (NaN logits). The converter stores each weight once
and every signature's subgraph reads it (de-duplicated read-only buffers).
"""

from __future__ import annotations

import inspect
import tempfile
from dataclasses import dataclass
from typing import Any

from litert_build.errors import ConversionError

# CausalLM classes (or their subclasses) whose cache-aware pass we trace, and how their decoder
# layers take the cache; checked token for token against KerasHub's generate in the tests.
STACKED_FAMILIES: dict[str, tuple[str, str, bool]] = {
    # class: (cache kwarg, cache index kwarg, embedding scaled by sqrt(hidden_dim))
    "GemmaCausalLM": ("cache", "cache_update_index", True),
    "LlamaCausalLM": ("self_attention_cache", "self_attention_cache_update_index", False),
    "MistralCausalLM": ("self_attention_cache", "self_attention_cache_update_index", False),
    "QwenCausalLM": ("self_attention_cache", "self_attention_cache_update_index", False),
    "Qwen3CausalLM": ("self_attention_cache", "self_attention_cache_update_index", False),
    "Phi3CausalLM": ("attention_cache", "attention_cache_update_index", False),
    "MixtralCausalLM": ("self_attention_cache", "self_attention_cache_update_index", False),
    "QwenMoeCausalLM": ("self_attention_cache", "self_attention_cache_update_index", False),
    "Qwen3MoeCausalLM": ("self_attention_cache", "self_attention_cache_update_index", False),
}
PER_LAYER_FAMILIES = ("Gemma3CausalLM",)
SUPPORTED = tuple(STACKED_FAMILIES) + PER_LAYER_FAMILIES + ("Llama3CausalLM (a LlamaCausalLM)",)


@dataclass(frozen=True)
class CacheShape:
    """The KV cache of one model: per layer, keys and values [1, kv_heads, length, head_dim]."""

    layers: int
    kv_heads: int
    head_dim: int
    length: int

    def tensor_shape(self) -> list[int]:
        return [1, self.kv_heads, self.length, self.head_dim]

    def names(self) -> list[str]:
        return ([f"kv_cache_k_{i}" for i in range(self.layers)]
                + [f"kv_cache_v_{i}" for i in range(self.layers)])

    def bytes(self) -> int:
        """float32 bytes of the whole cache (keys and values, every layer)."""
        return 2 * self.layers * self.kv_heads * self.length * self.head_dim * 4

    def to_json(self) -> dict[str, Any]:
        return {"layers": self.layers, "kv_heads": self.kv_heads, "head_dim": self.head_dim,
                "length": self.length, "layout": "[1, kv_heads, length, head_dim]",
                "dtype": "float32", "bytes": self.bytes()}


def family(lm: Any) -> str:
    """The supported CausalLM class ``lm`` is (its own or a base class), or a ConversionError that
    lists the supported ones."""
    for cls in type(lm).__mro__:
        if cls.__name__ in STACKED_FAMILIES or cls.__name__ in PER_LAYER_FAMILIES:
            return cls.__name__
    raise ConversionError(
        f"kind 'llm' has no KV-cache export for {type(lm).__name__} yet. Supported: "
        f"{', '.join(SUPPORTED)}. Use kind float32 for a fixed-window export of this model.")


def cache_shape(lm: Any, length: int) -> CacheShape:
    backbone = lm.backbone
    head_dim = getattr(backbone, "head_dim", None) or backbone.hidden_dim // backbone.num_query_heads
    return CacheShape(int(backbone.num_layers), int(backbone.num_key_value_heads), int(head_dim), length)


def signature_names(prefill: list[int]) -> list[str]:
    """``decode`` and ``prefill_<T>`` per chunk length (``prefill`` alone when there is one)."""
    lengths = sorted(prefill)
    return ["decode"] + (["prefill"] if len(lengths) == 1 else [f"prefill_{t}" for t in lengths])


def _forward(lm: Any, name: str, tokens: Any, start: Any, keys: list, values: list, logits: bool):
    """(logits of the last position or None, new keys, new values): ``call_with_cache`` with the
    cache per layer, in KerasHub's [1, seq, heads, dim] layout."""
    from keras import ops

    if name in PER_LAYER_FAMILIES:
        out, _, cache = lm.call_with_cache(tokens, tuple(zip(keys, values, strict=True)), start)
        return (out[:, -1:, :] if logits else None), [c[0] for c in cache], [c[1] for c in cache]
    cache_kwarg, index_kwarg, scaled = STACKED_FAMILIES[name]
    backbone = lm.backbone
    x = backbone.token_embedding(tokens)
    if scaled:
        x = x * ops.cast(ops.sqrt(backbone.hidden_dim), x.dtype)
    new_keys, new_values = [], []
    for layer, k, v in zip(backbone.transformer_layers, keys, values, strict=True):
        x, cache = layer(x, **{cache_kwarg: ops.stack([k, v], axis=1), index_kwarg: start})
        new_keys.append(cache[:, 0])
        new_values.append(cache[:, 1])
    if not logits:
        return None, new_keys, new_values
    x = backbone.layer_norm(x[:, -1:, :])  # the last position only: the lm head is vocab-wide
    return backbone.token_embedding(x, reverse=True), new_keys, new_values


def _check_layers(lm: Any, name: str) -> None:
    """The decoder layers take the cache keyword the family table says (a KerasHub version that
    renamed it fails here, by name, not in the middle of a trace)."""
    if name in PER_LAYER_FAMILIES:
        return
    wanted = STACKED_FAMILIES[name][0]
    params = inspect.signature(lm.backbone.transformer_layers[0].call).parameters
    if wanted not in params:
        raise ConversionError(
            f"{type(lm).__name__}'s decoder layer takes no '{wanted}' argument in this keras-hub "
            f"(it takes {', '.join(params)}): its KV-cache export needs updating.")


def signature_functions(lm: Any, prefill: list[int], shape: CacheShape) -> dict[str, Any]:
    """name -> tf.function with its input signature, for :func:`convert`."""
    import tensorflow as tf
    from keras import ops

    name = family(lm)
    _check_layers(lm, name)
    cache_specs = [tf.TensorSpec(shape.tensor_shape(), tf.float32, name=n) for n in shape.names()]
    layers = shape.layers

    def make(length: int, logits: bool):
        specs = [tf.TensorSpec([1, length], tf.int32, name="tokens"),
                 tf.TensorSpec([length], tf.int32, name="input_pos"), *cache_specs]

        def step(tokens, input_pos, *cache):
            dtype = lm.compute_dtype  # the caches are float32 at the signature, whatever computes
            to_keras = [ops.cast(ops.transpose(c, (0, 2, 1, 3)), dtype) for c in cache]  # [1, seq, h, d]
            out, keys, values = _forward(lm, name, tokens, input_pos[0], to_keras[:layers],
                                         to_keras[layers:], logits)
            result = {}
            for i, (k, v) in enumerate(zip(keys, values, strict=True)):
                result[f"kv_cache_k_{i}"] = ops.cast(ops.transpose(k, (0, 2, 1, 3)), "float32")
                result[f"kv_cache_v_{i}"] = ops.cast(ops.transpose(v, (0, 2, 1, 3)), "float32")
            if logits:
                result["logits"] = ops.cast(out, "float32")
            return result

        return tf.function(step, input_signature=specs, autograph=False)

    functions = {"decode": make(1, True)}
    for key, length in zip(signature_names(prefill)[1:], sorted(prefill), strict=True):
        functions[key] = make(length, False)
    return functions


def convert(lm: Any, prefill: list[int], shape: CacheShape, float16: bool = False,
            options: dict[str, Any] | None = None) -> bytes:
    """The prefill/decode flatbuffer (builtin and, so the op check can name them, Select TF ops).
    ``float16``: weights stored as float16 (dequantized at load time)."""
    import keras
    import tensorflow as tf

    from litert_build.export import lean_converter
    from litert_build.export.converter import CONVERTER_OPTIONS

    functions = signature_functions(lm, prefill, shape)
    with tempfile.TemporaryDirectory(prefix="litert-build-llm-") as folder:
        archive = keras.export.ExportArchive()
        archive.track(lm.backbone)  # not the task: its preprocessor's lookup tables would be Flex ops
        for key, function in functions.items():
            archive.add_endpoint(key, function)
        try:
            archive.write_out(folder, verbose=False)
        except Exception as exc:
            raise ConversionError(
                f"tracing {type(lm).__name__} through its KV cache failed: {type(exc).__name__}: "
                f"{str(exc).strip()[:2000]}") from exc
        converter = lean_converter.saved_model_converter(folder, list(functions))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                               tf.lite.OpsSet.SELECT_TF_OPS]
        for option, value in (options or {}).items():
            setattr(converter, CONVERTER_OPTIONS[option], value)
        if float16:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        try:
            return bytes(lean_converter.convert(converter))
        except Exception as exc:
            raise ConversionError(
                f"TensorFlow's LiteRT converter failed on the prefill/decode signatures: "
                f"{type(exc).__name__}: {str(exc).strip()[:4000]}") from exc


def float16_weight_bytes(flatbuffer: bytes) -> int:
    """Bytes of the float16 constant buffers (each stored once, whichever signatures read it): what
    float32 weights would add to the file, so a float16 artifact's size ratio needs no second
    conversion."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    seen: dict[int, int] = {}
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            if tensor.Type() == schema.TensorType.FLOAT16 and tensor.Buffer():
                buffer = model.Buffers(tensor.Buffer())
                seen[tensor.Buffer()] = int(buffer.DataLength() or buffer.Size())
    return sum(seen.values())
