"""kind: llm on this CPU: decode speed of the prefill/decode artifact (stock interpreter, XNNPACK, 1
and 2 threads; LiteRT-LM's engine on the .litertlm) against KerasHub ``generate`` and against the
fixed-window artifact (kind float32: token_ids/padding_mask -> logits for the whole window, run once
per generated token), and the artifact sizes of float32 / float16 / int8 / int4 weights.

    python bench/llm.py [--sizes tiny,100m] [--tokens 32] [--out bench-llm.json]

Each size is a Gemma-shaped CausalLM built from its constructor with a SentencePiece tokenizer
trained on a few sentences (tests/shared/tiny_llm.py; weights seeded, nothing downloaded), saved as
a preset, and built by litert-build like any project:

    variants:
      chat:      {kind: llm, prefill: [P], kv_cache: C}
      chat_f16:  {kind: llm, ..., weight_dtype: float16}
      chat_int8: {kind: llm, ..., recipe: dynamic_wi8_afp32}
      chat_int4: {kind: llm, ..., recipe: dynamic_wi4b32_afp32}
      window:    {kind: float32, sequence_length: W}          # the fixed-window export

Every figure is measured in this run, on the same machine (shared and noisy: compare ratios).
KerasHub's compiled generate function is timed on its second call (the first compiles; the
figure includes the prompt's prefill, a few percent of the 32 steps); the interpreter on N decode
steps after the prompt's prefill (the Python loop feeds the cache back each step, as an app
would); LiteRT-LM by its own benchmark counters (decode tokens/s); the fixed window by greedy
generation of the same N tokens (checked equal to the KV-cache artifact's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# name -> make_llm_preset settings, prefill length, kv cache, window
SIZES = {
    "tiny": ({"num_layers": 2, "hidden_dim": 32, "head_dim": 16}, 32, 128, 64),
    # ~100M parameters: 8 layers, hidden 1024, 8 query heads / 1 kv head of 128, MLP 2 x 4096.
    "100m": ({"num_layers": 8, "hidden_dim": 1024, "num_query_heads": 8, "num_key_value_heads": 1,
              "head_dim": 128, "intermediate_dim": 8192, "scale": 0.02}, 32, 256, 64),
}
# The quantized variants report their token agreement here instead of being gated on it (the tiny
# model's N(0, 0.5) weights give huge logits with thin margins).
ANY = ", verify: {min_token_agreement: 0}"
VARIANTS = {"chat": "", "chat_f16": ", weight_dtype: float16",
            "chat_int8": ", recipe: dynamic_wi8_afp32" + ANY,
            "chat_int4": ", recipe: dynamic_wi4b32_afp32" + ANY}


def make_project(folder: Path, size: str) -> None:
    preset, prefill, cache, window = SIZES[size]
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from tiny_llm import make_llm_preset; "
            f"make_llm_preset('presets/lm', 'gemma', **{preset!r})")
    subprocess.run([sys.executable, "-c", code, str(REPO / "tests" / "shared")], cwd=folder, check=True,
                   stderr=subprocess.DEVNULL)
    lines = ["schema: 1", "models:", "  lm:", '    version: "1"',
             "    source: {preset: presets/lm, task: CausalLM}", "    variants:"]
    for name, extra in VARIANTS.items():
        lines.append(f"      {name}: {{kind: llm, prefill: [{prefill}], kv_cache: {cache}{extra}}}")
    lines.append(f"      window: {{kind: float32, sequence_length: {window}}}")
    (folder / "models.yaml").write_text("\n".join(lines) + "\n")


def build(folder: Path) -> float:
    started = time.perf_counter()
    env = {**os.environ, "LITERT_BUILD_CACHE": str(folder / ".cache")}
    run = subprocess.run([sys.executable, "-m", "litert_build.cli.main", "-n", "1"], cwd=folder, env=env,
                         capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(run.stdout[-4000:] + run.stderr[-2000:])
    return time.perf_counter() - started


def keras_tokens_per_second(preset: Path, prompt: list[int], count: int) -> tuple[float, list[int]]:
    """KerasHub's compiled generate function (what ``generate`` calls per batch: prefill of the
    prompt, then its cached decode loop), timed on its second call, greedy, no stop tokens."""
    import keras_hub
    import numpy as np

    lm = keras_hub.models.CausalLM.from_preset(str(preset))
    lm.preprocessor = None
    lm.sampler = keras_hub.samplers.GreedySampler()
    total = len(prompt) + count
    ids = np.zeros([1, total], np.int32)
    ids[0, : len(prompt)] = prompt
    mask = np.zeros([1, total], bool)
    mask[0, : len(prompt)] = True
    generate = lm.make_generate_function()
    generate({"token_ids": ids, "padding_mask": mask}, stop_token_ids=None)  # compiles
    started = time.perf_counter()
    out = generate({"token_ids": ids, "padding_mask": mask}, stop_token_ids=None)
    tokens = [int(t) for t in np.asarray(out["token_ids"])[0, len(prompt):]]
    return count / (time.perf_counter() - started), tokens


def interpreter_tokens_per_second(tflite: Path, meta: dict, prompt: list[int], count: int,
                                  threads: int) -> tuple[float, list[int]]:
    from litert_build.export.llm.generate import InterpreterGenerator
    from litert_build.export.llm.kv_cache import CacheShape

    cache = meta["llm"]["kv_cache"]
    shape = CacheShape(cache["layers"], cache["kv_heads"], cache["head_dim"], cache["length"])
    generator = InterpreterGenerator(tflite.read_bytes(), shape, threads)
    generator.generate(prompt, 2)  # warm-up (XNNPACK packs weights on first use)
    generator.reset()
    generator.prefill(prompt)
    started = time.perf_counter()
    out = generator._steps(prompt, count, None)
    return count / (time.perf_counter() - started), out.tokens


def window_tokens_per_second(tflite: Path, prompt: list[int], count: int, threads: int
                             ) -> tuple[float, list[int]]:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tflite), num_threads=threads)
    runner = interpreter.get_signature_runner()
    width = int(runner.get_input_details()["token_ids"]["shape"][1])
    sequence, tokens = list(prompt), []
    started = time.perf_counter()
    for _ in range(count):
        ids = np.zeros([1, width], np.int32)
        mask = np.zeros([1, width], np.int32)
        ids[0, : len(sequence)] = sequence
        mask[0, : len(sequence)] = 1
        logits = runner(token_ids=ids, padding_mask=mask)["logits"]
        tokens.append(int(np.argmax(logits[0, len(sequence) - 1])))
        sequence.append(tokens[-1])
    return count / (time.perf_counter() - started), tokens


def litert_lm_tokens_per_second(package: Path, prompt: str, count: int, cache: int, threads: int
                                ) -> dict:
    import litert_lm

    litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
    with tempfile.TemporaryDirectory() as scratch, litert_lm.Engine(
            str(package), backend=litert_lm.Backend.CPU(thread_count=threads), max_num_tokens=cache,
            cache_dir=scratch, enable_benchmark=True) as engine:
        session = engine.create_session(apply_prompt_template=False, max_output_tokens=count,
                                        sampler_config=litert_lm.SamplerConfig(top_k=1, top_p=1.0,
                                                                               temperature=1.0, seed=0))
        session.run_prefill([prompt])
        text = session.run_decode().texts[0]
        info = session.get_benchmark_info()
        session.close()
    return {"tokens_per_s": round(info.last_decode_tokens_per_second, 1),
            "decode_tokens": info.last_decode_token_count, "text_chars": len(text)}


def measure(size: str, count: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-llm-{size}-") as scratch:
        folder = Path(scratch)
        make_project(folder, size)
        build_s = build(folder)
        artifacts = folder / "artifacts" / "lm" / "1"
        metas = {v: json.loads((artifacts / f"lm.{v}.json").read_text()) for v in [*VARIANTS, "window"]}
        prompt = metas["chat"]["verification"]["prompt"]
        prompt_text = metas["chat"]["litertlm"]["engine"]["prompt"]
        import keras

        params = None
        keras_tps, keras_tokens = keras_tokens_per_second(folder / "presets/lm", prompt, count)
        import keras_hub

        params = keras_hub.models.CausalLM.from_preset(str(folder / "presets/lm")).backbone.count_params()
        keras.backend.clear_session()
        result = {"size": size, "parameters": params, "tokens": count, "prompt_tokens": len(prompt),
                  "build_s": round(build_s, 1), "keras_generate_tokens_per_s": round(keras_tps, 1),
                  "variants": {}}
        for variant in VARIANTS:
            meta = metas[variant]
            tflite = artifacts / f"lm.{variant}.tflite"
            row = {"tflite_bytes": tflite.stat().st_size,
                   "litertlm_bytes": tflite.with_suffix(".litertlm").stat().st_size,
                   "token_agreement": meta["verification"]["token_agreement"],
                   "max_abs_logit_error": meta["verification"]["max_abs_logit_error"]}
            for threads in (1, 2):
                tps, tokens = interpreter_tokens_per_second(tflite, meta, prompt, count, threads)
                row[f"interpreter_{threads}t_tokens_per_s"] = round(tps, 1)
                if variant == "chat" and threads == 2:
                    row["same_tokens_as_keras"] = tokens == keras_tokens
                    chat_tokens = tokens
                row[f"litert_lm_{threads}t"] = litert_lm_tokens_per_second(
                    tflite.with_suffix(".litertlm"), prompt_text, count, meta["llm"]["kv_cache"]["length"],
                    threads)
            result["variants"][variant] = row
        window = artifacts / "lm.window.tflite"
        tps, tokens = window_tokens_per_second(window, prompt, count, 2)
        result["fixed_window"] = {"tflite_bytes": window.stat().st_size, "tokens_per_s_2t": round(tps, 1),
                                  "width": SIZES[size][3], "same_tokens": tokens == chat_tokens}
    return result


def table(results: list[dict]) -> str:
    lines = ["| model | weights | .tflite | .litertlm | interpreter 1t | interpreter 2t | LiteRT-LM 1t | "
             "LiteRT-LM 2t | token agreement |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for variant, row in r["variants"].items():
            lines.append(
                f"| {r['size']} ({r['parameters'] / 1e6:.1f}M) | {variant} | {row['tflite_bytes']:,} | "
                f"{row['litertlm_bytes']:,} | {row['interpreter_1t_tokens_per_s']} | "
                f"{row['interpreter_2t_tokens_per_s']} | {row['litert_lm_1t']['tokens_per_s']} | "
                f"{row['litert_lm_2t']['tokens_per_s']} | {row['token_agreement']} |")
        window = r["fixed_window"]
        lines.append(f"| {r['size']} | KerasHub generate | | | | {r['keras_generate_tokens_per_s']} "
                     "| | | 1.0 |")
        lines.append(f"| {r['size']} | fixed window {window['width']} (float32) | "
                     f"{window['tflite_bytes']:,} | | | {window['tokens_per_s_2t']} | | | "
                     f"same tokens: {window['same_tokens']} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="tiny,100m")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--out", default="bench-llm.json")
    args = parser.parse_args()
    results = [measure(size, args.tokens) for size in args.sizes.split(",")]
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
