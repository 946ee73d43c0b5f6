"""Input-signature inference (litert_build.export.signature) on small Keras models, in process.

Why in the unit tier: inference only reads a built model's declared inputs (no TensorFlow
conversion, no worker, no subprocess), so each case takes milliseconds; the one cost is
importing Keras on the TensorFlow backend (what the worker uses) once, about 5-8 s on 2 cores,
paid by this file alone (--dist loadfile keeps it on one worker). Before, these rules were only
checked through full conversions (tests/e2e/test_model_kinds.py, test_example_build.py), about
5 s of worker time per model.
"""

from __future__ import annotations

import pytest

from litert_build.errors import ConversionError, ManifestError
from litert_build.export.signature import InputSignature, TensorSig, infer_input_signature


@pytest.fixture(scope="module")
def keras():
    import keras

    assert keras.backend.backend() == "tensorflow"  # the worker's backend
    keras.utils.set_random_seed(0)
    return keras


def shapes(sig: InputSignature) -> list[tuple]:
    return [(t.name, t.shape, t.dtype) for t in sig.tensors]


def test_sequential_takes_its_input_and_a_static_batch(keras):
    model = keras.Sequential([keras.Input((64,), name="pixels"), keras.layers.Dense(2)])
    sig = infer_input_signature(model, "digits", batch_size=1)
    assert (sig.structure, sig.origin) == ("single", "sequential")
    assert shapes(sig) == [("pixels", (1, 64), "float32")]
    assert infer_input_signature(model, "digits", batch_size=4).tensors[0].shape == (4, 64)
    assert infer_input_signature(model, "digits", batch_size=None).tensors[0].shape == (None, 64)


def test_an_unbuilt_sequential_is_an_error_that_says_how_to_fix_it(keras):
    with pytest.raises(ConversionError, match="model 'seq' has not been built.*give 'inputs:'"):
        infer_input_signature(keras.Sequential([keras.layers.Dense(2)]), "seq", 1)


def test_functional_dict_inputs_are_named_by_key_in_declared_order(keras):
    inputs = {"b_second": keras.Input((40,), name="b_second"),
              "a_first": keras.Input((24,), dtype="int32", name="a_first")}
    x = keras.layers.Concatenate()([inputs["b_second"], keras.ops.cast(inputs["a_first"], "float32")])
    sig = infer_input_signature(keras.Model(inputs, keras.layers.Dense(2)(x)), "ranker", 1)
    assert (sig.structure, sig.origin) == ("dict", "functional")
    assert shapes(sig) == [("b_second", (1, 40), "float32"), ("a_first", (1, 24), "int32")]
    assert sig.pack(["B", "A"]) == ({"b_second": "B", "a_first": "A"},)


def test_functional_list_inputs_are_named_by_their_inputs(keras):
    left, right = keras.Input((6,), name="left"), keras.Input((2,), name="right")
    model = keras.Model([left, right], keras.layers.Dense(3)(keras.layers.Concatenate()([left, right])))
    sig = infer_input_signature(model, "m", 2)
    assert (sig.structure, sig.origin, sig.names) == ("list", "functional", ["left", "right"])
    assert [t.shape for t in sig.tensors] == [(2, 6), (2, 2)]
    assert sig.pack(["L", "R"]) == (["L", "R"],)


def test_an_input_name_litert_cannot_carry_is_an_error(keras):
    x = keras.Input((3,), name="my input")
    with pytest.raises(ConversionError, match="input name 'my input' cannot name a LiteRT signature input"):
        infer_input_signature(keras.Model(x, keras.layers.Dense(1)(x)), "m", 1)


def test_nested_list_inputs_are_refused(keras):
    parts = [[keras.Input((2,), name="a0"), keras.Input((2,), name="a1")], keras.Input((2,), name="b")]
    y = keras.layers.Concatenate()([*parts[0], parts[1]])
    with pytest.raises(ConversionError, match="nested input structures"):
        infer_input_signature(keras.Model(parts, keras.layers.Dense(1)(y)), "m", 1)


def test_nested_dict_inputs_are_refused(keras):
    parts = {"a": [keras.Input((2,), name="a0"), keras.Input((2,), name="a1")]}
    y = keras.layers.Dense(1)(keras.layers.Concatenate()(parts["a"]))
    with pytest.raises(ConversionError, match="nested input structures"):
        infer_input_signature(keras.Model(parts, y), "m", 1)


def subclassed(keras, call, build=None):
    """A subclassed model with one Dense layer and the given ``call`` (and ``build``)."""
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

    Sub.call = call
    if build:
        Sub.build = build
    return Sub()


def test_subclassed_inputs_are_named_by_the_call_parameter(keras):
    model = subclassed(keras, lambda self, features, training=False: self.dense(features))
    with pytest.raises(ConversionError, match="model 'sub' has not been built"):
        infer_input_signature(model, "sub", 1)
    model(keras.ops.zeros((3, 7)))  # built by one call, batch 3
    sig = infer_input_signature(model, "sub", 1)
    assert (sig.structure, sig.origin) == ("single", "subclassed")
    assert shapes(sig) == [("features", (1, 7), "float32")]  # the example's batch is not kept
    assert infer_input_signature(model, "sub", None).tensors[0].shape == (None, 7)


def test_subclassed_dict_and_list_arguments(keras):
    def concat(parts):
        return keras.ops.concatenate(parts, axis=-1)

    by_key = subclassed(keras, lambda self, inputs: self.dense(concat([inputs["a"], inputs["b"]])))
    by_key({"a": keras.ops.zeros((1, 3)), "b": keras.ops.zeros((1, 4))})
    sig = infer_input_signature(by_key, "m", 1)
    assert (sig.structure, shapes(sig)) == ("dict", [("a", (1, 3), "float32"), ("b", (1, 4), "float32")])

    listed = subclassed(keras, lambda self, parts: self.dense(concat(parts)))
    listed([keras.ops.zeros((5, 3)), keras.ops.zeros((5, 4))])
    sig = infer_input_signature(listed, "m", 1)
    assert (sig.structure, sig.names) == ("list", ["parts_0", "parts_1"])


def test_subclassed_positional_arguments_with_their_own_build(keras):
    def build(self, left_shape, right_shape):
        self.dense.build((None, left_shape[-1] + right_shape[-1]))

    model = subclassed(keras, lambda self, left, right: self.dense(keras.ops.concatenate([left, right], -1)),
                       build)
    model(keras.ops.zeros((5, 3)), keras.ops.zeros((5, 4)))
    sig = infer_input_signature(model, "m", 1)
    assert sig.structure == "args"
    assert shapes(sig) == [("left", (1, 3), "float32"), ("right", (1, 4), "float32")]
    assert sig.pack(["L", "R"]) == ("L", "R")


def test_subclassed_positional_arguments_without_a_build(keras):
    model = subclassed(keras, lambda self, left, right: self.dense(keras.ops.concatenate([left, right], -1)))
    model(keras.ops.zeros((5, 3)), keras.ops.zeros((5, 4)))
    with pytest.raises(ConversionError, match=r"its call takes \['left', 'right'\], but Keras recorded"):
        infer_input_signature(model, "m", 1)


def test_explicit_inputs_override_inference(keras):
    model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)])
    sig = infer_input_signature(model, "m", 1, [{"name": "feats", "shape": [1, 4]}])
    assert (sig.structure, sig.origin) == ("single", "manifest")
    assert sig.tensors == (TensorSig("feats", (1, 4), "float32"),)  # float32 unless given
    with pytest.raises(ManifestError, match="field 'inputs': the model takes one input; 'inputs' gives 2"):
        infer_input_signature(model, "m", 1, [{"name": "a", "shape": [1, 2]}, {"name": "b", "shape": [1, 2]}])
    with pytest.raises(ManifestError, match="input names must be unique"):
        infer_input_signature(model, "m", 1, [{"name": "a", "shape": [1, 2]}, {"name": "a", "shape": [1, 2]}])


def test_explicit_inputs_must_fit_the_models_structure(keras):
    inputs = {"price": keras.Input((1,), name="price"), "text": keras.Input((16,), name="text")}
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Concatenate()(list(inputs.values()))))
    given = [{"name": "text", "shape": [1, 16]}, {"name": "price", "shape": [1, 1]}]
    sig = infer_input_signature(model, "m", 1, given)
    assert (sig.structure, sig.names) == ("dict", ["text", "price"])  # the manifest's order
    with pytest.raises(ManifestError, match=r"takes a dict with keys \['price', 'text'\]; 'inputs' names"):
        infer_input_signature(model, "m", 1, [{"name": "cost", "shape": [1, 1]}, given[0]])
    left, right = keras.Input((6,), name="left"), keras.Input((2,), name="right")
    listed = keras.Model([left, right], keras.layers.Concatenate()([left, right]))
    with pytest.raises(ManifestError, match="the model takes 2 inputs; 'inputs' gives 1"):
        infer_input_signature(listed, "m", 1, [{"name": "left", "shape": [1, 6]}])
    unbuilt = subclassed(keras, lambda self, x: self.dense(x))
    two = [{"name": "a", "shape": [1, 2]}, {"name": "b", "shape": [1, 3]}]
    sig = infer_input_signature(unbuilt, "m", 1, two)
    assert (sig.structure, sig.names) == ("dict", ["a", "b"])  # several inputs: called with a dict


def test_generated_input_names_become_input_whatever_the_source(keras, tmp_path):
    """One model, one name: built here its input is keras_tensor_N, loaded from .keras it is
    input_layer; both give ``input``, and data keyed by either of the model's own names is
    accepted."""
    import numpy as np

    from litert_build.worker.data import check_against_signature

    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    for source in (model, loaded):
        sig = infer_input_signature(source, "m", 1)
        assert sig.names == ["input"]
        own = source.inputs[0].name
        assert own in sig.generated_names()["input"]
        arrays = {own: np.zeros((3, 4), np.float32)}  # keyed as a user would: model.inputs[0].name
        assert check_against_signature(arrays, sig.tensors, "calibration") == 3
        assert list(arrays) == ["input"]
    assert infer_input_signature(model, "m", 1).generated_names() != \
        infer_input_signature(loaded, "m", 1).generated_names()  # different own names, same input

    seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert infer_input_signature(seq, "s", 1).names == ["input"]
    a, b = keras.Input((2,)), keras.Input((2,), name="mask")
    two = keras.Model([a, b], keras.layers.Add()([a, b]))
    sig = infer_input_signature(two, "t", 1)
    assert sig.names == ["input_0", "mask"]  # a name the model gave is kept
    assert list(sig.generated_names()) == ["input_0"] and a.name in sig.generated_names()["input_0"]
    named = keras.Input((4,), name="pixels")
    assert infer_input_signature(keras.Model(named, keras.layers.Dense(2)(named)), "p", 1).names == ["pixels"]
    assert infer_input_signature(keras.Model(named, keras.layers.Dense(2)(named)), "p", 1) \
        .generated_names() is None
