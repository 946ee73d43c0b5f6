"""Multimodal, audio and generative tasks and backbones of keras-hub, tiny (vocabulary 50, one
layer, hidden 16-32, two heads, images of 28-64 px where the architecture allows).

Joint encoders (CLIP, MetaCLIP 2, SigLIP), speech (Whisper, Moonshine), diffusion (Stable
Diffusion 3, Flux) and vision-language models (BLIP-2, PaliGemma, Gemma 3/3n/4, T5Gemma 2, PARSeq,
SAM 3, VideoPrism). keras-hub 0.32 exports no Whisper task (no ``WhisperAudioToText``): only the
backbone. The SD3 sub-models a pipeline would export one by one are Keras models of their own
(``sd3_clip_l``, ``sd3_diffuser``, ``sd3_vae``); the three stages of generation are Functional
models over the backbone's layers (``sd3_text_encoders``, ``sd3_denoise_step``,
``sd3_vae_decoder``).
"""

import keras_hub

from hub_zoo import entry, seed

M = keras_hub.models
VOCAB = 50


# ------------------------------------------------------------------ joint image-text encoders


def _clip_text(cls=M.CLIPTextEncoder, **extra):
    return cls(vocabulary_size=VOCAB, embedding_dim=16, hidden_dim=16, num_layers=1, num_heads=2,
               intermediate_dim=32, max_sequence_length=16, **extra)


def _clip_vision(cls=M.CLIPVisionEncoder):
    return cls(patch_size=8, hidden_dim=16, num_layers=1, num_heads=2, intermediate_dim=32,
               image_shape=(32, 32, 3))


@entry("CLIP", "CLIPBackbone")
def clip_backbone():
    seed()
    return M.CLIPBackbone(vision_encoder=_clip_vision(), text_encoder=_clip_text(), projection_dim=16)


@entry("CLIP", "CLIPTextEncoder")
def clip_text_encoder():
    seed()
    return _clip_text()


@entry("CLIP", "CLIPVisionEncoder")
def clip_vision_encoder():
    seed()
    return _clip_vision()


@entry("MetaCLIP 2", "MetaCLIP2Backbone")
def meta_clip2_backbone():
    seed()
    return M.MetaCLIP2Backbone(vision_encoder=_clip_vision(M.MetaCLIP2VisionEncoder),
                               text_encoder=_clip_text(M.MetaCLIP2TextEncoder), projection_dim=16)


@entry("MetaCLIP 2", "MetaCLIP2TextEncoder")
def meta_clip2_text_encoder():
    seed()
    return _clip_text(M.MetaCLIP2TextEncoder)


@entry("MetaCLIP 2", "MetaCLIP2VisionEncoder")
def meta_clip2_vision_encoder():
    seed()
    return _clip_vision(M.MetaCLIP2VisionEncoder)


def _siglip_text():
    return M.SigLIPTextEncoder(vocabulary_size=VOCAB, embedding_dim=16, hidden_dim=16, num_layers=1,
                               num_heads=2, intermediate_dim=32, max_sequence_length=16)


def _siglip_vision():
    return M.SigLIPVisionEncoder(patch_size=8, hidden_dim=16, num_layers=1, num_heads=2,
                                 intermediate_dim=32, image_shape=(32, 32, 3))


@entry("SigLIP", "SigLIPBackbone")
def sig_lip_backbone():
    seed()
    return M.SigLIPBackbone(vision_encoder=_siglip_vision(), text_encoder=_siglip_text())


@entry("SigLIP", "SigLIPTextEncoder")
def sig_lip_text_encoder():
    seed()
    return _siglip_text()


@entry("SigLIP", "SigLIPVisionEncoder")
def sig_lip_vision_encoder():
    seed()
    return _siglip_vision()


# ----------------------------------------------------------------------------------- speech


@entry("Whisper", "WhisperBackbone", note="keras-hub 0.32 has no Whisper task")
def whisper_backbone():
    seed()
    return M.WhisperBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                             intermediate_dim=32, max_encoder_sequence_length=64,
                             max_decoder_sequence_length=32)


def _moonshine_backbone():
    return M.MoonshineBackbone(vocabulary_size=VOCAB, filter_dim=16, encoder_num_layers=1,
                               decoder_num_layers=1, hidden_dim=16, intermediate_dim=32,
                               encoder_num_heads=2, decoder_num_heads=2)


@entry("Moonshine", "MoonshineAudioToText")
def moonshine_audio_to_text():
    seed()
    return M.MoonshineAudioToText(backbone=_moonshine_backbone(), preprocessor=None)


@entry("Moonshine", "MoonshineBackbone")
def moonshine_backbone():
    seed()
    return _moonshine_backbone()


# -------------------------------------------------------------------------------- diffusion


def _sd3_backbone():
    from keras_hub.src.models.vae.vae_backbone import VAEBackbone

    vae = VAEBackbone([32, 32, 32, 32], [1, 1, 1, 1], [32, 32, 32, 32], [1, 1, 1, 1],  # GroupNorm(32)
                      sampler_method="mode", name="vae")
    clip_l = M.CLIPTextEncoder(VOCAB, 16, 16, 1, 2, 32, "quick_gelu", 0, max_sequence_length=16,
                               name="clip_l")
    clip_g = M.CLIPTextEncoder(VOCAB, 32, 32, 1, 2, 64, "gelu", 0, max_sequence_length=16,
                               name="clip_g")
    return M.StableDiffusion3Backbone(
        mmdit_patch_size=2, mmdit_hidden_dim=32, mmdit_num_layers=1, mmdit_num_heads=2,
        mmdit_position_size=16, mmdit_qk_norm=None, mmdit_dual_attention_indices=None, vae=vae,
        clip_l=clip_l, clip_g=clip_g, image_shape=(64, 64, 3))


@entry("Stable Diffusion 3", "StableDiffusion3Backbone",
       note="graph: encode text + image, one denoising step, decode")
def sd3_backbone():
    seed()
    return _sd3_backbone()


@entry("Stable Diffusion 3", "StableDiffusion3TextToImage")
def sd3_text_to_image():
    seed()
    return M.StableDiffusion3TextToImage(_sd3_backbone(), preprocessor=None)


@entry("Stable Diffusion 3", "StableDiffusion3ImageToImage")
def sd3_image_to_image():
    seed()
    return M.StableDiffusion3ImageToImage(_sd3_backbone(), preprocessor=None)


@entry("Stable Diffusion 3", "StableDiffusion3Inpaint")
def sd3_inpaint():
    seed()
    return M.StableDiffusion3Inpaint(_sd3_backbone(), preprocessor=None)


@entry("Stable Diffusion 3", "MMDiT", note="backbone.diffuser: one denoiser call")
def sd3_diffuser():
    seed()
    return _sd3_backbone().diffuser


@entry("Stable Diffusion 3", "CLIPTextEncoder", note="backbone.clip_l")
def sd3_clip_l():
    seed()
    return _sd3_backbone().clip_l


@entry("Stable Diffusion 3", "VAEBackbone", note="backbone.vae: encode then decode")
def sd3_vae():
    seed()
    return _sd3_backbone().vae


# The three stages of SD3 generation as Functional models over the backbone's own layers and step
# methods (what ``generate()`` calls), with static shapes: 16 prompt tokens, a 64 px image.
SD3_TOKENS = 16


def _sd3_input(name, shape, dtype="float32"):
    import keras

    return keras.Input(shape=shape, dtype=dtype, name=name)


@entry("Stable Diffusion 3", "stage 1: text encoders",
       note="encode_text_step: CLIP-L + CLIP-G -> context, pooled")
def sd3_text_encoders():
    import keras

    seed()
    backbone = _sd3_backbone()
    token_ids = {name: _sd3_input(f"{name}_token_ids", (SD3_TOKENS,), "int32")
                 for name in ("clip_l", "clip_g")}
    context, _, pooled, _ = backbone.encode_text_step(token_ids, token_ids)  # negatives: pruned
    inputs = {f"{name}_token_ids": tensor for name, tensor in token_ids.items()}
    return keras.Model(inputs, {"context": context, "pooled_projection": pooled},
                       name="sd3_text_encoders")


@entry("Stable Diffusion 3", "stage 2: one denoising step",
       note="denoise_step: MMDiT on cond + uncond, CFG, Euler step; sigmas in")
def sd3_denoise_step():
    """One denoising step as ``backbone.denoise_step`` computes it, but given the step's sigmas
    instead of ``step``/``num_steps``: the backbone's scheduler caches its sigmas on its first call
    (``if not hasattr(self, "sigmas")``), so a ``num_steps`` input would be ignored, and an
    out-of-range ``step`` fails its gather. The schedule (28 floats) stays with the caller."""
    import keras
    from keras import ops

    seed()
    backbone = _sd3_backbone()
    context_shape = (2 * SD3_TOKENS, backbone.t5_hidden_dim)
    inputs = {
        "latents": _sd3_input("latents", backbone.latent_shape[1:]),
        "context": _sd3_input("context", context_shape),
        "negative_context": _sd3_input("negative_context", context_shape),
        "pooled_projection": _sd3_input("pooled_projection", (backbone.clip_hidden_dim,)),
        "negative_pooled_projection": _sd3_input("negative_pooled_projection",
                                                 (backbone.clip_hidden_dim,)),
        "sigma": _sd3_input("sigma", ()),
        "next_sigma": _sd3_input("next_sigma", ()),
        "guidance_scale": _sd3_input("guidance_scale", ()),
    }
    latents = inputs["latents"]
    timestep = ops.multiply(inputs["sigma"], backbone.num_train_timesteps)  # [batch]
    noise = backbone.diffuser({
        "latent": ops.concatenate([latents, latents], axis=0),
        "context": ops.concatenate([inputs["context"], inputs["negative_context"]], axis=0),
        "pooled_projection": ops.concatenate(
            [inputs["pooled_projection"], inputs["negative_pooled_projection"]], axis=0),
        "timestep": ops.concatenate([timestep, timestep], axis=0),
    })
    noise = backbone.cfg(noise, inputs["guidance_scale"][0])
    latents = backbone.euler_step(latents, noise, inputs["sigma"][0], inputs["next_sigma"][0])
    return keras.Model(inputs, latents, name="sd3_denoise_step")


@entry("Stable Diffusion 3", "stage 3: VAE decoder", note="decode_step: latent rescaling + VAE decoder")
def sd3_vae_decoder():
    import keras

    seed()
    backbone = _sd3_backbone()
    latents = _sd3_input("latents", backbone.latent_shape[1:])
    return keras.Model(latents, backbone.decode_step(latents), name="sd3_vae_decoder")


def _flux_backbone():
    return M.FluxBackbone(input_channels=16, hidden_size=32, mlp_ratio=2.0, num_heads=2, depth=1,
                          depth_single_blocks=1, axes_dim=[4, 6, 6], theta=10_000, use_bias=True,
                          guidance_embed=True, image_shape=(16, 16), text_shape=(8, 16),
                          image_ids_shape=(16, 3), text_ids_shape=(8, 3), y_shape=(16,))


@entry("Flux", "FluxBackbone", note="graph: one transformer (denoiser) call")
def flux_backbone():
    seed()
    return _flux_backbone()


@entry("Flux", "FluxTextToImage")
def flux_text_to_image():
    seed()
    return M.FluxTextToImage(_flux_backbone(), preprocessor=None)


# ---------------------------------------------------------------------- vision and language


def _blip2_vision():
    return M.BLIP2VisionEncoder(image_size=32, patch_size=8, num_layers=1, num_heads=2, hidden_dim=16,
                                intermediate_dim=32, use_patch_bias=True, use_class_token=True,
                                use_mha_bias=True, use_mlp_bias=True, dropout_rate=0.0,
                                layer_norm_epsilon=1e-5, initializer_range=0.02)


def _blip2_qformer():
    return M.BLIP2QFormer(num_query_tokens=4, num_layers=1, num_heads=2, hidden_dim=16,
                          intermediate_dim=32, vision_dim=16, cross_attention_frequency=1,
                          dropout=0.0, layer_norm_epsilon=1e-5)


@entry("BLIP-2", "BLIP2CausalLM", note="OPT language model")
def blip2_causal_lm():
    seed()
    language_model = M.BLIP2CustomOPT(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                                      intermediate_dim=32, num_query_tokens=4, dropout=0.0,
                                      max_sequence_length=64, qformer_hidden_dim=16)
    backbone = M.BLIP2Backbone(vision_encoder=_blip2_vision(), qformer=_blip2_qformer(),
                               language_model=language_model)
    return M.BLIP2CausalLM(preprocessor=None, backbone=backbone)


@entry("BLIP-2", "BLIP2Seq2SeqLM", note="Flan-T5 language model")
def blip2_seq2seq_lm():
    seed()
    language_model = M.BLIP2FlanT5(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                                   intermediate_dim=32, key_value_dim=8, num_query_tokens=4,
                                   qformer_hidden_dim=16, dropout=0.0)
    backbone = M.BLIP2Backbone(vision_encoder=_blip2_vision(), qformer=_blip2_qformer(),
                               language_model=language_model)
    return M.BLIP2Seq2SeqLM(backbone, preprocessor=None)


def _pali_gemma_backbone():
    return M.PaliGemmaBackbone(vocabulary_size=VOCAB, image_size=28, num_layers=1, num_query_heads=2,
                               num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8,
                               vit_patch_size=14, vit_num_heads=2, vit_hidden_dim=16,
                               vit_num_layers=1)


@entry("PaliGemma", "PaliGemmaCausalLM")
def pali_gemma_causal_lm():
    seed()
    return M.PaliGemmaCausalLM(backbone=_pali_gemma_backbone(), preprocessor=None)


@entry("PaliGemma", "PaliGemmaBackbone")
def pali_gemma_backbone():
    seed()
    return _pali_gemma_backbone()


def _gemma3_vision_backbone():
    encoder = M.Gemma3VisionEncoder(image_size=28, patch_size=14, num_heads=2, hidden_dim=16,
                                    num_layers=1, intermediate_dim=32, output_dim=16, pool_size=1)
    return M.Gemma3Backbone(vocabulary_size=VOCAB, image_size=28, num_layers=1, num_query_heads=2,
                            num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8,
                            vision_encoder=encoder)


@entry("Gemma 3", "Gemma3CausalLM", note="with a vision encoder")
def gemma3_vision_causal_lm():
    seed()
    return M.Gemma3CausalLM(backbone=_gemma3_vision_backbone(), preprocessor=None)


@entry("Gemma 3", "Gemma3Backbone", note="with a vision encoder")
def gemma3_vision_backbone():
    seed()
    return _gemma3_vision_backbone()


def _gemma3n_backbone():
    from keras_hub.src.models.gemma3n.gemma3n_audio_encoder import Gemma3nAudioEncoder
    from keras_hub.src.models.mobilenetv5.mobilenetv5_builder import convert_arch_def_to_stackwise

    vision = M.MobileNetV5Backbone(**convert_arch_def_to_stackwise([["er_r1_k3_s1_e1_c8"]]),
                                   num_features=4, image_shape=(32, 32, 3), use_msfa=False)
    audio = Gemma3nAudioEncoder(
        hidden_size=8, input_feat_size=16, sscp_conv_channel_size=[2, 4],
        sscp_conv_kernel_size=[(1, 1), (1, 1)], sscp_conv_stride_size=[(2, 2), (2, 2)],
        sscp_conv_group_norm_eps=1e-5, num_hidden_layers=1, rms_norm_eps=1e-6, gradient_clipping=1.0,
        residual_weight=0.5, num_attention_heads=2, attention_chunk_size=2,
        num_attention_context_right=1, num_attention_context_left=1, attention_logit_cap=50.0,
        conv_kernel_size=3, reduction_factor=1)
    return M.Gemma3nBackbone(
        text_vocab_size=VOCAB, text_hidden_size=16, num_hidden_layers=1, pad_token_id=0,
        num_attention_heads=2, num_key_value_heads=1, head_dim=8, intermediate_size=[32],
        hidden_activation="gelu_approximate", layer_types=["full_attention"], sliding_window=8,
        rope_theta=10000.0, max_position_embeddings=64, vocab_size_per_layer_input=VOCAB,
        hidden_size_per_layer_input=4, altup_num_inputs=2, laurel_rank=1,
        vision_encoder_config=vision.get_config(), vision_hidden_size=8,
        audio_encoder_config=audio.get_config(), audio_hidden_size=8)


@entry("Gemma 3n", "Gemma3nCausalLM", note="with vision and audio encoders")
def gemma3n_causal_lm():
    seed()
    return M.Gemma3nCausalLM(backbone=_gemma3n_backbone(), preprocessor=None)


@entry("Gemma 3n", "Gemma3nBackbone", note="with vision and audio encoders")
def gemma3n_backbone():
    seed()
    return _gemma3n_backbone()


def _gemma4_vision_backbone():
    encoder = M.Gemma4VisionEncoder(image_size=32, patch_size=4, pool_size=2, num_layers=1,
                                    num_heads=2, head_dim=8, num_key_value_heads=2, hidden_dim=16,
                                    intermediate_dim=32, output_dim=16)
    return M.Gemma4Backbone(vocabulary_size=VOCAB, image_size=32, num_layers=1, num_query_heads=2,
                            num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8,
                            sliding_window_size=16, vision_encoder=encoder)


@entry("Gemma 4", "Gemma4CausalLM", note="with a vision encoder")
def gemma4_vision_causal_lm():
    seed()
    return M.Gemma4CausalLM(backbone=_gemma4_vision_backbone(), preprocessor=None)


@entry("Gemma 4", "Gemma4Backbone", note="with a vision encoder")
def gemma4_vision_backbone():
    seed()
    return _gemma4_vision_backbone()


def _t5gemma2_backbone():
    encoder = M.Gemma3VisionEncoder(image_size=28, patch_size=14, num_heads=2, hidden_dim=16,
                                    num_layers=1, intermediate_dim=32, output_dim=16, pool_size=1)
    return M.T5Gemma2Backbone(
        vocabulary_size=VOCAB, encoder_hidden_dim=16, encoder_intermediate_dim=32,
        encoder_num_layers=1, encoder_num_attention_heads=2, encoder_num_key_value_heads=1,
        encoder_head_dim=8, encoder_layer_types=["full_attention"], decoder_hidden_dim=16,
        decoder_intermediate_dim=32, decoder_num_layers=1, decoder_num_attention_heads=2,
        decoder_num_key_value_heads=1, decoder_head_dim=8, decoder_layer_types=["full_attention"],
        cross_attention_hidden_size=16, vision_encoder=encoder, eoi_token_index=VOCAB - 1)


@entry("T5Gemma 2", "T5Gemma2Seq2SeqLM", note="with a vision encoder")
def t5gemma2_seq2seq_lm():
    seed()
    return M.T5Gemma2Seq2SeqLM(backbone=_t5gemma2_backbone(), preprocessor=None)


@entry("T5Gemma 2", "T5Gemma2Backbone", note="with a vision encoder")
def t5gemma2_backbone():
    seed()
    return _t5gemma2_backbone()


def _parseq_backbone(vocabulary_size=VOCAB):
    encoder = M.ViTBackbone(image_shape=(32, 64, 3), patch_size=(8, 8), num_layers=1, num_heads=2,
                            hidden_dim=16, mlp_dim=32, use_class_token=False, name="image_encoder")
    return M.PARSeqBackbone(image_encoder=encoder, vocabulary_size=vocabulary_size,
                            max_label_length=8,
                            decoder_hidden_dim=16, num_decoder_layers=1, num_decoder_heads=2,
                            decoder_mlp_dim=32, dropout_rate=0.0, attention_dropout=0.0)


@entry("PARSeq", "PARSeqCausalLM", note="with its preprocessor (built-in charset)")
def parseq_causal_lm():
    seed()
    # Not preprocessor=None: the constructor compiles, and compile() reads the tokenizer's pad id.
    tokenizer = M.PARSeqTokenizer(max_label_length=8)
    preprocessor = M.PARSeqCausalLMPreprocessor(image_converter=None, tokenizer=tokenizer,
                                                sequence_length=8)
    return M.PARSeqCausalLM(preprocessor=preprocessor,
                            backbone=_parseq_backbone(tokenizer.vocabulary_size()))


@entry("PARSeq", "PARSeqBackbone")
def parseq_backbone():
    seed()
    return _parseq_backbone()


def _sam3_backbone():
    from keras_hub.src.models.sam3.sam3_detr_decoder import SAM3DetrDecoder
    from keras_hub.src.models.sam3.sam3_detr_encoder import SAM3DetrEncoder
    from keras_hub.src.models.sam3.sam3_geometry_encoder import SAM3GeometryEncoder
    from keras_hub.src.models.sam3.sam3_mask_decoder import SAM3MaskDecoder
    from keras_hub.src.models.sam3.sam3_text_encoder import SAM3TextEncoder
    from keras_hub.src.models.sam3.sam3_vision_encoder import SAM3VisionEncoder

    image = (28, 28, 3)
    return M.SAM3PromptableConceptBackbone(
        vision_encoder=SAM3VisionEncoder(
            image_shape=image, patch_size=14, num_layers=1, hidden_dim=16, intermediate_dim=32,
            num_heads=2, fpn_hidden_dim=16, fpn_scale_factors=[4.0, 2.0, 1.0, 0.5],
            pretrain_image_shape=(42, 42, 3), window_size=2, global_attn_indexes=[0]),
        text_encoder=SAM3TextEncoder(vocabulary_size=VOCAB, embedding_dim=16, hidden_dim=16,
                                     num_layers=1, num_heads=2, intermediate_dim=32),
        geometry_encoder=SAM3GeometryEncoder(num_layers=1, hidden_dim=16, intermediate_dim=32,
                                             num_heads=2, roi_size=7),
        detr_encoder=SAM3DetrEncoder(num_layers=1, hidden_dim=16, intermediate_dim=32, num_heads=2),
        detr_decoder=SAM3DetrDecoder(image_shape=image, patch_size=14, num_layers=1, hidden_dim=16,
                                     intermediate_dim=32, num_heads=2, num_queries=8),
        mask_decoder=SAM3MaskDecoder(num_upsampling_stages=3, hidden_dim=16, num_heads=2))


@entry("SAM 3", "SAM3PromptableConceptImageSegmenter")
def sam3_promptable_concept_image_segmenter():
    seed()
    return M.SAM3PromptableConceptImageSegmenter(backbone=_sam3_backbone(), preprocessor=None)


@entry("SAM 3", "SAM3PromptableConceptBackbone")
def sam3_promptable_concept_backbone():
    seed()
    return _sam3_backbone()


@entry("VideoPrism", "VideoPrismBackbone", note="video-text; 4 frames of 28 px")
def video_prism_backbone():
    seed()
    return M.VideoPrismBackbone(num_frames=4, patch_size=7, hidden_dim=16, intermediate_dim=32,
                                num_heads=2, num_spatial_layers=1, num_temporal_layers=1,
                                num_auxiliary_layers=1, vocabulary_size=VOCAB, num_text_layers=1,
                                image_shape=(28, 28, 3))
