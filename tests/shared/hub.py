"""The tiny KerasHub families of tests/e2e/test_kerashub_families.py and bench/kerashub.py: what
each one's artifact must look like, and the models.yaml that builds them.

The builders are in ``hub_families.py`` beside this file; tests and benchmarks copy that file
into their project (:data:`BUILDERS`), because the conversion worker imports it from there.
"""

from __future__ import annotations

from pathlib import Path

BUILDERS = Path(__file__).with_name("hub_families.py")

# A GPT-2 causal LM with a byte-pair tokenizer and a preprocessor (sequence_length 12), saved as a
# preset folder (weights, configs, tokenizer assets): script text for ``run_python`` in a project
# (the caller imports keras and keras_hub, and seeds).
GPT2_TINY_PRESET = """
vocab = {"<|endoftext|>": 0, "a": 1, "b": 2, "\\u0120a": 3, "\\u0120b": 4, "ab": 5}
tok = keras_hub.models.GPT2Tokenizer(vocabulary=vocab, merges=["a b"])
pre = keras_hub.models.GPT2CausalLMPreprocessor(tokenizer=tok, sequence_length=12)
bb = keras_hub.models.GPT2Backbone(vocabulary_size=6, num_layers=1, num_heads=2, hidden_dim=16,
                                   intermediate_dim=32, max_sequence_length=32)
keras_hub.models.GPT2CausalLM(backbone=bb, preprocessor=pre).save_to_preset("presets/gpt2_tiny")
"""

# family -> (registry entry, input names, output names, extra manifest settings, "; "-separated)
FAMILIES = {
    "llama": ("CausalLM", ["token_ids", "padding_mask"], ["logits"], ""),
    "gemma": ("CausalLM", ["token_ids", "padding_mask"], ["logits"], ""),
    "mistral": ("CausalLM", ["token_ids", "padding_mask"], ["logits"], ""),
    "qwen": ("CausalLM", ["token_ids", "padding_mask"], ["logits"], ""),
    "phi3": ("CausalLM", ["token_ids", "padding_mask"], ["logits"], ""),
    "falcon": ("CausalLM", ["token_ids", "padding_mask"], ["logits"], ""),
    "deberta_v3": ("TextClassifier", ["token_ids", "padding_mask"], ["logits"], ""),
    "f_net": ("TextClassifier", ["token_ids", "segment_ids"], ["logits"], ""),
    "bart": ("Seq2SeqLM", ["encoder_token_ids", "encoder_padding_mask", "decoder_token_ids",
                           "decoder_padding_mask"], ["logits"], ""),
    "t5": ("Seq2SeqLM", ["encoder_token_ids", "encoder_padding_mask", "decoder_token_ids",
                         "decoder_padding_mask"], ["logits"], ""),
    "moonshine": ("AudioToText", ["encoder_input_values", "encoder_padding_mask",
                                  "decoder_token_ids", "decoder_padding_mask"], ["logits"],
                  "audio_length: 1600"),
    "pali_gemma": ("PaliGemmaCausalLM", ["images", "token_ids", "padding_mask", "response_mask"],
                   ["logits"], ""),
    "gemma3_vision": ("Gemma3CausalLM", ["token_ids", "padding_mask", "images", "vision_indices",
                                         "vision_mask"], ["logits"], ""),
    "retinanet": ("ObjectDetector", ["images"], ["bbox_regression", "cls_logits"],
                  "image_size: [64, 64]"),
    "deeplab_v3": ("ImageSegmenter", ["inputs"], ["logits"], "image_size: [64, 64]"),
    "depth_anything": ("DepthEstimator", ["images"], ["depths"], ""),
}
# Built by the benchmarks only (test-time budget): multi-megabyte vision models, and decoder LMs that take
# the very path Llama and Gemma take in the test (bench/hub_sweep.py builds every family).
SLOW = {"retinanet", "deeplab_v3", "depth_anything", "mistral", "qwen", "phi3", "falcon"}

# More models of the families project, built from the families' builders with settings of their own
# (checked by their own tests, not as families): a dynamic length, and T5's masks and position
# biases at 128 tokens computed at run time (the default) or folded.
SEQ2SEQ_INPUTS = ["encoder_token_ids", "encoder_padding_mask", "decoder_token_ids", "decoder_padding_mask"]
EXTRA_MODELS = {
    "bert_dynamic": ("TextClassifier", ["token_ids", "segment_ids", "padding_mask"], ["logits"],
                     "sequence_length: dynamic"),
    "llama_dynamic": ("CausalLM", ["token_ids", "padding_mask"], ["logits"],
                      "sequence_length: dynamic"),  # fails: Flex ops
    "t5_long": ("Seq2SeqLM", SEQ2SEQ_INPUTS, ["logits"], "sequence_length: 128"),
    "t5_folded": ("Seq2SeqLM", SEQ2SEQ_INPUTS, ["logits"], "sequence_length: 128; fold_masks: true"),
}
BUILDER_OF = {"bert_dynamic": "bert", "llama_dynamic": "llama", "t5_long": "t5", "t5_folded": "t5"}


def families_manifest(names) -> str:
    """models.yaml building ``names`` (sequence length 16, each family's extra settings)."""
    lines = ["schema: 1", "defaults:", "  sequence_length: 16", "models:"]
    for name in names:
        extra = {**FAMILIES, **EXTRA_MODELS}[name][3]
        lines.append(f"  {name}:")
        lines.append('    version: "1"')
        lines.append(f'    source: {{builder: "hub_families:{BUILDER_OF.get(name, name)}"}}')
        lines += [f"    {setting}" for setting in extra.split("; ") if setting]
    return "\n".join(lines) + "\n"
