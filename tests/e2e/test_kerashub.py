"""KerasHub tasks end to end: local presets and builders, registry shapes, names, stock runtime,
parity, sequence-length and image-size priority, runtime assets, and clear errors.

Tiny models are built from constructors and saved with ``save_to_preset`` into a temp
folder by a subprocess (no network)."""

from __future__ import annotations

import hashlib

import pytest
from shared.hub import GPT2_TINY_PRESET
from shared.project import artifact, load_json, manifest_of, run_build, run_python, write_project

MAKE_PRESETS = '''
import keras
import keras_hub

keras.utils.set_random_seed(0)
''' + GPT2_TINY_PRESET + '''
# BERT classifier with a word-piece tokenizer (sequence_length 10).
words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat"]
btok = keras_hub.models.BertTokenizer(vocabulary=words)
bpre = keras_hub.models.BertTextClassifierPreprocessor(tokenizer=btok, sequence_length=10)
bbb = keras_hub.models.BertBackbone(vocabulary_size=len(words), num_layers=1, num_heads=2,
                                    hidden_dim=16, intermediate_dim=32, max_sequence_length=32)
keras_hub.models.BertTextClassifier(backbone=bbb, num_classes=3, preprocessor=bpre).save_to_preset(
    "presets/bert_tiny")

# ResNet classifier whose preprocessor resizes to 32x32.
rbb = keras_hub.models.ResNetBackbone(
    input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64],
    stackwise_num_blocks=[1], stackwise_num_strides=[1], block_type="basic_block")
conv = keras_hub.layers.ResNetImageConverter(image_size=(32, 32), scale=1 / 255.0)
rpre = keras_hub.models.ResNetImageClassifierPreprocessor(image_converter=conv)
keras_hub.models.ResNetImageClassifier(backbone=rbb, num_classes=4, preprocessor=rpre).save_to_preset(
    "presets/resnet_tiny")
'''

BUILDERS = '''
import keras
import keras_hub


def gpt2_without_preprocessor():
    keras.utils.set_random_seed(1)
    bb = keras_hub.models.GPT2Backbone(vocabulary_size=6, num_layers=1, num_heads=2, hidden_dim=16,
                                       intermediate_dim=32, max_sequence_length=256)
    return keras_hub.models.GPT2CausalLM(backbone=bb, preprocessor=None)


def resnet_without_size():
    keras.utils.set_random_seed(2)
    bb = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64],
        stackwise_num_blocks=[1], stackwise_num_strides=[1], block_type="basic_block")
    return keras_hub.models.ResNetImageClassifier(backbone=bb, num_classes=2, preprocessor=None)


def gpt2_backbone():
    keras.utils.set_random_seed(3)
    return keras_hub.models.GPT2Backbone(vocabulary_size=6, num_layers=1, num_heads=2, hidden_dim=16,
                                         intermediate_dim=32, max_sequence_length=32)


class Unregistered(keras_hub.models.Task):
    pass


def unregistered_task():
    x = keras.Input((4,), name="features")
    return Unregistered(inputs=x, outputs=keras.layers.Dense(2)(x))
'''

MANIFEST = '''
schema: 1
models:
  gpt2:
    version: "1"
    source: {preset: presets/gpt2_tiny}
    variants:
      float32: {}
      seq8: {kind: float32, sequence_length: 8}
  gpt2_default_length:
    version: "1"
    source: {builder: "hub_builders:gpt2_without_preprocessor"}
  gpt2_explicit:
    version: "1"
    source: {preset: presets/gpt2_tiny}
    inputs:
      - {name: token_ids, shape: [1, 6], dtype: int32}
      - {name: padding_mask, shape: [1, 6], dtype: int32}
    verify: {int_range: [0, 2]}
  backbone:
    version: "1"
    source: {builder: "hub_builders:gpt2_backbone"}
    sequence_length: 20
  bert:
    version: "1"
    source: {preset: presets/bert_tiny, task: TextClassifier}
  resnet:
    version: "1"
    source: {preset: presets/resnet_tiny}
    variants:
      float32: {}
      big: {kind: float32, image_size: [48, 40]}
  resnet_unsized:
    version: "1"
    source: {builder: "hub_builders:resnet_without_size"}
  unregistered:
    version: "1"
    source: {builder: "hub_builders:unregistered_task"}
  too_long:
    version: "1"
    source: {preset: presets/gpt2_tiny}
    sequence_length: 64
  remote:
    version: "1"
    source: {preset: "kaggle://keras/gemma/keras/gemma_2b_en"}
'''


@pytest.fixture(scope="module")
def hub_project(tmp_path_factory):
    project = write_project(tmp_path_factory.mktemp("kerashub"),
                            {"hub_builders.py": BUILDERS, "models.yaml": MANIFEST})
    run_python(project, MAKE_PRESETS)
    return project, run_build(project)


def signature(project, model, variant="float32"):
    return manifest_of(project, model, variant)["signatures"]["serving_default"]


def test_built_artifacts_are_static_named_and_builtin_only(hub_project):
    project, result = hub_project
    built = [("gpt2", "float32"), ("gpt2", "seq8"), ("gpt2_default_length", "float32"),
             ("backbone", "float32"), ("gpt2_explicit", "float32"),
             ("bert", "float32"), ("resnet", "float32"), ("resnet", "big")]
    for model, variant in built:
        tflite, manifest = artifact(project, model, variant)
        assert tflite.is_file(), result.output
        meta = load_json(manifest)
        assert meta["flex_ops"] == [] and meta["runtime"] == "builtin"
        assert meta["verification"]["status"] == "passed"  # stock interpreter, parity with Keras
        assert meta["input_signature_origin"] == (
            "manifest" if model == "gpt2_explicit" else "kerashub")
        for tensor in meta["signatures"]["serving_default"]["inputs"]:
            assert -1 not in tensor["shape_signature"], (model, tensor)
            assert tensor["shape"] == tensor["shape_signature"]


def test_text_inputs_and_outputs_named(hub_project):
    project, _ = hub_project
    gpt2 = signature(project, "gpt2")
    assert [(i["name"], i["shape"], i["dtype"]) for i in gpt2["inputs"]] == [
        ("token_ids", [1, 12], "int32"), ("padding_mask", [1, 12], "int32")]
    assert [(o["name"], o["shape"]) for o in gpt2["outputs"]] == [("logits", [1, 12, 6])]
    bert = signature(project, "bert")
    assert [i["name"] for i in bert["inputs"]] == ["token_ids", "segment_ids", "padding_mask"]
    assert [(o["name"], o["shape"]) for o in bert["outputs"]] == [("logits", [1, 3])]


def test_sequence_length_priority(hub_project):
    project, _ = hub_project

    def length(model, variant="float32"):
        return manifest_of(project, model, variant)["kerashub"]["sequence_length"]

    assert length("gpt2") == {"value": 12, "from": "preprocessor"}
    assert length("gpt2", "seq8") == {"value": 8, "from": "models.yaml"}
    assert length("gpt2_default_length") == {"value": 128, "from": "default"}
    assert signature(project, "gpt2", "seq8")["inputs"][0]["shape"] == [1, 8]
    assert signature(project, "gpt2_default_length")["inputs"][0]["shape"] == [1, 128]


def test_image_size_priority_and_family_default(hub_project):
    project, result = hub_project
    meta = manifest_of(project, "resnet")
    assert meta["kerashub"]["image_size"] == {"value": [32, 32], "from": "preprocessor"}
    assert signature(project, "resnet")["inputs"][0]["shape"] == [1, 32, 32, 3]
    assert signature(project, "resnet")["inputs"][0]["name"] == "images"
    assert signature(project, "resnet", "big")["inputs"][0]["shape"] == [1, 48, 40, 3]
    assert [o["name"] for o in signature(project, "resnet")["outputs"]] == ["logits"]
    # no preprocessor, no fixed image shape: the size ResNet's presets use, zero-config
    unsized = manifest_of(project, "resnet_unsized")
    assert unsized["kerashub"]["image_size"] == {"value": [224, 224], "from": "default"}
    assert signature(project, "resnet_unsized")["inputs"][0]["shape"] == [1, 224, 224, 3]
    assert unsized["verification"]["status"] == "passed"


def test_runtime_assets_are_shipped_with_hashes(hub_project):
    project, _ = hub_project
    meta = manifest_of(project, "gpt2")
    assets = meta["assets"]
    folder = artifact(project, "gpt2")[0].parent / assets["folder"]
    assert assets["tokenizer"]["class"] == "GPT2Tokenizer"
    assert set(assets["tokenizer"]["files"]) == {"tokenizer/merges.txt", "tokenizer/vocabulary.json"}
    for name, digest in assets["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    image = manifest_of(project, "resnet")["assets"]["image_preprocessing"]
    assert image["image_size"] == [32, 32] and abs(image["scale"] - 1 / 255) < 1e-9
    bert = manifest_of(project, "bert")["assets"]["tokenizer"]
    assert bert["class"] == "BertTokenizer" and bert["files"] == ["tokenizer/vocabulary.txt"]


def test_clear_errors(hub_project):
    project, result = hub_project
    out = result.output
    assert "Unregistered has no entry in litert-build's KerasHub registry" in out
    assert "CausalLM, TextClassifier" in out and "inputs:" in out
    assert "sequence_length 64 (from models.yaml) exceeds the backbone's max_sequence_length 32" in out
    assert "preset 'kaggle://keras/gemma/keras/gemma_2b_en' is not a local folder" in out
    assert "never downloads" in out
    for model in ("unregistered", "too_long", "remote"):
        assert not artifact(project, model)[0].exists()


def test_preset_files_count_in_the_hash(hub_project):
    project, _ = hub_project
    meta = manifest_of(project, "gpt2")
    hashed = set(meta["inputs_xxh3"])
    assert {"presets/gpt2_tiny/model.weights.h5", "presets/gpt2_tiny/task.json",
            "presets/gpt2_tiny/assets/tokenizer/vocabulary.json"} <= hashed


def test_backbone_alone(hub_project):
    project, _ = hub_project
    meta = manifest_of(project, "backbone")
    assert meta["kerashub"]["registry_entry"] == "Backbone"
    sig = meta["signatures"]["serving_default"]
    assert [(i["name"], i["shape"]) for i in sig["inputs"]] == [
        ("token_ids", [1, 20]), ("padding_mask", [1, 20])]
    (output,) = sig["outputs"]
    assert (output["name"], output["shape"]) == ("sequence_output", [1, 20, 16])


def test_fresh_clone_restores_artifact_and_assets_from_cache(hub_project, tmp_path):
    """The cache entry holds the runtime assets too; a clone gets them byte for byte."""
    import shutil

    project, _ = hub_project
    clone = tmp_path / "clone"
    shutil.copytree(project / "presets", clone / "presets")
    for name in ("hub_builders.py", "models.yaml"):
        shutil.copy(project / name, clone / name)
    result = run_build(clone, "convert:gpt2:float32", env={"LITERT_BUILD_CACHE": str(project / ".cache")})
    assert result.returncode == 0, result.output
    assert result.restored == ["gpt2:float32"] and result.converted == []
    original = artifact(project, "gpt2")[0].parent
    restored = artifact(clone, "gpt2")[0].parent
    files = sorted(p.relative_to(original).as_posix() for p in original.rglob("*") if p.is_file())
    files = [f for f in files if f.startswith(("gpt2.float32.", "gpt2.assets/"))]
    assert "gpt2.float32.intoto.json" in files and "gpt2.assets/tokenizer.json" in files, files
    for rel in files:
        assert (restored / rel).read_bytes() == (original / rel).read_bytes(), rel
