"""Input-signature inference for Sequential, Functional and Subclassed Keras models.

Rules (see the README, "Input signatures"):

* Functional: the model's declared input structure. A dict of inputs gives one
  artifact input per key, named by the key, in the model's declared order; a list
  gives one per element, named by its Input's name.
* Sequential: its single input (the model must be built).
* Subclassed: the shapes recorded when the model was first called or built; an
  input is named by the ``call`` parameter (or the dict key) it arrived through.
* ``inputs:`` in models.yaml overrides inference.

A dynamic leading (batch) dimension of an inferred input becomes ``batch_size``
(default 1; ``null`` keeps it dynamic).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from litert_build.errors import ConversionError, ManifestError

TENSOR_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/]*")


GENERATED_NAME = re.compile(r"(keras_tensor|input_layer)(_\d+)?")


@dataclass(frozen=True)
class TensorSig:
    name: str
    shape: tuple[int | None, ...]
    dtype: str
    aliases: tuple[str, ...] = ()  # the model's own (generated) names for this input, when renamed

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class InputSignature:
    """The artifact's inputs, in order, and how to pass them to the model's ``call``."""

    tensors: tuple[TensorSig, ...]
    structure: str  # "single" | "list" | "dict" | "args"
    origin: str  # "manifest" | "functional" | "sequential" | "subclassed"

    def pack(self, flat: list[Any]) -> tuple[Any, ...]:
        """Positional arguments for ``model(...)`` from the flat list of input tensors."""
        if self.structure == "single":
            return (flat[0],)
        if self.structure == "list":
            return (list(flat),)
        if self.structure == "dict":
            return ({t.name: x for t, x in zip(self.tensors, flat, strict=True)},)
        return tuple(flat)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tensors]

    def generated_names(self) -> dict[str, list[str]] | None:
        """The inputs renamed from a Keras-generated name: new name -> the model's own names (the
        manifest's ``generated_input_names``); None when every name is the model's own."""
        renamed = {t.name: list(t.aliases) for t in self.tensors if t.aliases}
        return renamed or None


def _unbuilt(model_name: str) -> ConversionError:
    return ConversionError(
        f"model '{model_name}' has not been built, so its inputs are unknown. "
        "Call it once on example data in the builder (model(x)) or give "
        "'inputs:' in models.yaml, e.g. inputs: [{name: x, shape: [1, 16], dtype: float32}]."
    )


def _check_name(name: str, model_name: str) -> str:
    if not TENSOR_NAME.fullmatch(name):
        raise ConversionError(
            f"model '{model_name}': input name '{name}' cannot name a LiteRT signature input "
            "(use letters, digits, '_', '.', '-', '/'). Rename it or give 'inputs:' in models.yaml."
        )
    return name


def _fix_batch(shape: tuple[int | None, ...], batch_size: int | None) -> tuple[int | None, ...]:
    if shape and shape[0] is None and batch_size is not None:
        return (batch_size,) + tuple(shape[1:])
    return tuple(shape)


def _from_keras_tensor(x, name: str, batch_size: int | None, model_name: str) -> TensorSig:
    import keras

    shape = tuple(None if d is None else int(d) for d in x.shape)
    dtype = keras.backend.standardize_dtype(x.dtype)
    return TensorSig(_check_name(name, model_name), _fix_batch(shape, batch_size), dtype)


def _own_names(x) -> tuple[str, ...]:
    """The names Keras gives an input: its tensor's and its InputLayer's (``keras_tensor_3`` for a
    model built in this process, ``input_layer`` for the same model loaded from a .keras file)."""
    history = getattr(x, "_keras_history", None)
    layer = getattr(getattr(history, "operation", None), "name", None)
    return tuple(dict.fromkeys(n for n in (x.name, layer) if n))


def _named(tensors: tuple[TensorSig, ...], inputs: list) -> tuple[TensorSig, ...]:
    """One rule whatever the source: an input keeps its own name unless Keras generated it
    (``keras_tensor*``, ``input_layer*``: it depends on how the model was made or loaded), which
    becomes ``input`` (one input) or ``input_<i>`` (by position); the generated names stay
    accepted as keys of calibration and eval data."""
    taken = {t.name for t in tensors if not GENERATED_NAME.fullmatch(t.name)}
    named = []
    for i, (t, x) in enumerate(zip(tensors, inputs, strict=True)):
        if not GENERATED_NAME.fullmatch(t.name):
            named.append(t)
            continue
        new = "input" if len(tensors) == 1 else f"input_{i}"
        while new in taken:
            new = f"{new}_"
        taken.add(new)
        named.append(TensorSig(new, t.shape, t.dtype, _own_names(x)))
    return tuple(named)


def infer_input_signature(
    model, model_name: str, batch_size: int | None, explicit: list[dict[str, Any]] | None = None
) -> InputSignature:
    import keras
    from keras.src.models.functional import Functional

    is_sequential = isinstance(model, keras.Sequential)
    is_functional = isinstance(model, Functional) and not is_sequential
    if explicit:
        return _explicit_signature(model, model_name, explicit, is_functional, is_sequential)

    if is_sequential:
        if not model.built or not model.inputs:
            raise _unbuilt(model_name)
        x = model.inputs[0]
        return InputSignature(
            _named((_from_keras_tensor(x, x.name, batch_size, model_name),), [x]), "single", "sequential"
        )

    if is_functional:
        struct = model._inputs_struct
        if isinstance(struct, dict):
            _reject_nesting(struct.values(), model_name)
            tensors = tuple(
                _from_keras_tensor(x, str(key), batch_size, model_name)
                for key, x in struct.items()
            )
            return InputSignature(tensors, "dict", "functional")
        if isinstance(struct, (list, tuple)):
            _reject_nesting(struct, model_name)
            tensors = tuple(_from_keras_tensor(x, x.name, batch_size, model_name) for x in struct)
            return InputSignature(_named(tensors, list(struct)), "list", "functional")
        return InputSignature(
            _named((_from_keras_tensor(struct, struct.name, batch_size, model_name),), [struct]),
            "single",
            "functional",
        )

    return _subclassed_signature(model, model_name, batch_size)


def _reject_nesting(values, model_name: str) -> None:
    for value in values:
        if isinstance(value, (dict, list, tuple)):
            raise ConversionError(
                f"model '{model_name}' takes nested input structures, which a LiteRT signature "
                "cannot express. Give a flat 'inputs:' list in models.yaml."
            )


def _subclassed_signature(model, model_name: str, batch_size: int | None) -> InputSignature:
    shapes = getattr(model, "_build_shapes_dict", None)
    if not model.built or not shapes:
        raise _unbuilt(model_name)
    dtype = model.input_dtype
    positional = [
        p for p in inspect.signature(model.call).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "training"
    ]
    params = [p.name for p in positional]
    required = [p.name for p in positional if p.default is p.empty]
    if len(required) > len(shapes):
        # Keras' default build records the first call argument's shape only.
        raise ConversionError(
            f"model '{model_name}': its call takes {required}, but Keras recorded the shape of "
            f"{list(shapes)} only when it was built. Give 'inputs:' in models.yaml (one per "
            "argument), or define build() with every input shape.")

    def sig(name: str, shape) -> TensorSig:
        shape = (None,) + tuple(shape[1:])  # the recorded batch size is the example's
        return TensorSig(_check_name(name, model_name), _fix_batch(shape, batch_size), dtype)

    def is_shape(value) -> bool:
        return isinstance(value, (list, tuple)) and all(
            isinstance(d, (int, type(None))) for d in value
        )

    values = list(shapes.values())
    if len(values) == 1:
        value = values[0]
        name = params[0] if params else "input"
        if is_shape(value):
            return InputSignature((sig(name, value),), "single", "subclassed")
        if isinstance(value, dict) and all(is_shape(v) for v in value.values()):
            tensors = tuple(sig(str(k), v) for k, v in value.items())
            return InputSignature(tensors, "dict", "subclassed")
        if isinstance(value, (list, tuple)) and all(is_shape(v) for v in value):
            tensors = tuple(sig(f"{name}_{i}", v) for i, v in enumerate(value))
            return InputSignature(tensors, "list", "subclassed")
    elif all(is_shape(v) for v in values):
        names = params[: len(values)]
        if len(names) == len(values):
            return InputSignature(
                tuple(sig(n, v) for n, v in zip(names, values, strict=True)), "args", "subclassed"
            )
    raise ConversionError(
        f"model '{model_name}': cannot infer inputs from the shapes it was built with "
        f"({shapes}). Give 'inputs:' in models.yaml."
    )


def _explicit_signature(
    model, model_name: str, explicit: list[dict[str, Any]], is_functional: bool, is_sequential: bool
) -> InputSignature:
    tensors = tuple(
        TensorSig(item["name"], tuple(item["shape"]), item.get("dtype", "float32"))
        for item in explicit
    )
    names = [t.name for t in tensors]
    if len(set(names)) != len(names):
        raise ManifestError("input names must be unique.", model=model_name, field="inputs")
    struct = getattr(model, "_inputs_struct", None) if is_functional else None
    if isinstance(struct, dict):
        if set(names) != set(struct):
            raise ManifestError(
                f"the model takes a dict with keys {list(struct)}; 'inputs' names {names}. "
                "Use the model's keys.",
                model=model_name, field="inputs",
            )
        return InputSignature(tensors, "dict", "manifest")
    if isinstance(struct, (list, tuple)):
        if len(struct) != len(tensors):
            raise ManifestError(
                f"the model takes {len(struct)} inputs; 'inputs' gives {len(tensors)}.",
                model=model_name, field="inputs",
            )
        return InputSignature(tensors, "list", "manifest")
    if len(tensors) == 1:
        return InputSignature(tensors, "single", "manifest")
    if is_sequential or struct is not None:
        raise ManifestError(
            f"the model takes one input; 'inputs' gives {len(tensors)}.",
            model=model_name, field="inputs",
        )
    # A subclassed model given several inputs is called with a dict keyed by name.
    return InputSignature(tensors, "dict", "manifest")


@dataclass
class InputHints:
    """What valid verification inputs look like, where random values would not be valid.

    ``int_ranges``: [low, high) per input name (token ids below the vocabulary size,
    padding masks of ones); ``fixed``: arrays used as they are (e.g. the positions of
    image tokens in a multimodal prompt); ``sample_shapes``: the shapes of each input for sample
    0, 1, ... (cycled) where the artifact has dynamic dimensions and verification must try
    several sizes.
    """

    int_ranges: dict[str, list[int]] = field(default_factory=dict)
    fixed: dict[str, np.ndarray] = field(default_factory=dict)
    sample_shapes: list[dict[str, list[int]]] = field(default_factory=list)  # cycled, per sample
