"""kind: llm — a KerasHub CausalLM as prefill/decode signatures with a KV cache, packaged as a
.litertlm and run by LiteRT-LM's engine: tiny models from constructors with tokenizers trained at
test time (tests/shared/tiny_llm.py), saved as presets; nothing is downloaded."""

from __future__ import annotations

import hashlib
import json
import tarfile

import numpy as np
import pytest
from shared.project import REPO, artifact, manifest_of, run_build, run_python, write_project

MANIFEST = '''
schema: 1
models:
  gemma_tiny:
    version: "1"
    source: {preset: presets/gemma_tiny, task: CausalLM}
    variants:
      chat: {kind: llm, prefill: [8, 32], kv_cache: 64}
      chat_f16: {kind: llm, prefill: [16], kv_cache: 64, weight_dtype: float16}
      # int4 weights on a tiny model with N(0, 0.5) weights (huge logits, thin margins): a loose gate
      chat_int4: {kind: llm, prefill: [16], kv_cache: 64, recipe: dynamic_wi4b32_afp32,
                  verify: {min_token_agreement: 0.25}}
  qwen_tiny:
    version: "1"
    source: {preset: presets/qwen_tiny, task: CausalLM}
    variants:
      chat: {kind: llm, prefill: [16], kv_cache: 64}
bundles:
  phone:
    version: "1.0"
    include: ["gemma_tiny:chat"]
'''

PRESETS = '''
import sys
sys.path.insert(0, sys.argv[1])
from tiny_llm import make_llm_preset
make_llm_preset("presets/gemma_tiny", "gemma")
make_llm_preset("presets/qwen_tiny", "qwen")
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = write_project(tmp_path_factory.mktemp("llm"), {"models.yaml": MANIFEST})
    run_python(folder, PRESETS, str(REPO / "tests" / "shared"))
    return folder, run_build(folder, "-n", "2")


def test_llm_variants_build_verify_and_package(project):
    folder, run = project
    assert run.returncode == 0, run.output
    assert sorted(run.converted) == ["gemma_tiny:chat", "gemma_tiny:chat_f16", "gemma_tiny:chat_int4",
                                     "qwen_tiny:chat"], run.output

    sizes = {}
    for model, variant in [("gemma_tiny", "chat"), ("gemma_tiny", "chat_f16"), ("gemma_tiny", "chat_int4"),
                           ("qwen_tiny", "chat")]:
        meta = manifest_of(folder, model, variant)
        tflite = artifact(folder, model, variant)[0]
        package = tflite.with_suffix(".litertlm")
        sizes[variant if model == "gemma_tiny" else model] = tflite.stat().st_size
        assert meta["verification"]["status"] == "passed"
        assert meta["flex_ops"] == [] and meta["runtime"] == "builtin"
        assert hashlib.sha256(package.read_bytes()).hexdigest() == meta["litertlm"]["sha256"]
        assert meta["litertlm"]["engine"]["status"] == "verified", meta["litertlm"]["engine"]
        assert meta["llm"]["kv_cache"]["length"] == 64
        assert set(meta["signatures"]) == set(meta["llm"]["signatures"])
        decode = {t["name"]: t for t in meta["signatures"]["decode"]["inputs"]}
        assert decode["tokens"]["shape"] == [1, 1] and decode["tokens"]["dtype"] == "int32"
        assert decode["kv_cache_k_0"]["shape"][2] == 64  # the sequence axis LiteRT-LM reads
        outputs = {t["name"] for t in meta["signatures"]["decode"]["outputs"]}
        assert outputs == {"logits"} | {n for n in decode if n.startswith("kv_cache_")}
        if variant != "chat_int4":  # float weights: KerasHub's greedy tokens exactly
            assert meta["verification"]["token_agreement"] == 1.0
            assert meta["verification"]["litert_tokens"] == meta["verification"]["keras_tokens"]
            assert len(set(meta["verification"]["keras_tokens"])) > 3  # not one repeated token
    chat = manifest_of(folder, "gemma_tiny", "chat")
    assert chat["llm"]["signatures"] == ["decode", "prefill_8", "prefill_32"]
    spm = folder / "presets/gemma_tiny/assets/tokenizer/vocabulary.spm"
    assert chat["llm"]["tokenizer"] == {"kind": "sentencepiece",
                                        "sha256": hashlib.sha256(spm.read_bytes()).hexdigest()}
    assert manifest_of(folder, "qwen_tiny", "chat")["llm"]["tokenizer"]["kind"] == "hf"
    assert manifest_of(folder, "gemma_tiny", "chat_f16")["llm"]["signatures"] == ["decode", "prefill"]
    int4 = manifest_of(folder, "gemma_tiny", "chat_int4")
    assert 0.25 <= int4["verification"]["token_agreement"] < 1.0  # int4 changes some choices
    assert np.isfinite(int4["verification"]["max_abs_logit_error"])
    assert int4["verification"]["min_token_agreement"] == 0.25
    assert int4["quantization"]["ai_edge_quantizer"]["fraction"] > 0.5
    assert sizes["chat_f16"] < sizes["chat"] and sizes["chat_int4"] < sizes["chat_f16"]


def test_the_artifact_runs_in_the_stock_interpreter_and_the_package_in_litert_lm(project):
    """Independently of the worker: the .tflite generates KerasHub's recorded tokens through its
    signatures, and LiteRT-LM's engine loads the .litertlm and generates the recorded text."""
    from ai_edge_litert.interpreter import Interpreter

    from litert_build.export.llm.litertlm import run_engine

    folder, _ = project
    meta = manifest_of(folder, "gemma_tiny", "chat")
    tflite = artifact(folder, "gemma_tiny", "chat")[0]
    interpreter = Interpreter(model_path=str(tflite))
    runners = {k: interpreter.get_signature_runner(k) for k in interpreter.get_signature_list()}
    shape = [1, meta["llm"]["kv_cache"]["kv_heads"], 64, meta["llm"]["kv_cache"]["head_dim"]]
    cache = {n: np.zeros(shape, np.float32) for n in runners["decode"].get_input_details()
             if n.startswith("kv_cache_")}
    prompt, expected = meta["verification"]["prompt"], meta["verification"]["keras_tokens"]

    def run(key, tokens, start):
        nonlocal cache
        out = runners[key](tokens=np.asarray([tokens], np.int32),
                           input_pos=np.arange(start, start + len(tokens), dtype=np.int32), **cache)
        cache = {n: np.array(out[n]) for n in cache}
        return out

    head = prompt[:-1]
    run("prefill_32", head + [0] * (32 - len(head)), 0)
    token, got = prompt[-1], []
    for position in range(len(prompt) - 1, len(prompt) - 1 + len(expected)):
        token = int(np.argmax(run("decode", [token], position)["logits"][0, -1]))
        got.append(token)
    assert got == expected
    engine = meta["litertlm"]["engine"]
    text = run_engine(tflite.with_suffix(".litertlm"), engine["prompt"], len(expected), 64)
    assert text == engine["text"]


def test_second_build_converts_nothing_and_bundles_carry_the_litertlm(project):
    folder, _ = project
    again = run_build(folder, "-n", "2")
    assert again.converted == [] and "convert:gemma_tiny:chat" in again.up_to_date, again.output
    assert run_build(folder, "bundle:phone").returncode == 0
    archive = folder / "artifacts/bundles/phone-1.0.tar.gz"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        index = json.load(tar.extractfile(next(n for n in names if n.endswith("index.json"))))
    assert any(n.endswith("gemma_tiny.chat.litertlm") for n in names), names
    assert any(n.endswith("gemma_tiny.chat.tflite") for n in names)
    assert index

    tflite, manifest = artifact(folder, "gemma_tiny", "chat")
    package = tflite.with_suffix(".litertlm")
    package.unlink()  # the .litertlm is one of the build's files: missing, it is restored
    typo = run_build(folder, "gemma_tiny:chat")  # the task name without its prefix: a clear error
    assert typo.returncode == 2 and "Did you mean convert:gemma_tiny:chat?" in typo.output, typo.output
    assert "internal error" not in typo.output
    restored = run_build(folder, "convert:gemma_tiny:chat")
    assert restored.converted == [] and restored.restored == ["gemma_tiny:chat"], restored.output
    recorded = json.loads(manifest.read_text())["litertlm"]["sha256"]
    assert hashlib.sha256(package.read_bytes()).hexdigest() == recorded
