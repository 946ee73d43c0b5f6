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

Each entry of :data:`REGISTRY` names the function that fills an input's dynamic dimensions
(``dims``) and, where random verification inputs would not be valid, the one that gives fixed
ones (``fixed``). Lookup is subclass-first: among the entries whose class is in the model's MRO,
the nearest one wins (``Gemma3CausalLM`` before ``CausalLM``), whatever the order below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litert_build.errors import ConversionError, ManifestError
from litert_build.export.signature import GENERATED_NAME

if TYPE_CHECKING:
    import numpy as np

    from litert_build.config.settings import BuildSettings

    from .signature import InputHints

DEFAULT_SEQUENCE_LENGTH = 128
DYNAMIC = "dynamic"  # sequence_length / image_size: leave the dimension dynamic
DEFAULT_AUDIO_LENGTH = 16000  # samples: one second at 16 kHz

# Integer inputs whose values mean something: verification feeds valid values.
MASK_INPUTS = ("padding_mask", "encoder_padding_mask", "decoder_padding_mask", "attention_mask")
ZERO_INPUTS = ("segment_ids", "response_mask")

Shape = list[int | None]


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    height, width = value
    return int(height), int(width)


# The backbone attributes that bound each length (the first one present); other lengths are bound
# by every max_*sequence_length the backbone has.
LENGTH_LIMITS = {
    "encoder_sequence_length": ("max_encoder_sequence_length", "max_sequence_length"),
    "decoder_sequence_length": ("max_decoder_sequence_length", "max_sequence_length"),
}


def backbone_of(model):
    """The model's KerasHub backbone: the model itself when it is one (a bare ``DFineBackbone`` has
    a ``.backbone`` of its own, its image encoder), else its ``backbone``."""
    if any(c.__name__ == "Backbone" and c.__module__.startswith("keras_hub.") for c in type(model).__mro__):
        return model
    return getattr(model, "backbone", model)


def length_limit(model, which: str = "sequence_length") -> tuple[int, str] | None:
    """(the longest ``which`` the backbone accepts, the attribute saying so), or None.

    Looked up on the backbone and on the sub-models it holds as attributes (``CLIPBackbone``'s
    limit is its ``text_encoder.max_sequence_length``)."""
    backbone = backbone_of(model)
    limits = []
    for prefix, holder in _length_holders(backbone):
        names = LENGTH_LIMITS.get(which) or tuple(
            name for name in sorted(vars(holder)) if re.fullmatch(r"max_\w*sequence_length", name))
        found = [(int(value), prefix + name) for name in names
                 if isinstance(value := getattr(holder, name, None), int) and value > 0]
        queries = getattr(holder, "num_query_tokens", None)  # BLIP-2: they take positions too
        if isinstance(queries, int) and queries > 0:
            found = [(value - queries, f"{name} - num_query_tokens") for value, name in found]
        labels = getattr(holder, "max_label_length", None)  # PARSeq: the labels and a start token
        if which == "sequence_length" and isinstance(labels, int) and labels > 0:
            found.append((labels + 1, f"{prefix}max_label_length + 1"))
        limits += found[:1] if which in LENGTH_LIMITS else found
    return min(limits) if limits else None


def _length_holders(backbone) -> list[tuple[str, Any]]:
    """(attribute path prefix, object): the backbone, then the layers it holds as attributes."""
    import keras

    holders = [("", backbone)]
    for attribute, value in sorted(vars(backbone).items()):
        if isinstance(value, keras.layers.Layer) and not attribute.startswith("_"):
            holders.append((f"{attribute}.", value))
    return holders


def sequence_length(model, settings: BuildSettings, which: str = "sequence_length") -> tuple[int, str]:
    """(length, where it came from): models.yaml > the preprocessor's ``which`` > the default
    (128, or the backbone's limit when that is shorter: ``default, capped by the backbone``)."""
    if settings.sequence_length and settings.sequence_length != DYNAMIC:
        return int(settings.sequence_length), "models.yaml"
    value = getattr(getattr(model, "preprocessor", None), which, None)
    if value:
        return int(value), "preprocessor"
    limit = length_limit(model, which)
    if limit is not None and limit[0] < DEFAULT_SEQUENCE_LENGTH:
        return limit[0], "default, capped by the backbone"
    return DEFAULT_SEQUENCE_LENGTH, "default"


# Zero-config image sizes of backbones with no fixed image shape: what the family's presets use.
IMAGE_DEFAULTS = {
    "ResNetBackbone": 224, "EfficientNetBackbone": 224, "MobileNetBackbone": 224,
    "DenseNetBackbone": 224, "VGGBackbone": 224, "HGNetV2Backbone": 224, "CSPNetBackbone": 256,
    "XceptionBackbone": 299, "SAMBackbone": 1024, "BASNetBackbone": 288, "DeepLabV3Backbone": 512,
    "DFineBackbone": 640, "RetinaNetBackbone": 800, "MobileNetV5Backbone": 768,
    "Gemma3nBackbone": 768, "VAEBackbone": 1024,
}


def image_size(model, settings: BuildSettings, model_name: str) -> tuple[tuple[int, int], str]:
    """((height, width), where it came from): models.yaml > the preprocessor's image converter >
    the backbone's ``image_shape`` > the family's default (:data:`IMAGE_DEFAULTS`); else an error
    naming ``image_size``."""
    if settings.image_size and settings.image_size != DYNAMIC:
        return _pair(settings.image_size), "models.yaml"
    converter = getattr(getattr(model, "preprocessor", None), "image_converter", None)
    size = getattr(converter, "image_size", None)
    if size and all(size):
        return _pair(tuple(size)), "preprocessor"
    shape = getattr(backbone_of(model), "image_shape", None)
    if shape and len(shape) == 3 and shape[0] and shape[1]:
        return (int(shape[0]), int(shape[1])), "backbone"
    for cls in type(backbone_of(model)).__mro__:
        if cls.__name__ in IMAGE_DEFAULTS:
            return _pair(IMAGE_DEFAULTS[cls.__name__]), "default"
    raise ManifestError(
        f"the image size of this {type(model).__name__} is unknown: its preprocessor has no "
        "image_size and its backbone no fixed image_shape. Set image_size: [height, width] for "
        "this model in models.yaml.",
        model=model_name, field="image_size",
    )


@dataclass
class Sizes:
    """The sizes that fill dynamic dimensions, each looked up once (by the rules above) and
    remembered with where it came from, for the manifest's ``kerashub`` record.

    ``halved``: the second size set of a dynamic dimension (``sequence_length: dynamic`` /
    ``image_size: dynamic``): the lengths or image size asked to be dynamic are half the first
    set's, so that the dimensions that differ between the two sets are the dynamic ones, and each
    set is one verification shape."""

    model: Any
    settings: BuildSettings
    model_name: str
    batch: int
    halved: bool = False
    lengths: dict[str, tuple[int, str]] = field(default_factory=dict)  # which -> (value, from)
    image: tuple[tuple[int, int], str] | None = None  # ((height, width), from)

    def length(self, which: str = "sequence_length") -> int:
        """The sequence length ``which`` (``encoder_sequence_length``, ...)."""
        if which not in self.lengths:
            self.lengths[which] = sequence_length(self.model, self.settings, which)
        value = self.lengths[which][0]
        return max(1, value // 2) if self.halved and self.settings.sequence_length == DYNAMIC else value

    def audio_length(self) -> int:
        """Audio samples per input: ``audio_length:`` in models.yaml, else one second at 16 kHz."""
        if "audio_length" not in self.lengths:
            self.lengths["audio_length"] = (
                (int(self.settings.audio_length), "models.yaml") if self.settings.audio_length
                else (DEFAULT_AUDIO_LENGTH, "default"))
        return self.lengths["audio_length"][0]

    def prompt_count(self, kind: str) -> int:
        """Prompts of ``kind`` (points, boxes, masks) per image: ``prompts:`` in models.yaml, else 1."""
        which = f"prompts.{kind}"
        if which not in self.lengths:
            given = getattr(self.settings.prompts, kind, None) if self.settings.prompts else None
            self.lengths[which] = (int(given), "models.yaml") if given else (1, "default")
        return self.lengths[which][0]

    def image_size(self) -> tuple[int, int]:
        if self.image is None:
            self.image = image_size(self.model, self.settings, self.model_name)
        height, width = self.image[0]
        if self.halved and self.settings.image_size == DYNAMIC:
            return max(1, height // 2), max(1, width // 2)
        return height, width

    def record(self) -> dict[str, Any]:
        """``{which: {"value": ..., "from": ...}}`` for every size used; a dynamic one
        ``{"value": "dynamic", "from": "models.yaml", "verified_at": [first, second]}``."""
        dynamic_length = self.settings.sequence_length == DYNAMIC
        record: dict[str, Any] = {}
        for which, (value, origin) in self.lengths.items():
            record[which] = {"value": value, "from": origin}
            if dynamic_length and which.endswith("sequence_length"):
                record[which] = {"value": DYNAMIC, "from": "models.yaml",
                                 "verified_at": [value, max(1, value // 2)]}
        if self.image is not None:
            (height, width), origin = self.image
            record["image_size"] = {"value": [height, width], "from": origin}
            if self.settings.image_size == DYNAMIC:
                record["image_size"] = {"value": DYNAMIC, "from": "models.yaml", "verified_at": [
                    [height, width], [max(1, height // 2), max(1, width // 2)]]}
        return record


# ------------------------------------------------- per-family rules for dynamic dimensions
# Each takes (sizes, input name, shape with the batch set, dtype) for an input that still has a
# dynamic dimension, and returns the shape with what it can fill filled.


def _is_image(shape: Shape, dtype: str) -> bool:
    """A float ``[batch, height, width, channels]`` input with a dynamic height or width."""
    unknown = [i for i, d in enumerate(shape) if d is None]
    return bool(unknown) and len(shape) == 4 and unknown[0] in (1, 2) and dtype.startswith("float")


def _filled(shape: Shape, value: int) -> Shape:
    return [value if d is None else d for d in shape]


def image_or_text_dims(sizes: Sizes, name: str, shape: Shape, dtype: str) -> Shape:
    """Most families: an image input takes the image size, any other the sequence length."""
    if _is_image(shape, dtype):
        shape[1], shape[2] = sizes.image_size()
        return shape
    return _filled(shape, sizes.length())


def seq2seq_dims(sizes: Sizes, name: str, shape: Shape, dtype: str) -> Shape:
    """Seq2seq: ``encoder_*`` inputs take the encoder length, the others the decoder length."""
    if _is_image(shape, dtype):
        return image_or_text_dims(sizes, name, shape, dtype)
    which = "encoder_sequence_length" if name.startswith("encoder") else "decoder_sequence_length"
    return _filled(shape, sizes.length(which))


def audio_dims(sizes: Sizes, name: str, shape: Shape, dtype: str) -> Shape:
    """Audio to text: ``encoder_*`` inputs take the audio length (samples), the others the
    sequence length."""
    if _is_image(shape, dtype) or not name.startswith("encoder"):
        return image_or_text_dims(sizes, name, shape, dtype)
    return _filled(shape, sizes.audio_length())


def backbone_dims(sizes: Sizes, name: str, shape: Shape, dtype: str) -> Shape:
    """A backbone used bare: an audio encoder's inputs (beside an ``encoder_input_values``) take the
    audio length, other ``encoder_``/``decoder_`` inputs their own lengths (Whisper's mel frames,
    BART's token ids), the rest as most families."""
    if name.startswith("encoder") and "encoder_input_values" in _named_inputs(sizes.model):
        return audio_dims(sizes, name, shape, dtype)
    if name.startswith(("encoder_", "decoder_")):
        return seq2seq_dims(sizes, name, shape, dtype)
    return image_or_text_dims(sizes, name, shape, dtype)


SAM_PROMPTS = {"points": "points", "labels": "points", "boxes": "boxes", "masks": "masks"}


def sam_dims(sizes: Sizes, name: str, shape: Shape, dtype: str) -> Shape:
    """SAM: the image takes the image size; each prompt input its own count (``prompts:``, 1 each
    by default: boxes [batch, count, 2, 2] would otherwise pass for an image), and the mask prompt
    the prompt encoder's mask size (4x its image embedding)."""
    if name not in SAM_PROMPTS:
        return image_or_text_dims(sizes, name, shape, dtype)
    shape[1] = sizes.prompt_count(SAM_PROMPTS[name])
    if name == "masks":
        encoder = backbone_of(sizes.model).prompt_encoder
        height, width = encoder.image_embedding_size
        shape[2], shape[3] = 4 * int(height), 4 * int(width)
    return shape


def sam_prompts(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """SAM: foreground point labels (1), a valid prompt; random floats match no label."""
    import numpy as np

    shapes = {item["name"]: item["shape"] for item in inputs}
    return {"labels": np.ones(shapes["labels"], "float32")} if "labels" in shapes else {}


def gemma3_vision_layout(inputs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Gemma3-style vision (Gemma3, T5Gemma 2): a valid prompt layout for verification, image tokens
    right after the first token (random ``vision_indices`` would not be valid). Nothing for a
    text-only model."""
    import numpy as np

    shapes = {item["name"]: item["shape"] for item in inputs}
    if "vision_indices" not in shapes:
        return {}
    batch, count = shapes["vision_indices"]
    tokens = "token_ids" if "token_ids" in shapes else "encoder_token_ids"
    length = shapes[tokens][1]
    if count + 1 > length:
        raise ManifestError(
            f"sequence_length {length} cannot hold the {count} image tokens of one prompt; set "
            f"sequence_length: to more than {count}.", field="sequence_length",
        )
    layout = {"vision_indices": np.tile(np.arange(1, count + 1, dtype="int32"), (batch, 1))}
    if "vision_mask" in shapes:
        layout["vision_mask"] = np.zeros((batch, length), dtype="int32")
        layout["vision_mask"][:, 1 : count + 1] = 1
    return layout


def gemma4_dims(sizes: Sizes, name: str, shape: Shape, dtype: str) -> Shape:
    """Gemma 4 with vision: one image per prompt as its square patch grid, ``pixel_values``
    [batch, 1, patches, 3 x patch_size^2] and ``pixel_position_ids`` [batch, 1, patches, 2]
    ((image_size / patch_size)^2 patches); text inputs as most families."""
    encoder = backbone_of(sizes.model).vision_encoder
    if encoder is None:  # text-only
        return image_or_text_dims(sizes, name, shape, dtype)
    patch = int(encoder.patch_size)
    patches = (int(encoder.image_size) // patch) ** 2
    if name == "pixel_values":
        return [shape[0], 1, patches, 3 * patch * patch]
    if name == "pixel_position_ids":
        return [shape[0], 1, patches, 2]
    return image_or_text_dims(sizes, name, shape, dtype)


def gemma4_layout(inputs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Gemma 4 with vision: the Gemma 3 prompt layout, the patch grid's (x, y) positions and text
    positions 0..length-1 (random ones would not be valid)."""
    import numpy as np

    shapes = {item["name"]: item["shape"] for item in inputs}
    layout = gemma3_vision_layout(inputs)
    if "pixel_position_ids" in shapes:
        batch, images, patches, _ = shapes["pixel_position_ids"]
        side = int(round(patches ** 0.5))
        grid = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="xy"), -1)
        layout["pixel_position_ids"] = np.broadcast_to(
            grid.reshape(1, 1, patches, 2), (batch, images, patches, 2)).astype("int32")
    if "position_ids" in shapes:
        batch, length = shapes["position_ids"]
        layout["position_ids"] = np.tile(np.arange(length, dtype="int32"), (batch, 1))
    return layout


SAM3_PROMPTS = {"boxes": "boxes", "box_labels": "boxes"}


def sam3_dims(sizes: Sizes, name: str, shape: Shape, dtype: str) -> Shape:
    """SAM 3: box prompts ``boxes`` [batch, boxes, 5] and ``box_labels`` [batch, boxes] have their
    own count (``prompts: {boxes: N}``, 1 by default), text and image as most families."""
    if name in SAM3_PROMPTS:
        shape[1] = sizes.prompt_count(SAM3_PROMPTS[name])
        return shape
    return image_or_text_dims(sizes, name, shape, dtype)


def sam3_prompts(inputs: list[dict[str, Any]]) -> dict[str, Any]:
    """SAM 3: valid box prompts for verification, [image index 0, centre x, centre y, width, height]
    normalised, a centred box of half the image, labelled positive (random floats index out of
    the image)."""
    import numpy as np

    shapes = {item["name"]: item["shape"] for item in inputs}
    if "boxes" not in shapes:
        return {}
    boxes = np.zeros(shapes["boxes"], "float32")
    boxes[..., 1:] = 0.5
    return {"boxes": boxes, "box_labels": np.ones(shapes["box_labels"], "int32")}


# ---------------------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Family:
    task: str  # class name in keras_hub.models
    kind: str  # "text" | "seq2seq" | "image" | "audio" | "multimodal" | "backbone"
    outputs: tuple[str, ...] = ()  # names when the task returns unnamed tensors
    dims: Callable[[Sizes, str, Shape, str], Shape] = image_or_text_dims  # fills dynamic dimensions
    fixed: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None  # fixed verification inputs
    refused: str = ""  # why the task cannot be converted as it is, and what to do instead
    refused_if: Callable[[Any], bool] | None = None  # refused only for such models (default: all)


SD3_STAGES = (
    "it generates with a Python loop around three models, and its graph is not one of them (it "
    "runs one denoising step at a schedule the first call fixes: its num_steps input is ignored "
    "after that). Convert the three stages as separate artifacts from builders: the text encoders "
    "(backbone.clip_l and backbone.clip_g, CLIPTextEncoder), one denoising step (backbone.diffuser, "
    "an MMDiT, with the sigmas as inputs) and the VAE decoder; see the README's 'Stable Diffusion 3'.")

MEDIA_LAYOUT = (
    "with a vision or audio encoder, its media inputs (images and audio features with their "
    "soft-token layouts) have no static layout in litert-build's registry yet. The text-only model "
    "(no vision_encoder / audio_encoder) converts zero-config.")


def _has_media_encoder(model) -> bool:
    backbone = backbone_of(model)
    return any(getattr(backbone, name, None) is not None for name in ("vision_encoder", "audio_encoder"))


REGISTRY: tuple[Family, ...] = (
    Family("CausalLM", "text", ("logits",)),
    Family("TextClassifier", "text", ("logits",)),
    Family("MaskedLM", "text", ("logits",)),
    Family("TextEmbedder", "text", ("embeddings",)),
    Family("Seq2SeqLM", "seq2seq", ("logits",), seq2seq_dims),
    Family("ImageClassifier", "image", ("logits",)),
    Family("ObjectDetector", "image"),
    Family("ImageSegmenter", "image", ("logits",)),
    Family("DepthEstimator", "image"),
    Family("SAMImageSegmenter", "image", (), sam_dims, fixed=sam_prompts),
    Family("SAMBackbone", "backbone", (), sam_dims, fixed=sam_prompts),
    Family("AudioToText", "audio", ("logits",), audio_dims),
    Family("Gemma3CausalLM", "multimodal", ("logits",), fixed=gemma3_vision_layout),
    Family("PaliGemmaCausalLM", "multimodal", ("logits",)),
    Family("Gemma3Backbone", "backbone", (), backbone_dims, fixed=gemma3_vision_layout),
    Family("T5Gemma2Seq2SeqLM", "seq2seq", ("logits",), seq2seq_dims, fixed=gemma3_vision_layout),
    Family("T5Gemma2Backbone", "backbone", (), backbone_dims, fixed=gemma3_vision_layout),
    Family("SAM3PromptableConceptImageSegmenter", "image", (), sam3_dims, fixed=sam3_prompts),
    Family("SAM3PromptableConceptBackbone", "backbone", (), sam3_dims, fixed=sam3_prompts),
    Family("TextToImage", "generative", (), backbone_dims),  # Flux: its graph is one denoiser call
    *(Family(task, "generative", refused=SD3_STAGES) for task in (
        "StableDiffusion3TextToImage", "StableDiffusion3ImageToImage", "StableDiffusion3Inpaint",
        "StableDiffusion3Backbone")),
    Family("Gemma4CausalLM", "multimodal", ("logits",), gemma4_dims, fixed=gemma4_layout),
    Family("Gemma4Backbone", "backbone", (), gemma4_dims, fixed=gemma4_layout),
    Family("Gemma3nCausalLM", "multimodal", ("logits",), refused=MEDIA_LAYOUT, refused_if=_has_media_encoder),
    Family("Gemma3nBackbone", "backbone", (), backbone_dims, refused=MEDIA_LAYOUT,
           refused_if=_has_media_encoder),
    Family("Backbone", "backbone", (), backbone_dims),
)


# Backbones whose masks and position biases stay folded even without fold_masks: computed at run
# time they would need Flex ops (DeBERTa-v3's relative-position buckets are int64: Abs, Sign).
FOLDED_MASKS = {"DebertaV3Backbone": "its run-time relative-position buckets would need Flex ops "
                                     "(int64 Abs, Sign)"}


def masks_policy(model, settings: BuildSettings) -> tuple[bool, str]:
    """(keep masks and position biases computed at run time, what the manifest says about it)."""
    if settings.fold_masks:
        return False, "folded (fold_masks: true)"
    for cls in type(backbone_of(model)).__mro__:
        if cls.__name__ in FOLDED_MASKS:
            return False, f"folded: {FOLDED_MASKS[cls.__name__]}"
    return True, "computed at run time"


@dataclass
class HubSignature:
    family: Family
    task_class: str
    inputs: list[dict[str, Any]]  # manifest-style: name, shape, dtype
    record: dict[str, Any] = field(default_factory=dict)  # what the manifest says about it
    hints: InputHints | None = None  # what valid verification inputs look like
    masks_at_run_time: bool = False  # keep masks/position biases out of constant folding

    @property
    def default_outputs(self) -> tuple[str, ...]:
        """Names for unnamed outputs: the family's, or for a backbone what it returns."""
        if self.family.outputs or self.family.kind != "backbone":
            return self.family.outputs
        text = any(item["name"].endswith("token_ids") for item in self.inputs)
        return ("sequence_output",) if text else ("features",)


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


# ------------------------------------------------------------------------ the static signature


def hub_signature(model, settings: BuildSettings, model_name: str) -> HubSignature:
    """The static input list for a KerasHub task or backbone, filled by its registry entry's rules;
    with what the manifest records about the sizes and the hints verification needs."""
    from .signature import InputHints

    family = find_family(model)
    if family.refused and (family.refused_if is None or family.refused_if(model)):
        raise ConversionError(f"{type(model).__name__}: {family.refused}")
    batch = _static_batch(settings, model_name)
    sizes = Sizes(model, settings, model_name, batch)
    struct = _named_inputs(model)
    record: dict[str, Any] = {"task": type(model).__name__, "registry_entry": family.task}
    vision = _multimodal_sizes(model, struct, record)
    inputs = [_static_input(family, sizes, vision, name, tensor) for name, tensor in struct.items()]
    _check_max_length(model, sizes.lengths, model_name)
    hints = InputHints(int_ranges=_int_ranges(model, inputs))
    record.update(sizes.record())
    if DYNAMIC in (settings.sequence_length, settings.image_size):
        halved = Sizes(model, settings, model_name, batch, halved=True)
        second = [_static_input(family, halved, vision, name, tensor) for name, tensor in struct.items()]
        hints.sample_shapes = [{item["name"]: list(item["shape"]) for item in shapes}
                               for shapes in (inputs, second)]
        for item, other in zip(inputs, second, strict=True):
            pairs = zip(item["shape"], other["shape"], strict=True)
            item["shape"] = [a if a == b else None for a, b in pairs]
        _check_dynamic(settings, inputs, model_name)
    if family.fixed is not None:
        hints.fixed.update(family.fixed(inputs))
    at_run_time, record["masks"] = masks_policy(model, settings)
    return HubSignature(family, type(model).__name__, inputs, record, hints, at_run_time)


def _check_dynamic(settings: BuildSettings, inputs: list[dict[str, Any]], model_name: str) -> None:
    """A dynamic size asked for where no input has such a dimension is an error, not a no-op."""
    if any(None in item["shape"] for item in inputs):
        return
    asked = "sequence_length" if settings.sequence_length == DYNAMIC else "image_size"
    shapes = ", ".join(f"{item['name']} {item['shape']}" for item in inputs)
    raise ManifestError(
        f"{asked}: dynamic, but no input of this model has a {asked.replace('_', ' ')} dimension "
        f"(its inputs: {shapes}). Remove it.",
        model=model_name, field=asked,
    )


def _static_batch(settings: BuildSettings, model_name: str) -> int:
    batch = settings.batch_size
    if batch is None:
        raise ManifestError(
            "KerasHub artifacts get fully static shapes: set batch_size to an integer (default 1).",
            model=model_name, field="batch_size",
        )
    return batch


def _named_inputs(model) -> dict[str, Any]:
    """The task's inputs by name, in its declared order."""
    struct = model._inputs_struct
    if not isinstance(struct, dict):
        tensors = struct if isinstance(struct, (list, tuple)) else [struct]
        struct = {_input_name(t, i, len(tensors)): t for i, t in enumerate(tensors)}
    return struct


def _static_input(family: Family, sizes: Sizes, vision: tuple[int, int], name: str, tensor) -> dict[str, Any]:
    """One input, manifest-style, every dimension fixed: the batch, the vision layout (Gemma3),
    then the family's rule; a dimension still dynamic is an error."""
    import keras

    shape: Shape = list(tensor.shape)
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    shape[0] = sizes.batch
    images_per_prompt, vision_tokens = vision
    if images_per_prompt and name == "images" and len(shape) == 5:
        shape[1] = images_per_prompt  # [batch, images, height, width, channels]
    if images_per_prompt and name == "vision_indices":
        shape[1] = images_per_prompt * vision_tokens
    if any(d is None for d in shape):
        shape = family.dims(sizes, name, shape, dtype)
    if any(d is None for d in shape):
        raise ConversionError(
            f"input '{name}' of {type(sizes.model).__name__} has shape {list(tensor.shape)}; "
            "litert-build cannot tell what its dynamic dimensions mean. Give 'inputs:' in "
            "models.yaml."
        )
    return {"name": str(name), "shape": shape, "dtype": dtype}


def _int_ranges(model, inputs: list[dict[str, Any]]) -> dict[str, list[int]]:
    """[low, high) of valid values for verification: padding masks of ones, segment ids of
    zeros, token ids below the vocabulary size."""
    vocabulary = getattr(backbone_of(model), "vocabulary_size", None)
    int_ranges: dict[str, list[int]] = {}
    for item in inputs:
        if item["name"] in MASK_INPUTS:
            int_ranges[item["name"]] = [1, 2]  # all positions real
        elif item["name"] in ZERO_INPUTS:
            int_ranges[item["name"]] = [0, 1]
        elif vocabulary and item["name"].endswith("token_ids"):
            int_ranges[item["name"]] = [0, int(vocabulary)]
        elif item["name"] == "mask_positions":  # positions into the token sequence
            length = next(i["shape"][1] for i in inputs if i["name"].endswith("token_ids"))
            int_ranges[item["name"]] = [0, int(length)]
    return int_ranges


def _multimodal_sizes(model, struct, record: dict[str, Any]) -> tuple[int, int]:
    """Gemma3 with vision (its task or its backbone): (images per prompt, vision tokens per
    image), else (0, 0).

    Images per prompt: the preprocessor's ``max_images_per_prompt``, else 1.
    """
    if "vision_indices" not in struct:
        return 0, 0
    backbone = backbone_of(model)
    encoder = getattr(backbone, "vision_encoder", None)
    tokens = int(getattr(encoder, "num_vision_tokens_per_image", 0)
                 or getattr(backbone, "num_vision_tokens_per_image", 0) or 0)
    per_prompt = getattr(getattr(model, "preprocessor", None), "max_images_per_prompt", None) or 1
    record["images_per_prompt"] = int(per_prompt)
    record["vision_tokens_per_image"] = tokens
    return int(per_prompt), tokens


def _input_name(tensor, index: int, count: int) -> str:
    """A KerasHub input's name; auto-generated ones (``keras_tensor_12``) get a meaningful one."""
    name = tensor.name
    if not GENERATED_NAME.fullmatch(name):
        return name
    base = "images" if len(tensor.shape) == 4 else "inputs"
    return base if count == 1 else f"{base}_{index}"


def _check_max_length(model, lengths: dict[str, tuple[int, str]], model_name: str) -> None:
    for which, (value, origin) in lengths.items():
        limit = length_limit(model, which) if which.endswith("sequence_length") else None
        if limit and value > limit[0]:
            raise ManifestError(
                f"{which} {value} (from {origin}) exceeds the backbone's {limit[1]} "
                f"{limit[0]}. Set sequence_length: to at most {limit[0]}.",
                model=model_name, field="sequence_length",
            )
