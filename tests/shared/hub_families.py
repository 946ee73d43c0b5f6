"""Tiny KerasHub task models, one per family, built from constructors (seeded, no network)."""

import keras
import keras_hub

M = keras_hub.models
VOCAB = 50


def _seed(value=0):
    keras.utils.set_random_seed(value)


def _decoder(family: str, **extra):
    """A one-layer grouped-query decoder LM: ``<family>CausalLM`` on ``<family>Backbone``."""
    _seed()
    backbone = getattr(M, f"{family}Backbone")(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2,
                                               num_key_value_heads=1, hidden_dim=16, intermediate_dim=32,
                                               **extra)
    return getattr(M, f"{family}CausalLM")(backbone, preprocessor=None)


def llama():
    return _decoder("Llama")


def gemma():
    return _decoder("Gemma", head_dim=8)


def mistral():
    return _decoder("Mistral", sliding_window=8)


def qwen():
    return _decoder("Qwen")


def phi3():
    return _decoder("Phi3")


def falcon():
    _seed()
    return M.FalconCausalLM(M.FalconBackbone(vocabulary_size=VOCAB, num_layers=1, num_attention_heads=2,
                                             hidden_dim=16, intermediate_dim=32), preprocessor=None)


def bert():
    _seed()
    backbone = M.BertBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                              intermediate_dim=32, max_sequence_length=64)
    return M.BertTextClassifier(backbone, num_classes=3, preprocessor=None)


def deberta_v3():
    _seed()
    backbone = M.DebertaV3Backbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                                   intermediate_dim=32, max_sequence_length=64, bucket_size=8)
    return M.DebertaV3TextClassifier(backbone, num_classes=3, preprocessor=None)


def f_net():
    _seed()
    backbone = M.FNetBackbone(vocabulary_size=VOCAB, num_layers=1, hidden_dim=16, intermediate_dim=32,
                              max_sequence_length=64)
    return M.FNetTextClassifier(backbone, num_classes=3, preprocessor=None)


def bart():
    _seed()
    backbone = M.BartBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                              intermediate_dim=32, max_sequence_length=64)
    return M.BartSeq2SeqLM(backbone, preprocessor=None)


def t5():
    _seed()
    backbone = M.T5Backbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                            intermediate_dim=32)
    return M.T5Seq2SeqLM(backbone, preprocessor=None)


def _resnet_encoder(strides=(1, 2, 2), blocks=(1, 1, 1), block_type="basic_block"):
    return M.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[7], stackwise_num_filters=[64, 64, 64],
        stackwise_num_blocks=list(blocks), stackwise_num_strides=list(strides), block_type=block_type)


def retinanet():
    _seed()
    from keras_hub.src.layers.modeling.anchor_generator import AnchorGenerator

    backbone = M.RetinaNetBackbone(image_encoder=_resnet_encoder(block_type="bottleneck_block"),
                                   min_level=3, max_level=4, use_p5=False)
    anchors = AnchorGenerator(bounding_box_format="yxyx", min_level=3, max_level=4, num_scales=3,
                              aspect_ratios=[0.5, 1.0, 2.0], anchor_size=4)
    return M.RetinaNetObjectDetector(backbone=backbone, anchor_generator=anchors, num_classes=3,
                                     pre_logits_num_conv_layers=1, preprocessor=None)


def deeplab_v3():
    _seed()
    backbone = M.DeepLabV3Backbone(image_encoder=_resnet_encoder(), low_level_feature_key="P2",
                                   spatial_pyramid_pooling_key="P4", dilation_rates=[6, 12, 18],
                                   upsampling_size=4)
    return M.DeepLabV3ImageSegmenter(backbone=backbone, num_classes=2, activation="softmax",
                                     preprocessor=None)


def depth_anything():
    _seed()
    encoder = M.DINOV2Backbone(14, 4, 16, 2, 16 * 4, 1.0, 0, image_shape=(140, 140, 3),
                               apply_layernorm=True)
    backbone = M.DepthAnythingBackbone(image_encoder=encoder, reassemble_factors=[4, 2, 1, 0.5],
                                       neck_hidden_dims=[16, 32, 64, 128], fusion_hidden_dim=128,
                                       head_hidden_dim=16, head_in_index=-1,
                                       feature_keys=["stage1", "stage2", "stage3", "stage4"])
    return M.DepthAnythingDepthEstimator(backbone=backbone, depth_estimation_type="metric",
                                         max_depth=10.0, preprocessor=None)


def moonshine():
    _seed()
    backbone = M.MoonshineBackbone(vocabulary_size=VOCAB, filter_dim=16, encoder_num_layers=1,
                                   decoder_num_layers=1, hidden_dim=16, intermediate_dim=32,
                                   encoder_num_heads=2, decoder_num_heads=2)
    return M.MoonshineAudioToText(backbone=backbone, preprocessor=None)


def pali_gemma():
    _seed()
    backbone = M.PaliGemmaBackbone(vocabulary_size=VOCAB, image_size=28, num_layers=1,
                                   num_query_heads=2, num_key_value_heads=1, hidden_dim=16,
                                   intermediate_dim=32, head_dim=8, vit_patch_size=14, vit_num_heads=2,
                                   vit_hidden_dim=16, vit_num_layers=1)
    return M.PaliGemmaCausalLM(backbone=backbone, preprocessor=None)


def gemma3_vision():
    _seed()
    from keras_hub.src.models.gemma3.gemma3_vision_encoder import Gemma3VisionEncoder

    encoder = Gemma3VisionEncoder(image_size=28, patch_size=14, num_heads=2, hidden_dim=16,
                                  num_layers=1, intermediate_dim=32, output_dim=16, pool_size=1)
    backbone = M.Gemma3Backbone(vocabulary_size=VOCAB, image_size=28, num_layers=1, num_query_heads=2,
                                num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8,
                                vision_encoder=encoder)
    return M.Gemma3CausalLM(backbone=backbone, preprocessor=None)


def sam():
    """SAM on a 64-pixel ViTDet: a 4x4 image embedding, so a 16x16 mask prompt."""
    _seed()
    encoder = M.ViTDetBackbone(hidden_size=16, num_layers=1, intermediate_dim=32, num_heads=2,
                               global_attention_layer_indices=[0], patch_size=16, num_output_channels=8,
                               window_size=2, image_shape=(64, 64, 3))
    from keras_hub.src.models.sam.sam_mask_decoder import SAMMaskDecoder
    from keras_hub.src.models.sam.sam_prompt_encoder import SAMPromptEncoder

    prompts = SAMPromptEncoder(hidden_size=8, image_embedding_size=(4, 4), input_image_size=(64, 64),
                               mask_in_channels=4)
    decoder = SAMMaskDecoder(hidden_size=8, num_layers=1, intermediate_dim=16, num_heads=2, embedding_dim=8,
                             num_multimask_outputs=3, iou_head_depth=1, iou_head_hidden_dim=8)
    backbone = M.SAMBackbone(image_encoder=encoder, prompt_encoder=prompts, mask_decoder=decoder)
    return M.SAMImageSegmenter(backbone=backbone, preprocessor=None)
