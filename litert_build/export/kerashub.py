"""KerasHub tasks: a registry from task class to static input signature and output names.

KerasHub tasks are Functional models whose inputs have dynamic sizes (``token_ids``
is ``[None, None]``, ``images`` is ``[None, None, None, 3]``). LiteRT wants every
dimension fixed, so each registry entry says how to fill them:

* text inputs (integer ``[batch, length]``): the sequence length, by priority
  ``sequence_length:`` in models.yaml (variant, then model) > the preprocessor's
  ``sequence_length`` > 128;
* image inputs (``[batch, height, width, channels]``): ``image_size:`` in models.yaml >
  the preprocessor's image converter > the backbone's ``image_shape``; else an error
  that says which field to set;
* seq2seq: ``encoder_*`` inputs use the encoder length, ``decoder_*`` the decoder length
  (the preprocessor's ``encoder_sequence_length`` / ``decoder_sequence_length``; a
  ``sequence_length:`` in models.yaml sets both).

Lookup is subclass-first: among the entries whose class is in the model's MRO, the
nearest one wins (``Gemma3CausalLM`` before ``CausalLM``), whatever the order below.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from litert_build.errors import ConversionError, ManifestError

DEFAULT_SEQUENCE_LENGTH = 128
DEFAULT_AUDIO_LENGTH = 16000  # samples: one second at 16 kHz


@dataclass(frozen=True)
class Family:
    task: str  # class name in keras_hub.models
    kind: str  # "text" | "seq2seq" | "image" | "audio" | "multimodal" | "backbone"
    outputs: tuple[str, ...] = ()  # names when the task returns unnamed tensors


REGISTRY: tuple[Family, ...] = (
    Family("CausalLM", "text", ("logits",)),
    Family("TextClassifier", "text", ("logits",)),
    Family("Seq2SeqLM", "seq2seq", ("logits",)),
    Family("ImageClassifier", "image", ("logits",)),
    Family("ObjectDetector", "image"),
    Family("ImageSegmenter", "image", ("logits",)),
    Family("DepthEstimator", "image"),
    Family("AudioToText", "audio", ("logits",)),
    Family("Gemma3CausalLM", "multimodal", ("logits",)),
    Family("PaliGemmaCausalLM", "multimodal", ("logits",)),
    Family("Backbone", "backbone"),
)


@dataclass
class HubSignature:
    family: Family
    task_class: str
    inputs: list[dict[str, Any]]  # manifest-style: name, shape, dtype
    record: dict[str, Any] = field(default_factory=dict)  # what the manifest says about it
    hints: Any = None  # verify.InputHints: what valid verification inputs look like

    @property
    def default_outputs(self) -> tuple[str, ...]:
        """Names for unnamed outputs: the family's, or for a backbone what it returns."""
        if self.family.outputs or self.family.kind != "backbone":
            return self.family.outputs
        text = any(item["name"].endswith("token_ids") for item in self.inputs)
        return ("sequence_output",) if text else ("features",)


# Integer inputs whose values mean something: verification feeds valid values.
MASK_INPUTS = ("padding_mask", "encoder_padding_mask", "decoder_padding_mask", "attention_mask")
ZERO_INPUTS = ("segment_ids", "response_mask")


def is_kerashub(model) -> bool:
    return any(c.__module__.startswith("keras_hub.") for c in type(model).__mro__)


def tracked_layers(model) -> list:
    """What a converted KerasHub task must carry: its layers, not the task object itself.

    Saving the task would also save its preprocessor (even when detached, Keras still
    tracks it), and the tokenizer's lookup tables would become Flex HashTable ops.
    """
    return [layer for layer in model.layers if layer.built] or [model]


def find_family(model) -> Family:
    """The registry entry nearest to the model's class in its MRO (subclass first).

    Matched by class name among KerasHub classes, so base classes that keras_hub does not
    export publicly (``AudioToText``) still match.
    """
    by_task = {family.task: family for family in REGISTRY}
    for cls in type(model).__mro__:
        if cls.__module__.startswith("keras_hub.") and cls.__name__ in by_task:
            return by_task[cls.__name__]
    supported = ", ".join(f.task for f in REGISTRY)
    raise ConversionError(
        f"{type(model).__name__} has no entry in litert-build's KerasHub registry (supported: "
        f"{supported}, and their subclasses). Give its inputs explicitly in models.yaml, e.g. "
        "inputs: [{name: token_ids, shape: [1, 128], dtype: int32}, ...]."
    )


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    height, width = value
    return int(height), int(width)


def sequence_length(model, settings: dict[str, Any], which: str = "sequence_length") -> tuple[int, str]:
    if settings.get("sequence_length"):
        return int(settings["sequence_length"]), "models.yaml"
    value = getattr(getattr(model, "preprocessor", None), which, None)
    if value:
        return int(value), "preprocessor"
    return DEFAULT_SEQUENCE_LENGTH, "default"


def image_size(model, settings: dict[str, Any], model_name: str) -> tuple[tuple[int, int], str]:
    if settings.get("image_size"):
        return _pair(settings["image_size"]), "models.yaml"
    converter = getattr(getattr(model, "preprocessor", None), "image_converter", None)
    size = getattr(converter, "image_size", None)
    if size and all(size):
        return _pair(tuple(size)), "preprocessor"
    shape = getattr(getattr(model, "backbone", model), "image_shape", None)
    if shape and len(shape) == 3 and shape[0] and shape[1]:
        return (int(shape[0]), int(shape[1])), "backbone"
    raise ManifestError(
        f"the image size of this {type(model).__name__} is unknown: its preprocessor has no "
        "image_size and its backbone no fixed image_shape. Set image_size: [height, width] for "
        "this model in models.yaml.",
        model=model_name, field="image_size",
    )


def hub_signature(model, settings: dict[str, Any], model_name: str) -> HubSignature:
    """The static input list for a KerasHub task or backbone, filled by the registry rules."""
    import keras

    family = find_family(model)
    batch = settings.get("batch_size")
    if batch is None:
        raise ManifestError(
            "KerasHub artifacts get fully static shapes: set batch_size to an integer (default 1).",
            model=model_name, field="batch_size",
        )
    struct = model._inputs_struct
    if not isinstance(struct, dict):
        tensors = struct if isinstance(struct, (list, tuple)) else [struct]
        struct = {_input_name(t, i, len(tensors)): t for i, t in enumerate(tensors)}
    record: dict[str, Any] = {"task": type(model).__name__, "registry_entry": family.task}
    lengths: dict[str, tuple[int, str]] = {}
    size: tuple[tuple[int, int], str] | None = None
    inputs = []
    images_per_prompt, vision_tokens = _multimodal_sizes(model, struct, record)
    for name, tensor in struct.items():
        shape = list(tensor.shape)
        dtype = keras.backend.standardize_dtype(tensor.dtype)
        shape[0] = batch
        if images_per_prompt and name == "images" and len(shape) == 5:
            shape[1] = images_per_prompt  # [batch, images, height, width, channels]
        if images_per_prompt and name == "vision_indices":
            shape[1] = images_per_prompt * vision_tokens
        unknown = [i for i, d in enumerate(shape) if d is None]
        if unknown and len(shape) == 4 and unknown[0] in (1, 2) and dtype.startswith("float"):
            if size is None:
                size = image_size(model, settings, model_name)
            shape[1], shape[2] = size[0]
        elif unknown and family.kind == "audio" and name.startswith("encoder"):
            if "audio_length" not in lengths:
                lengths["audio_length"] = (
                    (int(settings["audio_length"]), "models.yaml") if settings.get("audio_length")
                    else (DEFAULT_AUDIO_LENGTH, "default"))
            shape = [lengths["audio_length"][0] if d is None else d for d in shape]
        elif unknown:
            which = "sequence_length"
            if family.kind == "seq2seq":
                which = "encoder_sequence_length" if name.startswith("encoder") else (
                    "decoder_sequence_length")
            if which not in lengths:
                lengths[which] = sequence_length(model, settings, which)
            shape = [lengths[which][0] if d is None else d for d in shape]
        if any(d is None for d in shape):
            raise ConversionError(
                f"input '{name}' of {type(model).__name__} has shape {list(tensor.shape)}; "
                "litert-build cannot tell what its dynamic dimensions mean. Give 'inputs:' in "
                "models.yaml."
            )
        inputs.append({"name": str(name), "shape": shape, "dtype": dtype})
    _check_max_length(model, lengths, model_name)
    from .signature import InputHints

    vocabulary = getattr(getattr(model, "backbone", model), "vocabulary_size", None)
    int_ranges: dict[str, list[int]] = {}
    for item in inputs:
        if item["name"] in MASK_INPUTS:
            int_ranges[item["name"]] = [1, 2]  # all positions real
        elif item["name"] in ZERO_INPUTS:
            int_ranges[item["name"]] = [0, 1]
        elif vocabulary and item["name"].endswith("token_ids"):
            int_ranges[item["name"]] = [0, int(vocabulary)]
    for which, (value, origin) in lengths.items():
        record[which] = {"value": value, "from": origin}
    if size is not None:
        record["image_size"] = {"value": list(size[0]), "from": size[1]}
    hints = InputHints(int_ranges=int_ranges)
    if family.task == "Gemma3CausalLM" and "vision_indices" in struct:
        hints.fixed.update(_gemma3_vision_layout(inputs))
    return HubSignature(family, type(model).__name__, inputs, record, hints)


def _multimodal_sizes(model, struct, record: dict[str, Any]) -> tuple[int, int]:
    """Gemma3 with vision: (images per prompt, vision tokens per image), else (0, 0).

    Images per prompt: the preprocessor's ``max_images_per_prompt``, else 1.
    """
    if "vision_indices" not in struct:
        return 0, 0
    encoder = getattr(getattr(model, "backbone", model), "vision_encoder", None)
    tokens = int(getattr(encoder, "num_vision_tokens_per_image", 0) or 0)
    per_prompt = getattr(getattr(model, "preprocessor", None), "max_images_per_prompt", None) or 1
    record["images_per_prompt"] = int(per_prompt)
    record["vision_tokens_per_image"] = tokens
    return int(per_prompt), tokens


def _gemma3_vision_layout(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """A valid prompt layout for verification: image tokens right after the first token."""
    import numpy as np

    shapes = {item["name"]: item["shape"] for item in inputs}
    batch, count = shapes["vision_indices"]
    length = shapes["token_ids"][1]
    if count + 1 > length:
        raise ManifestError(
            f"sequence_length {length} cannot hold the {count} image tokens of one prompt; set "
            f"sequence_length: to more than {count}.", field="sequence_length",
        )
    indices = np.tile(np.arange(1, count + 1, dtype="int32"), (batch, 1))
    mask = np.zeros((batch, length), dtype="int32")
    mask[:, 1 : count + 1] = 1
    return {"vision_indices": indices, "vision_mask": mask}


def _input_name(tensor, index: int, count: int) -> str:
    """A KerasHub input's name; auto-generated ones (``keras_tensor_12``) get a meaningful one."""
    name = tensor.name
    if not re.match(r"^(keras_tensor|input_layer)(_\d+)?$", name):
        return name
    base = "images" if len(tensor.shape) == 4 else "inputs"
    return base if count == 1 else f"{base}_{index}"


def _check_max_length(model, lengths: dict[str, tuple[int, str]], model_name: str) -> None:
    backbone = getattr(model, "backbone", model)
    limit = getattr(backbone, "max_sequence_length", None)
    for which, (value, origin) in lengths.items():
        if limit and value > limit and which != "audio_length":
            raise ManifestError(
                f"{which} {value} (from {origin}) exceeds the backbone's max_sequence_length "
                f"{limit}. Set sequence_length: to at most {limit}.",
                model=model_name, field="sequence_length",
            )


# ------------------------------------------------------------------ runtime assets


def _jsonable(value):
    """Plain JSON data from a Keras config (numpy scalars and arrays become lists/numbers)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def runtime_assets(preprocessor) -> tuple[dict[str, bytes], dict[str, Any]]:
    """What an app needs to feed the artifact: files to ship and a description of them.

    Files: the tokenizer's own assets (vocabulary, merges, SentencePiece proto) as the
    tokenizer saves them, plus ``tokenizer.json`` / ``preprocessor.json`` (the Keras
    configs, so keras_hub can rebuild them). Description: tokenizer class, and for image
    and audio models the converter settings (size, scale, offset, interpolation, ...).
    """
    import json
    import tempfile
    from pathlib import Path

    import keras

    files: dict[str, bytes] = {}
    record: dict[str, Any] = {}
    if preprocessor is None:
        return files, record

    def config_bytes(obj) -> bytes:
        return (json.dumps(_jsonable(keras.saving.serialize_keras_object(obj)), indent=2,
                           sort_keys=True) + "\n").encode()

    files["preprocessor.json"] = config_bytes(preprocessor)
    record["preprocessor"] = type(preprocessor).__name__
    for attr in ("sequence_length", "encoder_sequence_length", "decoder_sequence_length"):
        if getattr(preprocessor, attr, None):
            record[attr] = int(getattr(preprocessor, attr))
    tokenizer = getattr(preprocessor, "tokenizer", None)
    if tokenizer is not None:
        files["tokenizer.json"] = config_bytes(tokenizer)
        with tempfile.TemporaryDirectory() as tmp:
            if hasattr(tokenizer, "save_assets"):
                tokenizer.save_assets(tmp)
            for path in sorted(Path(tmp).rglob("*")):
                if path.is_file():
                    files[f"tokenizer/{path.relative_to(tmp).as_posix()}"] = path.read_bytes()
        record["tokenizer"] = {
            "class": type(tokenizer).__name__,
            "vocabulary_size": _call(tokenizer, "vocabulary_size"),
            "files": sorted(k for k in files if k.startswith("tokenizer/")),
        }
    for attr, key in (("image_converter", "image_preprocessing"),
                      ("audio_converter", "audio_preprocessing")):
        converter = getattr(preprocessor, attr, None)
        if converter is not None:
            config = _jsonable(converter.get_config())
            for noise in ("name", "trainable", "dtype"):
                config.pop(noise, None)
            record[key] = {"class": type(converter).__name__, **config}
    return files, record


def _call(obj, method: str):
    try:
        return int(getattr(obj, method)())
    except Exception:
        return None


# ---------------------------------------------------------------- graph rewrites


class _OpsWithMatmulFFT2:
    """``keras.ops`` whose ``fft2`` is computed as DFT matrix products.

    FNet mixes tokens with a 2-D FFT, which TensorFlow's converter can only emit as the
    Flex ops FFT2D and Complex. With static shapes the same transform is two products
    with constant cosine/sine matrices: FFT2(A + iB) = F_L (A + iB) F_H with
    F_N = C_N - i S_N, which converts to builtin BATCH_MATMUL / FULLY_CONNECTED.
    """

    def __init__(self, ops):
        self._ops = ops

    def __getattr__(self, name):
        return getattr(self._ops, name)

    def fft2(self, x):
        import numpy as np

        real, imag = x
        length, width = int(real.shape[-2]), int(real.shape[-1])
        ops = self._ops

        def dft(n):
            angle = 2.0 * np.pi * np.outer(np.arange(n), np.arange(n)) / n
            return (ops.convert_to_tensor(np.cos(angle).astype("float32")),
                    ops.convert_to_tensor(np.sin(angle).astype("float32")))

        cos_l, sin_l = dft(length)
        cos_h, sin_h = dft(width)
        # P = F_L (A + iB) = (C A + S B) + i (C B - S A)
        p_real = ops.matmul(cos_l, real) + ops.matmul(sin_l, imag)
        p_imag = ops.matmul(cos_l, imag) - ops.matmul(sin_l, real)
        # Q = P F_H = (Pr C + Pi S) + i (Pi C - Pr S)
        q_real = ops.matmul(p_real, cos_h) + ops.matmul(p_imag, sin_h)
        q_imag = ops.matmul(p_imag, cos_h) - ops.matmul(p_real, sin_h)
        return q_real, q_imag


def _uses(model, class_path: str) -> bool:
    import importlib

    module_name, _, class_name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        return False
    return any(isinstance(layer, cls) for layer in model._flatten_layers())


@contextlib.contextmanager
def graph_rewrites(model) -> Iterator[list[str]]:
    """Rewrites active while the serving function is traced; yields their descriptions.

    Each replaces an op that has no builtin LiteRT kernel with the same math in ops
    that have one. The Keras reference used for verification runs after the block,
    with the original ops, so verification checks the rewrite too.
    """
    import importlib

    patches: list[tuple[Any, str, Any]] = []
    applied: list[str] = []
    if _uses(model, "keras_hub.src.layers.modeling.f_net_encoder.FNetEncoder"):
        module = importlib.import_module("keras_hub.src.layers.modeling.f_net_encoder")
        patches.append((module, "ops", _OpsWithMatmulFFT2(module.ops)))
        applied.append("FNetEncoder: fft2 as DFT matrix products (no Flex FFT2D/Complex)")
    originals = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        yield applied
    finally:
        for obj, name, value in originals:
            setattr(obj, name, value)
