"""Text tasks and text backbones of keras-hub, tiny (vocabulary 50, one layer, hidden 16).

One builder per text task class that ``keras_hub.models`` exports (aliases such as
``BertClassifier`` = ``BertTextClassifier``, ``QwenCausalLM`` = ``Qwen2CausalLM``,
``SmolLMCausalLM`` = ``SmolLM3CausalLM``, ``ESMMaskedPLM`` = ``ESM2MaskedPLM`` are built once), and
one per backbone used bare. Constructors only, ``preprocessor=None``, nothing a zero-config user
would not pass: a backbone's ``max_sequence_length`` is 32 where the constructor has one.
"""

import keras_hub

from hub_zoo import entry, seed

M = keras_hub.models
VOCAB = 50
SEQ = 32  # max_sequence_length where the constructor has one (a tiny model's natural limit)


# ------------------------------------------------------------------------------ backbones
# Encoders (BERT-like).


def _albert():
    return M.AlbertBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, embedding_dim=16,
                            hidden_dim=16, intermediate_dim=32, max_sequence_length=SEQ)


def _bert():
    return M.BertBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                          intermediate_dim=32, max_sequence_length=SEQ)


def _deberta_v3():
    return M.DebertaV3Backbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                               intermediate_dim=32, max_sequence_length=SEQ)


def _distil_bert():
    return M.DistilBertBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                                intermediate_dim=32, max_sequence_length=SEQ)


def _f_net():
    return M.FNetBackbone(vocabulary_size=VOCAB, num_layers=1, hidden_dim=16, intermediate_dim=32,
                          max_sequence_length=SEQ)


def _roberta():
    return M.RobertaBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                             intermediate_dim=32, max_sequence_length=SEQ)


def _roformer_v2():
    return M.RoformerV2Backbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                                intermediate_dim=32, head_size=8)


def _xlm_roberta():
    return M.XLMRobertaBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                                intermediate_dim=32, max_sequence_length=SEQ)


def _esm():
    return M.ESMBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                          intermediate_dim=32, max_sequence_length=SEQ)


# Decoders.


def _bloom():
    return M.BloomBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                           intermediate_dim=32)


def _falcon():
    return M.FalconBackbone(vocabulary_size=VOCAB, num_layers=1, num_attention_heads=2,
                            hidden_dim=16, intermediate_dim=32)


def _gpt2():
    return M.GPT2Backbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                          intermediate_dim=32, max_sequence_length=SEQ)


def _gpt_neo_x():
    return M.GPTNeoXBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                             intermediate_dim=32, max_sequence_length=SEQ)


def _gemma():
    return M.GemmaBackbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2,
                           num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8)


def _gemma3(**kwargs):
    # Text-only: no vision_encoder; image_size is required but unused then (896 as its presets).
    return M.Gemma3Backbone(vocabulary_size=VOCAB, image_size=896, num_layers=1, num_query_heads=2,
                            num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8,
                            **kwargs)


def _gemma4(**kwargs):
    return M.Gemma4Backbone(vocabulary_size=VOCAB, image_size=896, num_layers=1, num_query_heads=2,
                            num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8,
                            **kwargs)


def _gpt_oss():
    return M.GptOssBackbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2, hidden_dim=16,
                            intermediate_dim=32, num_key_value_heads=1, num_experts=4)


def _llama():
    return M.LlamaBackbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2, hidden_dim=16,
                           intermediate_dim=32, num_key_value_heads=1)


def _llama3():
    return M.Llama3Backbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2, hidden_dim=16,
                            intermediate_dim=32, num_key_value_heads=1)


def _mistral():
    return M.MistralBackbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2, hidden_dim=16,
                             intermediate_dim=32, num_key_value_heads=1)


def _mixtral():
    return M.MixtralBackbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2, hidden_dim=16,
                             intermediate_dim=32, num_key_value_heads=1, num_experts=4)


def _opt():
    return M.OPTBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                         intermediate_dim=32, max_sequence_length=SEQ)


def _phi3():
    return M.Phi3Backbone(vocabulary_size=VOCAB, num_layers=1, hidden_dim=16, intermediate_dim=32,
                          num_query_heads=2, num_key_value_heads=1)


def _qwen():
    return M.QwenBackbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2,
                          num_key_value_heads=1, hidden_dim=16, intermediate_dim=32)


def _qwen3():
    return M.Qwen3Backbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2,
                           num_key_value_heads=1, head_dim=8, hidden_dim=16, intermediate_dim=32)


def _qwen3_moe():
    # 4 experts, top 2 (top_k defaults to 4, which would route to every expert).
    return M.Qwen3MoeBackbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2,
                              num_key_value_heads=1, hidden_dim=16, intermediate_dim=32,
                              moe_intermediate_dim=16, num_experts=4, top_k=2)


def _qwen_moe():
    return M.QwenMoeBackbone(vocabulary_size=VOCAB, num_layers=1, num_query_heads=2,
                             num_key_value_heads=1, hidden_dim=16, intermediate_dim=32,
                             moe_intermediate_dim=16, shared_expert_intermediate_dim=16,
                             num_experts=4, top_k=2)


# Qwen3.5: 4 layers so the default layer_types (every 4th full attention) has both kinds; the
# linear-attention (GatedDeltaNet) sizes default to 16-32 heads of 128, shrunk here.
_QWEN3_5_LINEAR = dict(linear_num_key_heads=2, linear_num_value_heads=2, linear_key_head_dim=8,
                       linear_value_head_dim=8)


def _qwen3_5():
    return M.Qwen3_5Backbone(vocabulary_size=VOCAB, num_layers=4, num_query_heads=2,
                             num_key_value_heads=1, head_dim=8, hidden_dim=16, intermediate_dim=32,
                             **_QWEN3_5_LINEAR)


def _qwen3_5_moe():
    return M.Qwen3_5MoeBackbone(vocabulary_size=VOCAB, num_layers=4, num_query_heads=2,
                                num_key_value_heads=1, head_dim=8, hidden_dim=16,
                                moe_intermediate_dim=16, shared_expert_intermediate_size=16,
                                num_experts=4, top_k=2, **_QWEN3_5_LINEAR)


def _rwkv7():
    return M.RWKV7Backbone(hidden_size=32, head_size=16, num_layers=1, vocabulary_size=VOCAB,
                           intermediate_dim=64)


def _smollm3():
    # Every argument is required; values as the constructor's docstring example, one layer.
    return M.SmolLM3Backbone(vocabulary_size=VOCAB, hidden_dim=16, intermediate_dim=32,
                             num_layers=1, num_attention_heads=2, num_key_value_heads=1,
                             attention_bias=False, attention_dropout=0.0,
                             rope_layer_enabled_list=[True], layer_types=["attention"],
                             mlp_bias=False, layer_norm_epsilon=1e-5, max_position_embeddings=2048,
                             rope_theta=10000.0, partial_rotary_factor=1.0)


# Encoder-decoders.


def _bart():
    return M.BartBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                          intermediate_dim=32, max_sequence_length=SEQ)


def _t5():
    return M.T5Backbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                        intermediate_dim=32)


def _t5gemma():
    return M.T5GemmaBackbone(
        vocabulary_size=VOCAB,
        encoder_hidden_dim=16, encoder_intermediate_dim=32, encoder_num_layers=1,
        encoder_num_attention_heads=2, encoder_num_key_value_heads=1, encoder_head_dim=8,
        encoder_layer_types=["full_attention"],
        decoder_hidden_dim=16, decoder_intermediate_dim=32, decoder_num_layers=1,
        decoder_num_attention_heads=2, decoder_num_key_value_heads=1, decoder_head_dim=8,
        decoder_layer_types=["full_attention"])


def _edrec():
    return M.EdRecBackbone(vocab_size=VOCAB, num_layers_enc=1, num_layers_dec=1, hidden_dim=16,
                           intermediate_dim=32, num_heads=2)


# Backbone-only families.


def _electra():
    return M.ElectraBackbone(vocab_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                             embedding_dim=16, intermediate_dim=32, max_sequence_length=SEQ)


def _xlnet():
    return M.XLNetBackbone(vocabulary_size=VOCAB, num_layers=1, num_heads=2, hidden_dim=16,
                           intermediate_dim=32)


# ------------------------------------------------------------------------------ causal LMs


@entry("BLOOM", "BloomCausalLM")
def bloom_causal_lm():
    seed()
    return M.BloomCausalLM(_bloom(), preprocessor=None)


@entry("Falcon", "FalconCausalLM")
def falcon_causal_lm():
    seed()
    return M.FalconCausalLM(_falcon(), preprocessor=None)


@entry("GPT-2", "GPT2CausalLM")
def gpt2_causal_lm():
    seed()
    return M.GPT2CausalLM(_gpt2(), preprocessor=None)


@entry("GPT-NeoX", "GPTNeoXCausalLM")
def gpt_neo_x_causal_lm():
    seed()
    return M.GPTNeoXCausalLM(_gpt_neo_x(), preprocessor=None)


@entry("Gemma", "GemmaCausalLM")
def gemma_causal_lm():
    seed()
    return M.GemmaCausalLM(_gemma(), preprocessor=None)


@entry("Gemma 3", "Gemma3CausalLM", note="text-only (no vision encoder)")
def gemma3_causal_lm():
    seed()
    return M.Gemma3CausalLM(backbone=_gemma3(), preprocessor=None)


@entry("Gemma 4", "Gemma4CausalLM", note="text-only (no vision/audio encoder)")
def gemma4_causal_lm():
    seed()
    return M.Gemma4CausalLM(backbone=_gemma4(), preprocessor=None)


@entry("GPT-OSS", "GptOssCausalLM")
def gpt_oss_causal_lm():
    seed()
    return M.GptOssCausalLM(_gpt_oss(), preprocessor=None)


@entry("Llama", "LlamaCausalLM")
def llama_causal_lm():
    seed()
    return M.LlamaCausalLM(_llama(), preprocessor=None)


@entry("Llama 3", "Llama3CausalLM")
def llama3_causal_lm():
    seed()
    return M.Llama3CausalLM(_llama3(), preprocessor=None)


@entry("Mistral", "MistralCausalLM")
def mistral_causal_lm():
    seed()
    return M.MistralCausalLM(_mistral(), preprocessor=None)


@entry("Mixtral", "MixtralCausalLM")
def mixtral_causal_lm():
    seed()
    return M.MixtralCausalLM(_mixtral(), preprocessor=None)


@entry("OPT", "OPTCausalLM")
def opt_causal_lm():
    seed()
    return M.OPTCausalLM(_opt(), preprocessor=None)


@entry("Phi-3", "Phi3CausalLM")
def phi3_causal_lm():
    seed()
    return M.Phi3CausalLM(_phi3(), preprocessor=None)


@entry("Qwen 2", "QwenCausalLM", note="Qwen2CausalLM is the same class")
def qwen_causal_lm():
    seed()
    return M.QwenCausalLM(_qwen(), preprocessor=None)


@entry("Qwen 3", "Qwen3CausalLM")
def qwen3_causal_lm():
    seed()
    return M.Qwen3CausalLM(_qwen3(), preprocessor=None)


@entry("Qwen 3 MoE", "Qwen3MoeCausalLM", note="4 experts, top 2")
def qwen3_moe_causal_lm():
    seed()
    return M.Qwen3MoeCausalLM(_qwen3_moe(), preprocessor=None)


@entry("Qwen 3.5", "Qwen3_5CausalLM", note="4 layers: 3 linear attention, 1 full")
def qwen3_5_causal_lm():
    seed()
    return M.Qwen3_5CausalLM(_qwen3_5(), preprocessor=None)


@entry("Qwen 3.5 MoE", "Qwen3_5MoeCausalLM", note="4 layers: 3 linear attention, 1 full")
def qwen3_5_moe_causal_lm():
    seed()
    return M.Qwen3_5MoeCausalLM(_qwen3_5_moe(), preprocessor=None)


@entry("Qwen MoE", "QwenMoeCausalLM", note="4 experts, top 2")
def qwen_moe_causal_lm():
    seed()
    return M.QwenMoeCausalLM(_qwen_moe(), preprocessor=None)


@entry("RWKV-7", "RWKV7CausalLM")
def rwkv7_causal_lm():
    seed()
    return M.RWKV7CausalLM(_rwkv7(), preprocessor=None)


@entry("SmolLM 3", "SmolLM3CausalLM", note="SmolLMCausalLM is the same class")
def smollm3_causal_lm():
    seed()
    return M.SmolLM3CausalLM(_smollm3(), preprocessor=None)


# ------------------------------------------------------------------------------ masked LMs


@entry("ALBERT", "AlbertMaskedLM")
def albert_masked_lm():
    seed()
    return M.AlbertMaskedLM(_albert(), preprocessor=None)


@entry("BERT", "BertMaskedLM")
def bert_masked_lm():
    seed()
    return M.BertMaskedLM(_bert(), preprocessor=None)


@entry("DeBERTa-v3", "DebertaV3MaskedLM")
def deberta_v3_masked_lm():
    seed()
    return M.DebertaV3MaskedLM(_deberta_v3(), preprocessor=None)


@entry("DistilBERT", "DistilBertMaskedLM")
def distil_bert_masked_lm():
    seed()
    return M.DistilBertMaskedLM(_distil_bert(), preprocessor=None)


@entry("FNet", "FNetMaskedLM")
def f_net_masked_lm():
    seed()
    return M.FNetMaskedLM(_f_net(), preprocessor=None)


@entry("RoBERTa", "RobertaMaskedLM")
def roberta_masked_lm():
    seed()
    return M.RobertaMaskedLM(_roberta(), preprocessor=None)


@entry("RoFormer-v2", "RoformerV2MaskedLM")
def roformer_v2_masked_lm():
    seed()
    return M.RoformerV2MaskedLM(_roformer_v2(), preprocessor=None)


@entry("XLM-RoBERTa", "XLMRobertaMaskedLM")
def xlm_roberta_masked_lm():
    seed()
    return M.XLMRobertaMaskedLM(_xlm_roberta(), preprocessor=None)


@entry("ESM", "ESMMaskedPLM", note="ESM2MaskedPLM is the same class")
def esm_masked_plm():
    seed()
    return M.ESMMaskedPLM(_esm(), preprocessor=None)


# ------------------------------------------------------------------------------ classifiers


@entry("ALBERT", "AlbertTextClassifier")
def albert_text_classifier():
    seed()
    return M.AlbertTextClassifier(_albert(), num_classes=3, preprocessor=None)


@entry("BERT", "BertTextClassifier")
def bert_text_classifier():
    seed()
    return M.BertTextClassifier(_bert(), num_classes=3, preprocessor=None)


@entry("DeBERTa-v3", "DebertaV3TextClassifier")
def deberta_v3_text_classifier():
    seed()
    return M.DebertaV3TextClassifier(_deberta_v3(), num_classes=3, preprocessor=None)


@entry("DistilBERT", "DistilBertTextClassifier")
def distil_bert_text_classifier():
    seed()
    return M.DistilBertTextClassifier(_distil_bert(), num_classes=3, preprocessor=None)


@entry("FNet", "FNetTextClassifier")
def f_net_text_classifier():
    seed()
    return M.FNetTextClassifier(_f_net(), num_classes=3, preprocessor=None)


@entry("RoBERTa", "RobertaTextClassifier")
def roberta_text_classifier():
    seed()
    return M.RobertaTextClassifier(_roberta(), num_classes=3, preprocessor=None)


@entry("RoFormer-v2", "RoformerV2TextClassifier")
def roformer_v2_text_classifier():
    seed()
    return M.RoformerV2TextClassifier(_roformer_v2(), num_classes=3, preprocessor=None)


@entry("XLM-RoBERTa", "XLMRobertaTextClassifier")
def xlm_roberta_text_classifier():
    seed()
    return M.XLMRobertaTextClassifier(_xlm_roberta(), num_classes=3, preprocessor=None)


@entry("ESM", "ESMProteinClassifier")
def esm_protein_classifier():
    seed()
    return M.ESMProteinClassifier(_esm(), num_classes=3, preprocessor=None)


# ------------------------------------------------------------------------------ text embedders


@entry("BERT", "BertTextEmbedder")
def bert_text_embedder():
    seed()
    return M.BertTextEmbedder(_bert(), preprocessor=None)


@entry("Gemma 3", "Gemma3TextEmbedder", note="EmbeddingGemma-style backbone (bidirectional, "
       "pooling head)")
def gemma3_text_embedder():
    seed()
    backbone = _gemma3(use_bidirectional_attention=True, is_embedding_model=True,
                       pooling_intermediate_dim=32, embedding_dim=16)
    return M.Gemma3TextEmbedder(backbone, preprocessor=None)


@entry("Qwen 3", "Qwen3TextEmbedder")
def qwen3_text_embedder():
    seed()
    return M.Qwen3TextEmbedder(_qwen3(), preprocessor=None)


@entry("XLM-RoBERTa", "XLMRobertaTextEmbedder")
def xlm_roberta_text_embedder():
    seed()
    return M.XLMRobertaTextEmbedder(_xlm_roberta(), preprocessor=None)


# ------------------------------------------------------------------------------ seq2seq LMs


@entry("BART", "BartSeq2SeqLM")
def bart_seq2seq_lm():
    seed()
    return M.BartSeq2SeqLM(_bart(), preprocessor=None)


@entry("T5", "T5Seq2SeqLM")
def t5_seq2seq_lm():
    seed()
    return M.T5Seq2SeqLM(_t5(), preprocessor=None)


@entry("T5Gemma", "T5GemmaSeq2SeqLM")
def t5gemma_seq2seq_lm():
    seed()
    return M.T5GemmaSeq2SeqLM(_t5gemma(), preprocessor=None)


@entry("EdRec", "EdRecSeq2SeqLM")
def edrec_seq2seq_lm():
    seed()
    return M.EdRecSeq2SeqLM(_edrec(), preprocessor=None)


# ------------------------------------------------------------------------------ bare backbones


@entry("ALBERT", "AlbertBackbone")
def albert_backbone():
    seed()
    return _albert()


@entry("BART", "BartBackbone")
def bart_backbone():
    seed()
    return _bart()


@entry("BERT", "BertBackbone")
def bert_backbone():
    seed()
    return _bert()


@entry("BLOOM", "BloomBackbone")
def bloom_backbone():
    seed()
    return _bloom()


@entry("DeBERTa-v3", "DebertaV3Backbone")
def deberta_v3_backbone():
    seed()
    return _deberta_v3()


@entry("DistilBERT", "DistilBertBackbone")
def distil_bert_backbone():
    seed()
    return _distil_bert()


@entry("ESM", "ESMBackbone", note="ESM2Backbone is the same class")
def esm_backbone():
    seed()
    return _esm()


@entry("EdRec", "EdRecBackbone")
def edrec_backbone():
    seed()
    return _edrec()


@entry("ELECTRA", "ElectraBackbone")
def electra_backbone():
    seed()
    return _electra()


@entry("FNet", "FNetBackbone")
def f_net_backbone():
    seed()
    return _f_net()


@entry("Falcon", "FalconBackbone")
def falcon_backbone():
    seed()
    return _falcon()


@entry("GPT-2", "GPT2Backbone")
def gpt2_backbone():
    seed()
    return _gpt2()


@entry("GPT-NeoX", "GPTNeoXBackbone")
def gpt_neo_x_backbone():
    seed()
    return _gpt_neo_x()


@entry("Gemma", "GemmaBackbone")
def gemma_backbone():
    seed()
    return _gemma()


@entry("Gemma 3", "Gemma3Backbone", note="text-only (no vision encoder)")
def gemma3_backbone():
    seed()
    return _gemma3()


@entry("Gemma 4", "Gemma4Backbone", note="text-only (no vision/audio encoder)")
def gemma4_backbone():
    seed()
    return _gemma4()


@entry("GPT-OSS", "GptOssBackbone")
def gpt_oss_backbone():
    seed()
    return _gpt_oss()


@entry("Llama", "LlamaBackbone")
def llama_backbone():
    seed()
    return _llama()


@entry("Llama 3", "Llama3Backbone")
def llama3_backbone():
    seed()
    return _llama3()


@entry("Mistral", "MistralBackbone")
def mistral_backbone():
    seed()
    return _mistral()


@entry("Mixtral", "MixtralBackbone")
def mixtral_backbone():
    seed()
    return _mixtral()


@entry("OPT", "OPTBackbone")
def opt_backbone():
    seed()
    return _opt()


@entry("Phi-3", "Phi3Backbone")
def phi3_backbone():
    seed()
    return _phi3()


@entry("Qwen 2", "QwenBackbone", note="Qwen2Backbone is the same class")
def qwen_backbone():
    seed()
    return _qwen()


@entry("Qwen 3", "Qwen3Backbone")
def qwen3_backbone():
    seed()
    return _qwen3()


@entry("Qwen 3 MoE", "Qwen3MoeBackbone", note="4 experts, top 2")
def qwen3_moe_backbone():
    seed()
    return _qwen3_moe()


@entry("Qwen 3.5", "Qwen3_5Backbone", note="4 layers: 3 linear attention, 1 full")
def qwen3_5_backbone():
    seed()
    return _qwen3_5()


@entry("Qwen 3.5 MoE", "Qwen3_5MoeBackbone", note="4 layers: 3 linear attention, 1 full")
def qwen3_5_moe_backbone():
    seed()
    return _qwen3_5_moe()


@entry("Qwen MoE", "QwenMoeBackbone", note="4 experts, top 2")
def qwen_moe_backbone():
    seed()
    return _qwen_moe()


@entry("RWKV-7", "RWKV7Backbone")
def rwkv7_backbone():
    seed()
    return _rwkv7()


@entry("RoBERTa", "RobertaBackbone")
def roberta_backbone():
    seed()
    return _roberta()


@entry("RoFormer-v2", "RoformerV2Backbone")
def roformer_v2_backbone():
    seed()
    return _roformer_v2()


@entry("SmolLM 3", "SmolLM3Backbone", note="SmolLMBackbone is the same class")
def smollm3_backbone():
    seed()
    return _smollm3()


@entry("T5", "T5Backbone")
def t5_backbone():
    seed()
    return _t5()


@entry("T5Gemma", "T5GemmaBackbone")
def t5gemma_backbone():
    seed()
    return _t5gemma()


@entry("XLM-RoBERTa", "XLMRobertaBackbone")
def xlm_roberta_backbone():
    seed()
    return _xlm_roberta()


@entry("XLNet", "XLNetBackbone")
def xlnet_backbone():
    seed()
    return _xlnet()
