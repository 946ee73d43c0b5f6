"""`litert-build export` (one model from a .keras file, a builder or a KerasHub preset, without a
models.yaml) and `litert-build init`."""

from __future__ import annotations

import pytest
from shared.project import load_json, run_build, run_python, write
from shared.zoo import ALPHA_BETA

SOURCES = '''
import keras
import keras_hub
import numpy as np

keras.utils.set_random_seed(0)
x = keras.Input((5,), name="feats")
keras.Model(x, keras.layers.Dense(2, name="out")(x)).save("m.keras")
np.savez("calib.npz", feats=np.random.default_rng(0).standard_normal((40, 5)).astype("float32"))

words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat"]
tok = keras_hub.models.BertTokenizer(vocabulary=words)
pre = keras_hub.models.BertTextClassifierPreprocessor(tokenizer=tok, sequence_length=10)
bb = keras_hub.models.BertBackbone(vocabulary_size=len(words), num_layers=1, num_heads=2,
                                   hidden_dim=16, intermediate_dim=32, max_sequence_length=32)
keras_hub.models.BertTextClassifier(backbone=bb, num_classes=3, preprocessor=pre).save_to_preset("bert")
'''


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sources")
    write(folder / "zoo.py", ALPHA_BETA)
    run_python(folder, SOURCES)
    return folder


def _passed(out, model, variant, version="1"):
    meta = load_json(out / "artifacts" / model / version / f"{model}.{variant}.json")
    assert meta["verification"]["status"] == "passed", meta["verification"]
    assert (out / "artifacts" / model / version / f"{model}.{variant}.tflite").is_file()
    return meta


def test_export_a_keras_file_with_variants_then_build_it_incrementally(sources):
    result = run_build(sources, "export", "m.keras", "-o", "out_keras", "--variant", "float32",
                       "--variant", "int8", "--calibration", "calib.npz", "--save-manifest",
                       "kept/models.yaml")
    assert result.returncode == 0, result.output
    out = sources / "out_keras"
    _passed(out, "m", "float32")
    assert _passed(out, "m", "int8")["quantization"]["calibration"]["used"] > 0
    assert "calib.npz" in (sources / "kept/models.yaml").read_text()
    again = run_build(sources, "--manifest", "out_keras")
    assert again.returncode == 0 and again.executed == [], again.output
    kept = run_build(sources, "--manifest", "kept/models.yaml", "list", "--all")  # a valid manifest
    assert kept.returncode == 0 and "convert:m:int8" in kept.output, kept.output


def test_export_a_builder_and_a_preset(sources):
    built = run_build(sources, "export", "zoo:alpha", "-o", "out_builder")
    assert built.returncode == 0, built.output
    _passed(sources / "out_builder", "alpha", "float32")
    hub = run_build(sources, "export", "bert", "-o", "out_hub", "--name", "bert_tiny", "--model-version", "2")
    assert hub.returncode == 0, hub.output
    meta = _passed(sources / "out_hub", "bert_tiny", "float32", "2")
    assert meta["kerashub"]["task"] == "BertTextClassifier"
    assert meta["signatures"]["serving_default"]["inputs"][0]["shape"] == [1, 10]


def test_export_refuses_what_it_cannot_build(sources):
    missing = run_build(sources, "export", "nope.keras", "-o", "x")
    assert missing.returncode == 2 and "nope.keras: no such file" in missing.output, missing.output
    kind = run_build(sources, "export", "m.keras", "-o", "x", "--variant", "int3")
    assert kind.returncode == 2 and "--variant int3: not a kind" in kind.output, kind.output
    assert not (sources / "x" / "artifacts").exists()


def test_init_writes_a_valid_starter_once(tmp_path):
    first = run_build(tmp_path, "init")
    assert first.returncode == 0, first.output
    text = (tmp_path / "models.yaml").read_text()
    assert text.startswith("# litert-build manifest") and "variants:" in text
    listing = run_build(tmp_path, "status")
    assert listing.returncode == 0 and "0 up to date, 0 to build" in listing.output, listing.output
    second = run_build(tmp_path, "init")
    assert second.returncode == 1 and "not overwritten" in second.output
    assert (tmp_path / "models.yaml").read_text() == text
