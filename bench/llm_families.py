"""Which KerasHub CausalLM families kind: llm exports: each family as a tiny seeded model from its
constructor (2 layers, hidden 32, grouped-query attention, weights re-drawn N(0, 0.5) so greedy
sequences vary), traced to prefill/decode signatures, converted, and its greedy tokens in the stock
interpreter compared with KerasHub's own greedy generation, token for token.

    python bench/llm_families.py [--families gemma,phi3,...] [--out bench-llm-families.json]

The export path only (no tokenizer, no .litertlm): the end-to-end path with tokenizers and
LiteRT-LM is tests/e2e/test_llm.py (Gemma, Qwen) and `python bench/llm.py`. Prints one line per
family: tokens equal, max logit error, size, Flex/custom ops; writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COMMON = {"vocabulary_size": 128, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1,
          "hidden_dim": 32, "intermediate_dim": 64}
# family -> (CausalLM class, backbone class, extra backbone arguments)
FAMILIES = {
    "gemma": ("GemmaCausalLM", "GemmaBackbone", {"head_dim": 16}),
    "gemma3": ("Gemma3CausalLM", "Gemma3Backbone", {"head_dim": 16, "image_size": None,
               "vision_encoder": None, "use_sliding_window_attention": True, "sliding_window_size": 8}),
    "llama": ("LlamaCausalLM", "LlamaBackbone", {}),
    "llama3": ("Llama3CausalLM", "Llama3Backbone", {}),
    "mistral": ("MistralCausalLM", "MistralBackbone", {"sliding_window": 64}),
    "qwen": ("QwenCausalLM", "QwenBackbone", {}),
    "qwen3": ("Qwen3CausalLM", "Qwen3Backbone", {"head_dim": 16}),
    "phi3": ("Phi3CausalLM", "Phi3Backbone", {}),
    "mixtral": ("MixtralCausalLM", "MixtralBackbone", {"num_experts": 4, "top_k": 2, "sliding_window": 64}),
    "qwen_moe": ("QwenMoeCausalLM", "QwenMoeBackbone", {"num_experts": 4, "moe_intermediate_dim": 32,
                 "shared_expert_intermediate_dim": 32, "top_k": 2}),
    "qwen3_moe": ("Qwen3MoeCausalLM", "Qwen3MoeBackbone", {"num_experts": 4, "moe_intermediate_dim": 32,
                  "top_k": 2, "head_dim": 16}),
}


def check(family: str) -> dict:
    import keras
    import keras_hub
    import numpy as np

    from litert_build.export.inventory import op_inventory
    from litert_build.export.llm import generate, kv_cache

    task, backbone, extra = FAMILIES[family]
    keras.utils.set_random_seed(0)
    models = keras_hub.models
    lm = getattr(models, task)(backbone=getattr(models, backbone)(**COMMON, **extra), preprocessor=None)
    rng = np.random.default_rng(0)
    for weight in lm.weights:
        weight.assign(rng.normal(0.0, 0.5, weight.shape).astype(weight.dtype))
    shape = kv_cache.cache_shape(lm, 64)
    started = time.perf_counter()
    flatbuffer = kv_cache.convert(lm, [8, 32], shape)
    seconds = time.perf_counter() - started
    inventory = op_inventory(flatbuffer)
    prompt = [int(x) for x in rng.integers(1, 128, 12)]
    reference = generate.keras_greedy(lm, prompt, 16)
    forced = generate.InterpreterGenerator(flatbuffer, shape).forced(prompt, reference.tokens)
    return {"family": family, "class": task, "tokens_equal": forced.tokens == reference.tokens,
            "max_abs_logit_error": float(np.abs(forced.logits - reference.logits).max()),
            "bytes": len(flatbuffer), "convert_s": round(seconds, 1),
            "flex": sorted(inventory.flex), "custom": sorted(inventory.custom)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--out", default="bench-llm-families.json")
    args = parser.parse_args()
    results = []
    for family in args.families.split(","):
        try:
            row = check(family)
        except Exception as exc:  # noqa: BLE001 - a family that does not export is a result
            row = {"family": family, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        results.append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1))
    return 0 if all(r.get("tokens_equal") for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
