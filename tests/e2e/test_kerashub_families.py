"""KerasHub families, built tiny from constructors, through doit: static shapes, meaningful names,
builtin ops only (stock runtime) and parity with Keras.

The families of ``shared.hub.SLOW`` (RetinaNet, DeepLabV3, Depth Anything: multi-megabyte vision models;
Mistral, Qwen, Phi-3, Falcon: the decoder path Llama and Gemma take here) are built by
``bench/kerashub.py`` and ``bench/hub_sweep.py``, not here (test-time budget);
tests/e2e/test_hub_zero_config.py builds a light segmenter and depth estimator instead."""

from __future__ import annotations

import shutil

import pytest
from shared.hub import BUILDERS, EXTRA_MODELS, FAMILIES, SLOW, families_manifest
from shared.project import build_project, load_json


def _project(tmp_path_factory, label, names):
    project = tmp_path_factory.mktemp(label)
    shutil.copy(BUILDERS, project / "hub_families.py")
    return build_project(project, {"models.yaml": families_manifest(names)})


@pytest.fixture(scope="module")
def fast_families(tmp_path_factory):
    return _project(tmp_path_factory, "families", [n for n in FAMILIES if n not in SLOW] + list(EXTRA_MODELS))


def _check(project, result, name):
    entry, inputs, outputs, _ = FAMILIES[name]
    manifest = project / "artifacts" / name / "1" / f"{name}.float32.json"
    assert manifest.is_file(), result.output
    meta = load_json(manifest)
    assert meta["kerashub"]["registry_entry"] == entry
    sig = meta["signatures"]["serving_default"]
    assert [i["name"] for i in sig["inputs"]] == inputs
    assert sorted(o["name"] for o in sig["outputs"]) == sorted(outputs)
    for tensor in sig["inputs"] + sig["outputs"]:
        assert tensor["shape"] == tensor["shape_signature"] and -1 not in tensor["shape"], tensor
    assert meta["flex_ops"] == [] and meta["ops"]["custom"] == {}
    verification = meta["verification"]
    assert verification["status"] == "passed"  # ran in ai_edge_litert's stock interpreter
    assert verification["metric"] == "allclose" and verification["atol"] == 1e-4
    return meta


@pytest.mark.parametrize("name", [n for n in FAMILIES if n not in SLOW])
def test_family(fast_families, name):
    project, result = fast_families
    meta = _check(project, result, name)
    text_inputs = [i for i in meta["signatures"]["serving_default"]["inputs"]
                   if i["name"].endswith("token_ids")]
    for tensor in text_inputs:
        assert tensor["shape"] == [1, 16]  # sequence_length from models.yaml


def test_fnet_fft_is_rewritten_to_builtin_ops(fast_families):
    project, _ = fast_families
    meta = load_json(project / "artifacts/f_net/1/f_net.float32.json")
    assert meta["kerashub"]["rewrites"] == [
        "FNetEncoder: fft2 as DFT matrix products (no Flex FFT2D/Complex)"]


def test_audio_length_sets_the_encoder_input(fast_families):
    project, _ = fast_families
    meta = load_json(project / "artifacts/moonshine/1/moonshine.float32.json")
    audio = meta["signatures"]["serving_default"]["inputs"][0]
    assert audio["shape"] == [1, 1600, 1]
    assert meta["kerashub"]["audio_length"] == {"value": 1600, "from": "models.yaml"}


def test_gemma3_vision_layout(fast_families):
    project, _ = fast_families
    meta = load_json(project / "artifacts/gemma3_vision/1/gemma3_vision.float32.json")
    shapes = {i["name"]: i["shape"] for i in meta["signatures"]["serving_default"]["inputs"]}
    assert shapes["images"] == [1, 1, 28, 28, 3]  # one image per prompt (no preprocessor)
    assert shapes["vision_indices"] == [1, 4]  # (28 / 14)^2 vision tokens per image
    assert (meta["kerashub"]["images_per_prompt"], meta["kerashub"]["vision_tokens_per_image"]) == (1, 4)


def test_a_dynamic_sequence_length_is_dynamic_verified_at_two_lengths_and_runs_at_others(fast_families):
    """``sequence_length: dynamic``: the length dimension is -1 in the artifact, verification ran
    at the capped default and at half of it, and at a third length the artifact gives what it gives
    for the same tokens padded to the full length (BERT classifies from the first token; padding
    is masked out)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    project, result = fast_families
    meta = load_json(project / "artifacts/bert_dynamic/1/bert_dynamic.float32.json")
    sig = meta["signatures"]["serving_default"]
    assert [i["shape_signature"] for i in sig["inputs"]] == [[1, -1]] * 3
    assert meta["kerashub"]["sequence_length"] == {"value": "dynamic", "from": "models.yaml",
                                                   "verified_at": [64, 32]}  # max_sequence_length 64
    assert meta["verification"]["status"] == "passed" and meta["flex_ops"] == []
    runner = Interpreter(model_path=str(project / "artifacts/bert_dynamic/1/bert_dynamic.float32.tflite")
                         ).get_signature_runner()

    def logits(length: int, real: int = 7, shift: int = 0) -> np.ndarray:
        tokens = np.zeros((1, length), np.int32)
        tokens[0, :real] = (np.arange(1, real + 1) * 5 + shift) % 50
        mask = (np.arange(length) < real).astype(np.int32)[None]
        segments = np.zeros((1, length), np.int32)
        return runner(token_ids=tokens, segment_ids=segments, padding_mask=mask)["logits"]

    short, padded = logits(7), logits(64)
    assert short.shape == (1, 3) and np.isfinite(short).all()
    np.testing.assert_allclose(short, padded, rtol=1e-4, atol=1e-7)
    assert np.abs(logits(7, shift=1) - short).max() > 1e-4  # the tokens do matter


def test_a_dynamic_length_that_needs_flex_ops_is_a_located_error(fast_families):
    project, result = fast_families
    assert ("llama_dynamic:float32: with sequence_length: dynamic the graph needs Select TF (Flex) ops, "
            "which the stock LiteRT runtime cannot run: FlexStridedSlice. Static shapes (the default) "
            "avoid them") in result.output, result.output
    assert not list((project / "artifacts").glob("llama_dynamic/**/*.tflite"))
    assert (project / "artifacts/llama/1/llama.float32.tflite").is_file()  # the others still built


def test_masks_and_position_biases_are_computed_at_run_time_unless_folded(fast_families):
    """T5 at 128 tokens: by default its relative-position biases and masks are computed at run
    time (the artifact holds its weights and a few KB more; the manifest's ``constants`` says so);
    ``fold_masks: true`` gives the converter's folded constants, three [1, 2, 128, 128] float32
    biases among them. Both verify against Keras."""
    project, _ = fast_families
    ours, folded = (load_json(project / f"artifacts/{name}/1/{name}.float32.json")
                    for name in ("t5_long", "t5_folded"))
    for meta in (ours, folded):
        assert meta["verification"]["status"] == "passed" and meta["flex_ops"] == []
        assert meta["kerashub"]["encoder_sequence_length"]["value"] == 128
    constants = ours["constants"]
    assert constants["weights"] > 20_000
    assert constants["computed"] < 8_192, constants
    assert ours["artifact"]["size"] < constants["weights"] + 64 * 1024
    largest = folded["constants"]["largest_computed"]
    assert [(c["shape"], c["bytes"]) for c in largest] == [([1, 2, 128, 128], 131072)] * 3, largest
    assert folded["artifact"]["size"] > ours["artifact"]["size"] + 3 * 131072
