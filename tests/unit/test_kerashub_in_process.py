"""KerasHub rules that need a model but no conversion, in process: the registry's zero-config sizes
(what fills a dynamic dimension when models.yaml says nothing, and where it came from) and which
CausalLMs kind llm can trace.

In the unit tier because these only build tiny models from constructors (no conversion, no
worker); the cost is importing Keras and KerasHub once for this file.
"""

from __future__ import annotations

import pytest

from litert_build.config.settings import BuildSettings
from litert_build.errors import ManifestError


@pytest.fixture(scope="module")
def hub():
    import keras
    import keras_hub

    assert keras.backend.backend() == "tensorflow"
    keras.utils.set_random_seed(0)
    return keras_hub


def settings(**given) -> BuildSettings:
    return BuildSettings.model_validate({"version": "1", "source": {"builder": "m:f"}, "kind": "float32",
                                         **given})


def signature(model, **given):
    from litert_build.export.kerashub import hub_signature

    return hub_signature(model, settings(**given), "m")


def shapes(sig) -> dict[str, list]:
    return {item["name"]: item["shape"] for item in sig.inputs}


def tiny_bert(hub, max_length: int):
    return hub.models.BertBackbone(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16,
                                   intermediate_dim=32, max_sequence_length=max_length)


def test_the_default_length_is_capped_by_the_backbone_and_says_so(hub):
    classifier = hub.models.BertTextClassifier(tiny_bert(hub, 32), num_classes=3, preprocessor=None)
    sig = signature(classifier)
    assert shapes(sig)["token_ids"] == [1, 32]
    assert sig.record["sequence_length"] == {"value": 32, "from": "default, capped by the backbone"}
    roomy = signature(hub.models.BertTextClassifier(tiny_bert(hub, 512), num_classes=3, preprocessor=None))
    assert shapes(roomy)["token_ids"] == [1, 128] and roomy.record["sequence_length"]["from"] == "default"


def test_an_explicit_length_past_the_backbone_is_still_an_error(hub):
    with pytest.raises(ManifestError, match="sequence_length 64 \\(from models.yaml\\) exceeds the "
                                            "backbone's max_sequence_length 32"):
        signature(tiny_bert(hub, 32), sequence_length=64)


def test_an_encoder_decoder_backbone_takes_each_sides_own_limit(hub):
    whisper = hub.models.WhisperBackbone(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16,
                                         intermediate_dim=32, num_mels=8, max_encoder_sequence_length=64,
                                         max_decoder_sequence_length=24)
    sig = signature(whisper)
    assert shapes(sig)["encoder_features"] == [1, 64, 8]  # mel frames: the encoder's own limit
    assert shapes(sig)["decoder_token_ids"] == [1, 24]
    assert sig.record["decoder_sequence_length"]["from"] == "default, capped by the backbone"


def test_a_joint_backbone_takes_its_text_encoders_limit(hub):
    clip = hub.models.CLIPBackbone(
        vision_encoder=hub.models.CLIPVisionEncoder(patch_size=16, hidden_dim=16, num_layers=1, num_heads=2,
                                                    intermediate_dim=32, image_shape=(32, 32, 3)),
        text_encoder=hub.models.CLIPTextEncoder(vocabulary_size=50, embedding_dim=16, hidden_dim=16,
                                                num_layers=1, num_heads=2, intermediate_dim=32,
                                                max_sequence_length=16),
        projection_dim=16)
    sig = signature(clip)
    assert shapes(sig) == {"images": [1, 32, 32, 3], "token_ids": [1, 16]}
    assert sig.record["sequence_length"] == {"value": 16, "from": "default, capped by the backbone"}


def test_an_image_backbone_without_a_fixed_size_takes_its_family_default(hub):
    resnet = hub.models.ResNetBackbone(input_conv_filters=[64], input_conv_kernel_sizes=[3],
                                       stackwise_num_filters=[64], stackwise_num_blocks=[1],
                                       stackwise_num_strides=[1], block_type="basic_block",
                                       image_shape=(None, None, 3))
    classifier = hub.models.ResNetImageClassifier(resnet, num_classes=4, preprocessor=None)
    sig = signature(classifier)
    assert shapes(sig)["images"] == [1, 224, 224, 3]
    assert sig.record["image_size"] == {"value": [224, 224], "from": "default"}
    assert shapes(signature(classifier, image_size=[64, 96]))["images"] == [1, 64, 96, 3]  # given wins


def test_a_dynamic_image_size_leaves_height_and_width_dynamic_with_two_verification_sizes(hub):
    resnet = hub.models.ResNetBackbone(input_conv_filters=[64], input_conv_kernel_sizes=[3],
                                       stackwise_num_filters=[64], stackwise_num_blocks=[1],
                                       stackwise_num_strides=[1], block_type="basic_block")
    sig = signature(resnet, image_size="dynamic")
    assert shapes(sig)["images"] == [1, None, None, 3]
    assert sig.record["image_size"] == {"value": "dynamic", "from": "models.yaml",
                                        "verified_at": [[224, 224], [112, 112]]}
    assert sig.hints.sample_shapes == [{"images": [1, 224, 224, 3]}, {"images": [1, 112, 112, 3]}]
    with pytest.raises(ManifestError, match="image_size: dynamic, but no input of this model has an? "
                                            "image size dimension .*token_ids \\[1, 32\\]"):
        signature(tiny_bert(hub, 32), image_size="dynamic")


def test_an_image_family_without_a_default_asks_for_image_size(hub, monkeypatch):
    from litert_build.export import kerashub

    monkeypatch.setattr(kerashub, "IMAGE_DEFAULTS", {})
    resnet = hub.models.ResNetBackbone(input_conv_filters=[64], input_conv_kernel_sizes=[3],
                                       stackwise_num_filters=[64], stackwise_num_blocks=[1],
                                       stackwise_num_strides=[1], block_type="basic_block")
    with pytest.raises(ManifestError, match="image size of this ResNetBackbone is unknown.*Set image_size"):
        signature(resnet)


def test_kind_llm_names_the_causal_lms_it_traces_and_refuses_others(hub):
    from litert_build.errors import ConversionError
    from litert_build.export.llm.kv_cache import cache_shape, family, signature_names

    common = {"vocabulary_size": 16, "num_layers": 1, "num_query_heads": 2, "num_key_value_heads": 1,
              "hidden_dim": 8, "intermediate_dim": 16}
    llama3 = hub.models.Llama3CausalLM(hub.models.Llama3Backbone(**common), preprocessor=None)
    assert family(llama3) == "LlamaCausalLM"  # a subclass traces as its base
    assert cache_shape(llama3, 64).tensor_shape() == [1, 1, 64, 4]
    assert signature_names([128, 32]) == ["decode", "prefill_32", "prefill_128"]
    assert signature_names([64]) == ["decode", "prefill"]
    gpt2 = hub.models.GPT2CausalLM(hub.models.GPT2Backbone(vocabulary_size=16, num_layers=1, num_heads=2,
                                                           hidden_dim=8, intermediate_dim=16,
                                                           max_sequence_length=32), preprocessor=None)
    with pytest.raises(ConversionError, match="no KV-cache export for GPT2CausalLM yet. Supported: "
                                              "GemmaCausalLM.*kind float32"):
        family(gpt2)


def test_sam_prompts_have_their_own_counts_and_the_mask_prompt_the_decoders_size(hub):
    import numpy as np
    from shared.hub_families import sam

    model = sam()
    default = signature(model)
    assert shapes(default) == {"images": [1, 64, 64, 3], "points": [1, 1, 2], "labels": [1, 1],
                               "boxes": [1, 1, 2, 2], "masks": [1, 1, 16, 16, 1]}
    assert default.record["prompts.points"] == {"value": 1, "from": "default"}
    assert np.array_equal(default.hints.fixed["labels"], np.ones([1, 1], "float32"))  # foreground
    given = signature(model, prompts={"points": 3, "boxes": 2})
    assert shapes(given)["points"] == [1, 3, 2] and shapes(given)["labels"] == [1, 3]
    assert shapes(given)["boxes"] == [1, 2, 2, 2] and shapes(given)["masks"] == [1, 1, 16, 16, 1]
    assert given.record["prompts.boxes"] == {"value": 2, "from": "models.yaml"}
    # The model takes exactly these shapes.
    rng = np.random.default_rng(0)
    feed = {item["name"]: rng.random(item["shape"]).astype("float32") for item in given.inputs}
    feed["labels"] = np.ones([1, 3], "float32")
    masks = model.predict(feed, verbose=0)["masks"]
    assert masks.shape[:2] == (1, 4) and np.isfinite(masks).all()
