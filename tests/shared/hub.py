"""The tiny KerasHub families of tests/e2e/test_kerashub_families.py and bench/kerashub.py: what
each one's artifact must look like, and the models.yaml that builds them.

The builders are in ``hub_families.py`` beside this file; tests and benchmarks copy that file
into their project (:data:`BUILDERS`), because the conversion worker imports it from there.
"""

from __future__ import annotations

from pathlib import Path

BUILDERS = Path(__file__).with_name("hub_families.py")

# family -> (registry entry, input names, output names, extra manifest settings)
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
SLOW = {"retinanet", "deeplab_v3", "depth_anything"}


def families_manifest(names) -> str:
    """models.yaml building ``names`` (sequence length 16, each family's extra settings)."""
    lines = ["schema: 1", "defaults:", "  sequence_length: 16", "models:"]
    for name in names:
        extra = FAMILIES[name][3]
        lines.append(f"  {name}:")
        lines.append('    version: "1"')
        lines.append(f'    source: {{builder: "hub_families:{name}"}}')
        if extra:
            lines.append(f"    {extra}")
    return "\n".join(lines) + "\n"
