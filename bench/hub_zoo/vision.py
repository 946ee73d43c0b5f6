"""Image tasks and vision backbones of keras-hub, tiny (one block per stage, 8-32 filters, hidden 16).

Image shapes follow the presets: where the presets fix the backbone's ``image_shape`` (ViT, DeiT,
Swin, MiT/SegFormer, HGNetV2, DINOV2/DINOV3, SAM) it is fixed here too, but small; where they leave
it ``(None, None, 3)`` it is left so, and litert-build must find the size on its own.
"""

import keras_hub

from hub_zoo import entry, seed

M = keras_hub.models
CLASSES = 3


# ----------------------------------------------------------------------------- backbone configs


def _resnet(filters=(64, 16), strides=(1, 2), block_type="basic_block", stem=64):
    # ResNetBackbone insists on 64 filters in the first stage (and basic blocks in the stem too).
    return M.ResNetBackbone(input_conv_filters=[stem], input_conv_kernel_sizes=[7],
                            stackwise_num_filters=list(filters),
                            stackwise_num_blocks=[1] * len(filters),
                            stackwise_num_strides=list(strides), block_type=block_type)


def _cspnet():
    return M.CSPNetBackbone(stem_filters=8, stem_kernel_size=3, stem_strides=1,
                            stackwise_depth=[1, 1], stackwise_strides=2,
                            stackwise_num_filters=[8, 16], down_growth=True,
                            bottle_ratio=(0.5,) + (1.0,), block_ratio=(1.0,) + (0.5,),
                            expand_ratio=(2.0,) + (1.0,), block_type="dark_block", stage_type="csp")


def _deit():
    return M.DeiTBackbone(image_shape=(32, 32, 3), patch_size=8, num_layers=1, num_heads=2,
                          hidden_dim=16, intermediate_dim=32)


def _densenet():
    return M.DenseNetBackbone(stackwise_num_repeats=[1, 1], growth_rate=8)


def _efficientnet():
    return M.EfficientNetBackbone(
        stackwise_width_coefficients=[1.0, 1.0], stackwise_depth_coefficients=[1.0, 1.0],
        stackwise_kernel_sizes=[3, 3], stackwise_num_repeats=[1, 1],
        stackwise_input_filters=[8, 8], stackwise_output_filters=[8, 16],
        stackwise_expansion_ratios=[1, 2], stackwise_squeeze_and_excite_ratios=[0.25, 0.25],
        stackwise_strides=[1, 2], stackwise_block_types=["v1", "v1"], num_features=32, dropout=0)


def _hgnetv2(image_shape=(64, 64, 3), out_features=None, affine=False):
    return M.HGNetV2Backbone(
        depths=[1, 1], embedding_size=8, hidden_sizes=[16, 32], stem_channels=[3, 8, 8],
        hidden_act="relu", use_learnable_affine_block=affine,
        stackwise_stage_filters=[[8, 8, 16, 1, 1, 3], [16, 8, 32, 1, 1, 3]],
        apply_downsample=[False, True], use_lightweight_conv_block=[False, False],
        image_shape=image_shape, out_features=out_features)


def _mit():
    return M.MiTBackbone(layerwise_depths=[1, 1], num_layers=2, layerwise_num_heads=[1, 2],
                         layerwise_sr_ratios=[8, 4], max_drop_path_rate=0.0,
                         layerwise_patch_sizes=[7, 3], layerwise_strides=[4, 2],
                         image_shape=(32, 32, 3), hidden_dims=[8, 16])


def _mobilenet():
    return M.MobileNetBackbone(
        stackwise_expansion=[[16], [32]], stackwise_num_blocks=[1, 1],
        stackwise_num_filters=[[8], [16]], stackwise_kernel_size=[[3], [5]],
        stackwise_num_strides=[[2], [2]], stackwise_se_ratio=[[None], [0.25]],
        stackwise_activation=[["relu"], ["hard_swish"]], stackwise_padding=[[1], [2]],
        output_num_filters=32, depthwise_filters=8, depthwise_stride=2, depthwise_residual=False,
        squeeze_and_excite=0.5, last_layer_filter=32, input_num_filters=8)


def _mobilenetv5():
    return M.MobileNetV5Backbone(
        stackwise_block_types=[["er"], ["uir"]], stackwise_num_blocks=[1, 1],
        stackwise_num_filters=[[16], [32]], stackwise_strides=[[2], [2]],
        stackwise_act_layers=[["relu"], ["relu"]], stackwise_exp_ratios=[[2.0], [2.0]],
        stackwise_se_ratios=[[0.0], [0.0]], stackwise_dw_kernel_sizes=[[0], [3]],
        stackwise_dw_start_kernel_sizes=[[0], [0]], stackwise_dw_end_kernel_sizes=[[0], [0]],
        stackwise_exp_kernel_sizes=[[3], [0]], stackwise_pw_kernel_sizes=[[1], [0]],
        stackwise_num_heads=[[0], [0]], stackwise_key_dims=[[0], [0]],
        stackwise_value_dims=[[0], [0]], stackwise_kv_strides=[[0], [0]],
        stackwise_use_cpe=[[False], [False]], stem_size=8, num_features=32,
        msfa_output_resolution=4)


def _swin():
    return M.SwinTransformerBackbone(image_shape=(32, 32, 3), embed_dim=16, depths=(1, 1),
                                     num_heads=(1, 2), window_size=4, patch_size=4, drop_path=0.0)


def _vgg():
    return M.VGGBackbone(stackwise_num_repeats=[1, 1], stackwise_num_filters=[8, 16])


def _vit():
    return M.ViTBackbone(image_shape=(32, 32, 3), patch_size=8, num_layers=1, num_heads=2,
                         hidden_dim=16, mlp_dim=32)


def _xception():
    return M.XceptionBackbone(stackwise_conv_filters=[[8, 16], [16, 16]],
                              stackwise_pooling=[False, True])


def _dfine():
    encoder = _hgnetv2(image_shape=(None, None, 3), out_features=["stage1", "stage2"], affine=True)
    return M.DFineBackbone(
        backbone=encoder, decoder_in_channels=[16, 16], encoder_hidden_dim=16, num_labels=CLASSES,
        num_denoising=0, learn_initial_query=False, num_queries=10, anchor_image_size=(32, 32),
        feat_strides=[4, 8], num_feature_levels=2, hidden_dim=16, encoder_in_channels=[16, 32],
        encode_proj_layers=[1], num_attention_heads=2, encoder_ffn_dim=32, num_encoder_layers=1,
        hidden_expansion=0.5, depth_multiplier=0.5, eval_idx=-1, num_decoder_layers=1,
        decoder_attention_heads=2, decoder_ffn_dim=32, decoder_n_points=[2, 2], lqe_hidden_dim=16,
        num_lqe_layers=1, out_features=["stage1", "stage2"], seed=0)


def _retinanet():
    encoder = _resnet(filters=(64, 8, 16), strides=(1, 2, 2), block_type="bottleneck_block")
    return M.RetinaNetBackbone(image_encoder=encoder, min_level=3, max_level=4, use_p5=False)


def _basnet():
    # projection_filters feeds the encoder's first stage, so it must match the stem (which only
    # bottleneck blocks let differ from 64); the bridge and decoder use 8x projection_filters.
    encoder = _resnet(filters=(64, 8, 8, 8), strides=(1, 2, 2, 2), block_type="bottleneck_block",
                      stem=8)
    return M.BASNetBackbone(image_encoder=encoder, num_classes=1, projection_filters=8)


def _deeplab_v3():
    encoder = _resnet(filters=(64, 8, 16), strides=(1, 2, 2))
    return M.DeepLabV3Backbone(image_encoder=encoder, low_level_feature_key="P2",
                               spatial_pyramid_pooling_key="P4", dilation_rates=[6, 12, 18],
                               upsampling_size=4, projection_filters=8)


def _segformer():
    return M.SegFormerBackbone(image_encoder=_mit(), projection_filters=16)


def _vit_det():
    return M.ViTDetBackbone(hidden_size=16, num_layers=1, intermediate_dim=32, num_heads=2,
                            global_attention_layer_indices=[0], patch_size=16,
                            num_output_channels=8, window_size=2, image_shape=(64, 64, 3))


def _sam():
    from keras_hub.src.models.sam.sam_mask_decoder import SAMMaskDecoder
    from keras_hub.src.models.sam.sam_prompt_encoder import SAMPromptEncoder

    prompt = SAMPromptEncoder(hidden_size=8, image_embedding_size=(4, 4), input_image_size=(64, 64),
                              mask_in_channels=4)
    decoder = SAMMaskDecoder(hidden_size=8, num_layers=1, intermediate_dim=16, num_heads=2,
                             embedding_dim=8, num_multimask_outputs=3, iou_head_depth=1,
                             iou_head_hidden_dim=8)
    return M.SAMBackbone(image_encoder=_vit_det(), prompt_encoder=prompt, mask_decoder=decoder)


def _dinov2(image_shape=(28, 28, 3), apply_layernorm=False):
    return M.DINOV2Backbone(patch_size=14, num_layers=1, hidden_dim=16, num_heads=2,
                            intermediate_dim=32, image_shape=image_shape,
                            apply_layernorm=apply_layernorm)


def _dinov3():
    return M.DINOV3Backbone(patch_size=16, num_layers=1, hidden_dim=16, num_heads=2,
                            intermediate_dim=32, image_shape=(32, 32, 3))


def _depth_anything():
    encoder = _dinov2(image_shape=(56, 56, 3), apply_layernorm=True)
    return M.DepthAnythingBackbone(image_encoder=encoder, reassemble_factors=[4, 2, 1, 0.5],
                                   neck_hidden_dims=[8, 8, 16, 16], fusion_hidden_dim=16,
                                   head_hidden_dim=8, head_in_index=-1,
                                   feature_keys=["stage1", "stage1", "stage1", "stage1"])


# ------------------------------------------------------------------------- image classifiers


@entry("CSPNet", "CSPNetImageClassifier")
def cspnet_image_classifier():
    seed()
    return M.CSPNetImageClassifier(_cspnet(), num_classes=CLASSES, preprocessor=None)


@entry("DeiT", "DeiTImageClassifier")
def deit_image_classifier():
    seed()
    return M.DeiTImageClassifier(_deit(), num_classes=CLASSES, preprocessor=None)


@entry("DenseNet", "DenseNetImageClassifier")
def densenet_image_classifier():
    seed()
    return M.DenseNetImageClassifier(_densenet(), num_classes=CLASSES, preprocessor=None)


@entry("EfficientNet", "EfficientNetImageClassifier")
def efficientnet_image_classifier():
    seed()
    return M.EfficientNetImageClassifier(_efficientnet(), num_classes=CLASSES, preprocessor=None)


@entry("HGNetV2", "HGNetV2ImageClassifier")
def hgnetv2_image_classifier():
    seed()
    return M.HGNetV2ImageClassifier(_hgnetv2(), preprocessor=None, num_classes=CLASSES,
                                    head_filters=16)


@entry("MiT", "MiTImageClassifier")
def mit_image_classifier():
    seed()
    return M.MiTImageClassifier(_mit(), num_classes=CLASSES, preprocessor=None)


@entry("MobileNet", "MobileNetImageClassifier")
def mobilenet_image_classifier():
    seed()
    return M.MobileNetImageClassifier(_mobilenet(), num_classes=CLASSES, num_features=32,
                                      preprocessor=None)


@entry("MobileNetV5", "MobileNetV5ImageClassifier")
def mobilenetv5_image_classifier():
    seed()
    return M.MobileNetV5ImageClassifier(_mobilenetv5(), num_classes=CLASSES, head_hidden_size=32,
                                        preprocessor=None)


@entry("ResNet", "ResNetImageClassifier")
def resnet_image_classifier():
    seed()
    return M.ResNetImageClassifier(_resnet(), num_classes=CLASSES, preprocessor=None)


@entry("Swin Transformer", "SwinTransformerImageClassifier")
def swin_transformer_image_classifier():
    seed()
    return M.SwinTransformerImageClassifier(_swin(), num_classes=CLASSES, preprocessor=None)


@entry("VGG", "VGGImageClassifier")
def vgg_image_classifier():
    seed()
    return M.VGGImageClassifier(_vgg(), num_classes=CLASSES, pooling_hidden_dim=16,
                                preprocessor=None)


@entry("ViT", "ViTImageClassifier")
def vit_image_classifier():
    seed()
    return M.ViTImageClassifier(_vit(), num_classes=CLASSES, preprocessor=None)


@entry("Xception", "XceptionImageClassifier")
def xception_image_classifier():
    seed()
    return M.XceptionImageClassifier(_xception(), num_classes=CLASSES, preprocessor=None)


# --------------------------------------------------------- detectors, segmenters, depth


@entry("D-FINE", "DFineObjectDetector")
def d_fine_object_detector():
    seed()
    return M.DFineObjectDetector(_dfine(), num_classes=CLASSES, preprocessor=None)


@entry("RetinaNet", "RetinaNetObjectDetector")
def retinanet_object_detector():
    seed()
    from keras_hub.src.layers.modeling.anchor_generator import AnchorGenerator

    anchors = AnchorGenerator(bounding_box_format="yxyx", min_level=3, max_level=4, num_scales=3,
                              aspect_ratios=[0.5, 1.0, 2.0], anchor_size=4)
    return M.RetinaNetObjectDetector(_retinanet(), num_classes=CLASSES, anchor_generator=anchors,
                                     pre_logits_num_conv_layers=1, preprocessor=None)


@entry("BASNet", "BASNetImageSegmenter")
def basnet_image_segmenter():
    seed()
    return M.BASNetImageSegmenter(_basnet(), preprocessor=None)


@entry("DeepLabV3", "DeepLabV3ImageSegmenter")
def deeplab_v3_image_segmenter():
    seed()
    return M.DeepLabV3ImageSegmenter(_deeplab_v3(), num_classes=CLASSES, activation="softmax",
                                     preprocessor=None)


@entry("SegFormer", "SegFormerImageSegmenter")
def segformer_image_segmenter():
    seed()
    return M.SegFormerImageSegmenter(_segformer(), num_classes=CLASSES, preprocessor=None)


@entry("SAM", "SAMImageSegmenter")
def sam_image_segmenter():
    seed()
    return M.SAMImageSegmenter(_sam(), preprocessor=None)


@entry("Depth Anything", "DepthAnythingDepthEstimator")
def depth_anything_depth_estimator():
    seed()
    return M.DepthAnythingDepthEstimator(_depth_anything(), depth_estimation_type="metric",
                                         max_depth=10.0, preprocessor=None)


# ------------------------------------------------------------------------ bare backbones


def _bare(family: str, cls: str, make, name: str):
    def builder():
        seed()
        return make()

    builder.__name__ = builder.__qualname__ = name
    builder.__module__ = __name__
    globals()[name] = entry(family, cls)(builder)


for _family, _cls, _make, _name in (
    ("CSPNet", "CSPNetBackbone", _cspnet, "cspnet_backbone"),
    ("DeiT", "DeiTBackbone", _deit, "deit_backbone"),
    ("DenseNet", "DenseNetBackbone", _densenet, "densenet_backbone"),
    ("EfficientNet", "EfficientNetBackbone", _efficientnet, "efficientnet_backbone"),
    ("HGNetV2", "HGNetV2Backbone", _hgnetv2, "hgnetv2_backbone"),
    ("MiT", "MiTBackbone", _mit, "mit_backbone"),
    ("MobileNet", "MobileNetBackbone", _mobilenet, "mobilenet_backbone"),
    ("MobileNetV5", "MobileNetV5Backbone", _mobilenetv5, "mobilenetv5_backbone"),
    ("ResNet", "ResNetBackbone", _resnet, "resnet_backbone"),
    ("Swin Transformer", "SwinTransformerBackbone", _swin, "swin_transformer_backbone"),
    ("VGG", "VGGBackbone", _vgg, "vgg_backbone"),
    ("ViT", "ViTBackbone", _vit, "vit_backbone"),
    ("Xception", "XceptionBackbone", _xception, "xception_backbone"),
    ("D-FINE", "DFineBackbone", _dfine, "d_fine_backbone"),
    ("RetinaNet", "RetinaNetBackbone", _retinanet, "retinanet_backbone"),
    ("BASNet", "BASNetBackbone", _basnet, "basnet_backbone"),
    ("DeepLabV3", "DeepLabV3Backbone", _deeplab_v3, "deeplab_v3_backbone"),
    ("SegFormer", "SegFormerBackbone", _segformer, "segformer_backbone"),
    ("SAM", "SAMBackbone", _sam, "sam_backbone"),
    ("Depth Anything", "DepthAnythingBackbone", _depth_anything, "depth_anything_backbone"),
    ("DINOV2", "DINOV2Backbone", _dinov2, "dinov2_backbone"),
    ("DINOV3", "DINOV3Backbone", _dinov3, "dinov3_backbone"),
    ("ViTDet", "ViTDetBackbone", _vit_det, "vit_det_backbone"),
):
    _bare(_family, _cls, _make, _name)
