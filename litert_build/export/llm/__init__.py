"""kind: llm — a KerasHub CausalLM as prefill/decode signatures with a KV cache (``kv_cache``),
generated with greedily in the stock interpreter and in KerasHub (``generate``), its tokenizer as
LiteRT-LM takes it (``tokenizer``), packaged as a ``.litertlm`` and run by LiteRT-LM (``litertlm``)."""
