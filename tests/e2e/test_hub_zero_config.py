"""A representative subset of ``bench/hub_sweep.py``, zero-config: builders from ``bench/hub_zoo``
with nothing in models.yaml beyond the source, built in one project and one run. Each either
converts static, Flex-free and verified, or (the tasks litert-build refuses) fails with a message
that says what to do while the others still build."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from shared.project import build_project, load_json

ZOO = Path(__file__).resolve().parents[2] / "bench" / "hub_zoo"

# builder -> {input name: static shape} the registry must give it with no settings
BUILT = {
    "text:bert_masked_lm": {"token_ids": [1, 32], "segment_ids": [1, 32], "padding_mask": [1, 32],
                            "mask_positions": [1, 32]},  # capped at max_sequence_length 32
    "text:bert_text_embedder": {"token_ids": [1, 32], "segment_ids": [1, 32], "padding_mask": [1, 32]},
    "multimodal:clip_backbone": {"images": [1, 32, 32, 3], "token_ids": [1, 16]},  # the text encoder's 16
    "vision:sam_image_segmenter": {"images": [1, 64, 64, 3], "points": [1, 1, 2], "labels": [1, 1],
                                   "boxes": [1, 1, 2, 2], "masks": [1, 1, 16, 16, 1]},
    "vision:segformer_image_segmenter": {"images": [1, 32, 32, 3]},  # ImageSegmenter entry
    "vision:depth_anything_depth_estimator": {"images": [1, 56, 56, 3]},  # DepthEstimator entry
    "multimodal:t5gemma2_seq2seq_lm": None,  # shapes checked below: a vision layout
    "multimodal:gemma4_vision_causal_lm": {  # one image as its 8 x 8 grid of 4-pixel patches
        "padding_mask": [1, 128], "position_ids": [1, 128], "token_ids": [1, 128],
        "pixel_position_ids": [1, 1, 64, 2], "pixel_values": [1, 1, 64, 48], "vision_indices": [1, 16],
        "vision_mask": [1, 128]},
}
REFUSED = {
    "multimodal:sd3_text_to_image": "StableDiffusion3TextToImage: it generates with a Python loop "
                                    "around three models",
    "multimodal:gemma3n_causal_lm": "Gemma3nCausalLM: with a vision or audio encoder",
}


def name(builder: str) -> str:
    return builder.split(":")[1]


@pytest.fixture(scope="module")
def zero_config(tmp_path_factory):
    project = tmp_path_factory.mktemp("zero_config")
    shutil.copytree(ZOO, project / "hub_zoo", ignore=shutil.ignore_patterns("__pycache__"))
    models = "".join(f"  {name(b)}: {{version: '1', source: {{builder: 'hub_zoo.{b}'}}}}\n"
                     for b in [*BUILT, *REFUSED])
    return build_project(project, {"models.yaml": f"schema: 1\nmodels:\n{models}"})


@pytest.mark.parametrize("builder", list(BUILT))
def test_builds_static_flex_free_and_verified(zero_config, builder):
    project, result = zero_config
    manifest = project / f"artifacts/{name(builder)}/1/{name(builder)}.float32.json"
    assert manifest.is_file(), result.output
    meta = load_json(manifest)
    inputs = meta["signatures"]["serving_default"]["inputs"]
    for tensor in inputs:
        assert tensor["shape"] == tensor["shape_signature"] and -1 not in tensor["shape"], tensor
    if BUILT[builder] is not None:
        assert {i["name"]: i["shape"] for i in inputs} == BUILT[builder]
    assert meta["flex_ops"] == [] and meta["ops"]["custom"] == {}
    assert meta["verification"]["status"] == "passed", meta["verification"]
    assert meta["kerashub"]["masks"] == "computed at run time"
    # no mask, bias or splat folded into the artifact: a few KB at most (Gemma 4 at 128 tokens stored
    # a 64 KB [1, 1, 1, 128, 128] splat before the rank-5 comparison was kept at run time)
    assert meta["constants"]["computed"] < 16 * 1024, meta["constants"]


def test_t5gemma2_gets_a_valid_vision_layout(zero_config):
    project, _ = zero_config
    meta = load_json(project / "artifacts/t5gemma2_seq2seq_lm/1/t5gemma2_seq2seq_lm.float32.json")
    shapes = {i["name"]: i["shape"] for i in meta["signatures"]["serving_default"]["inputs"]}
    assert shapes["images"] == [1, 1, 28, 28, 3] and shapes["vision_indices"] == [1, 4]
    assert meta["kerashub"]["registry_entry"] == "T5Gemma2Seq2SeqLM"


@pytest.mark.parametrize("builder", list(REFUSED))
def test_refused_tasks_say_why_and_do_not_stop_the_others(zero_config, builder):
    project, result = zero_config
    assert result.returncode != 0
    assert f"{name(builder)}:float32: {REFUSED[builder]}" in result.output, result.output
    assert not list((project / "artifacts").glob(f"{name(builder)}/**/*.tflite"))
