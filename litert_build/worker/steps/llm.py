"""The steps of a ``kind: llm`` variant (:func:`litert_build.worker.main.build_llm`): the CausalLM's
tokenizer and a seeded prompt ▸ KerasHub's greedy generation from it (the reference) ▸ the
prefill/decode conversion (float32 or float16 weights, or float32 then an ai-edge-quantizer
recipe) ▸ its ops checked ▸ greedy generation in the stock interpreter against the reference ▸
the ``.litertlm`` package, run by LiteRT-LM's engine ▸ the manifest ▸ written atomically.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from litert_build.errors import ConversionError, VerificationError
from litert_build.worker.job import Job
from litert_build.worker.runner import step

ENGINE = "litert-lm-api"


@dataclass
class LlmSource:
    """``prepare``: the model, its family, cache, tokenizer, the prompt and KerasHub's answer."""

    lm: Any
    family: str
    shape: Any  # export.llm.kv_cache.CacheShape
    tokenizer: Any  # export.llm.tokenizer.LlmTokenizer
    keras_tokenizer: Any  # the KerasHub tokenizer it was made from
    prompt_text: str
    prompt: list[int]
    reference: Any  # export.llm.generate.Generation


@dataclass
class LlmArtifact:
    """``convert``: the flatbuffer, its float32 size, the quantizer's record (a recipe)."""

    flatbuffer: bytes
    float32_size: int
    aeq: dict[str, Any] | None = None


def _preset_dir(job: Job) -> Path | None:
    return job.root / job.source["path"] if job.source.get("kind") == "preset" else None


@step("reading the tokenizer and generating with KerasHub")
def prepare(job: Job, lm: Any) -> LlmSource:
    """The tokenizer (from the preset's assets through KerasHub), a seeded prompt as text and as
    ids (what LiteRT-LM's engine makes of the text: BOS, then the text's tokens), and KerasHub's
    greedy continuation of it."""
    from litert_build.export.llm import kv_cache
    from litert_build.export.llm.generate import keras_greedy
    from litert_build.export.llm.tokenizer import llm_tokenizer

    family = kv_cache.family(lm)
    shape = kv_cache.cache_shape(lm, job.settings.kv_cache)
    verify = job.settings.verify
    keras_tok = getattr(getattr(lm, "preprocessor", None), "tokenizer", None)
    if keras_tok is None:
        raise ConversionError(
            "kind 'llm' packages the model with its tokenizer, and this model has none: load it "
            "from a KerasHub preset saved with its preprocessor (save_to_preset), or give the "
            "CausalLM a preprocessor in the builder.")
    tokenizer = llm_tokenizer(keras_tok, _preset_dir(job))
    vocab = int(lm.backbone.vocabulary_size)
    text, prompt = seeded_prompt(keras_tok, tokenizer, vocab, verify.prompt_tokens, verify.seed)
    if len(prompt) + verify.tokens > shape.length:
        raise ConversionError(
            f"the verification prompt ({len(prompt)} tokens) and verify.tokens ({verify.tokens}) do "
            f"not fit kv_cache {shape.length}: lower verify.tokens or verify.prompt_tokens.")
    lm.preprocessor = None  # generation and tracing take token ids
    reference = keras_greedy(lm, prompt, verify.tokens)
    return LlmSource(lm, family, shape, tokenizer, keras_tok, text, prompt, reference)


def seeded_prompt(keras_tok: Any, tokenizer: Any, vocab: int, count: int, seed: int) -> tuple[str, list[int]]:
    """``count`` seeded ordinary tokens (printable text, no special or unknown token) as text, and
    that text's ids as the engine makes them (the start token, then the text tokenized)."""
    special = set(tokenizer.stop_token_ids) | {tokenizer.start_token_id}
    special |= {int(i) for i in getattr(keras_tok, "special_token_ids", []) or []}
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for candidate in rng.permutation(vocab)[: 50 * count]:
        if int(candidate) in special:
            continue
        piece = str(keras_tok.detokenize(np.asarray([candidate], np.int32)))
        marker = piece.strip().startswith("<") and piece.strip().endswith(">")
        if piece.strip() and piece.isprintable() and not marker and not set(piece) & {"\u2047", "\ufffd"}:
            chosen.append(int(candidate))
            if len(chosen) == count:
                break
    text = str(keras_tok.detokenize(np.asarray(chosen, np.int32)))
    ids = [int(i) for i in np.asarray(keras_tok.tokenize(text)).reshape(-1)]
    start = [tokenizer.start_token_id] if tokenizer.start_token_id is not None else []
    if not ids:
        raise ConversionError("no seeded verification prompt: the tokenizer's vocabulary has no "
                              "printable ordinary tokens")
    return text, start + ids


@step("converting the prefill/decode signatures")
def convert(job: Job, source: LlmSource) -> LlmArtifact:
    from litert_build.export.llm import kv_cache

    settings = job.settings
    options = settings.converter_options.to_json()
    float16 = settings.weight_dtype == "float16"
    flatbuffer = kv_cache.convert(source.lm, settings.prefill, source.shape, float16, options)
    float32_size = len(flatbuffer) + (kv_cache.float16_weight_bytes(flatbuffer) if float16 else 0)
    if not settings.recipe:
        return LlmArtifact(flatbuffer, float32_size)
    return quantize(job, flatbuffer)


@step("quantizing with ai-edge-quantizer")
def quantize(job: Job, float32: bytes) -> LlmArtifact:
    from litert_build.export.aeq import quantize as apply_recipe
    from litert_build.export.aeq import quantized_weights

    recipe = job.settings.recipe
    quantized = apply_recipe(float32, recipe, job.root, None, "decode")
    return LlmArtifact(quantized, len(float32), {"recipe": recipe, **quantized_weights(float32, quantized)})


@step("checking the artifact's ops")
def check_ops(job: Job, artifact: LlmArtifact):
    from litert_build.export.inventory import op_inventory

    inventory = op_inventory(artifact.flatbuffer)
    if inventory.custom and not job.settings.converter_options.allow_custom_ops:
        raise ConversionError(f"the prefill/decode graph needs custom ops {sorted(inventory.custom)}.")
    if inventory.flex:
        raise ConversionError(
            f"the prefill/decode graph needs Select TF (Flex) ops, which LiteRT-LM cannot run: "
            f"{', '.join(sorted(inventory.flex))}.")
    return inventory


@step("verifying greedy generation against KerasHub")
def verify(job: Job, source: LlmSource, artifact: LlmArtifact) -> tuple[dict[str, Any], list[int]]:
    """(the manifest's ``verification``, the artifact's own greedy tokens). The artifact is fed
    KerasHub's greedy sequence step by step; the share of steps whose argmax is KerasHub's token is
    the token agreement (1.0 exactly when its own greedy generation is the same). A non-finite
    logit fails."""
    from litert_build.export.llm.generate import InterpreterGenerator
    from litert_build.worker.verify import STOCK_RUNTIME

    gate = job.settings.verify
    generator = InterpreterGenerator(artifact.flatbuffer, source.shape)
    reference = source.reference
    forced = generator.forced(source.prompt, reference.tokens)
    own = generator.generate(source.prompt, len(reference.tokens))
    agree = sum(a == b for a, b in zip(forced.tokens, reference.tokens, strict=True)) / len(reference.tokens)
    error = np.abs(forced.logits.astype(np.float64) - reference.logits)
    finite = bool(np.isfinite(forced.logits).all() and np.isfinite(own.logits).all())
    record = {
        "status": "passed", "metric": "tokens", "runtime": STOCK_RUNTIME,
        "prompt": source.prompt, "tokens": len(reference.tokens),
        "keras_tokens": reference.tokens, "litert_tokens": own.tokens,
        "token_agreement": round(agree, 4), "min_token_agreement": gate.min_token_agreement,
        "max_abs_logit_error": float(error.max()) if finite else math.inf,
        "mean_abs_logit_error": float(error.mean()) if finite else math.inf,
        "max_abs_keras_logit": float(np.abs(reference.logits).max()),
        "seed": gate.seed,
    }
    # The build report and bundle index read the error per output.
    record["outputs"] = {"logits": {"max_abs_error": record["max_abs_logit_error"],
                                    "mean_abs_error": record["mean_abs_logit_error"]}}
    problem = None
    if not finite:
        problem = "the artifact's logits are not finite"
    elif agree < gate.min_token_agreement:
        problem = (f"it agrees with KerasHub's greedy tokens on {agree:.0%} of {len(reference.tokens)} "
                   f"steps, below min_token_agreement {gate.min_token_agreement} (KerasHub "
                   f"{reference.tokens}, the artifact {own.tokens}; max logit error "
                   f"{record['max_abs_logit_error']:.3g})")
    if problem:
        raise VerificationError(f"greedy generation does not match KerasHub: {problem}.")
    return record, own.tokens


@step("packaging and running the .litertlm")
def package(job: Job, source: LlmSource, artifact: LlmArtifact, own_tokens: list[int],
            folder: Path) -> tuple[Path, dict[str, Any]]:
    """The ``.litertlm`` in ``folder`` (the model, tokenizer and LlmMetadata) and its record, with
    what LiteRT-LM's engine generated on CPU from the verification prompt: ``verified`` when its
    text is the detokenized greedy tokens of the interpreter, ``unverified`` with why when the
    engine cannot load or run it. Different text fails the variant."""
    from litert_build.export.llm.litertlm import build_litertlm, run_engine
    from litert_build.versions import llm_versions

    tflite = folder / job.tflite.name
    tflite.write_bytes(artifact.flatbuffer)
    out = folder / litertlm_name(job)
    model_type = "gemma3" if source.family == "Gemma3CausalLM" else "generic"
    record = build_litertlm(tflite, out, source.tokenizer, source.shape.length, model_type)
    tflite.unlink()
    expected_tokens = _until_stop(own_tokens, source.tokenizer.stop_token_ids)
    expected = str(source.keras_tokenizer.detokenize(np.asarray(expected_tokens, np.int32))) \
        if expected_tokens else ""
    engine = {"runtime": f"{ENGINE} {llm_versions().get(ENGINE, '?')}", "backend": "cpu",
              "prompt": source.prompt_text, "expected_text": expected}
    try:
        text = run_engine(out, source.prompt_text, len(own_tokens), source.shape.length)
    except Exception as exc:  # noqa: BLE001 - the artifact passed; the package is unverified
        engine.update(status="unverified", reason=f"{type(exc).__name__}: {str(exc).strip()[:500]}")
    else:
        engine.update(text=text, status="verified" if _same_text(text, expected) else "failed")
        if engine["status"] == "failed":
            raise VerificationError(
                f"LiteRT-LM's engine generated {text!r} from the .litertlm where the stock interpreter's "
                f"greedy tokens read {expected!r}: the package does not run as the artifact does.")
    record["engine"] = engine
    return out, record


def _until_stop(tokens: list[int], stops: list[int]) -> list[int]:
    for i, token in enumerate(tokens):
        if token in stops:
            return tokens[:i]
    return tokens


def _same_text(text: str, expected: str) -> bool:
    """The engine streams its text; a leading space of the first piece may be kept or dropped."""
    return text == expected or text.strip() == expected.strip()


def litertlm_name(job: Job) -> str:
    from litert_build.plan.layout import litertlm_path

    return litertlm_path(job.tflite).name


@step("describing the artifact")
def describe(job: Job, loaded, source: LlmSource, artifact: LlmArtifact, inventory,
             verification: dict[str, Any], litertlm: dict[str, Any]) -> dict[str, Any]:
    from litert_build.export.inventory import signatures
    from litert_build.export.llm.kv_cache import signature_names
    from litert_build.versions import llm_versions
    from litert_build.worker.steps.describe import common_manifest

    settings = job.settings
    manifest = common_manifest(job, artifact.flatbuffer, inventory, verification, loaded.weights_sha256)
    manifest["tools"] = {**manifest["tools"], **llm_versions()}
    manifest.update({
        "quantization": {
            "kind": "llm", "weight_dtype": "int" if settings.recipe else settings.weight_dtype,
            "float32_size": artifact.float32_size,
            "size_ratio_vs_float32": round(len(artifact.flatbuffer) / artifact.float32_size, 4),
            **({"ai_edge_quantizer": artifact.aeq} if artifact.aeq else {}),
        },
        "runtime": "builtin",
        "signatures": signatures(artifact.flatbuffer, ["tokens", "input_pos", *source.shape.names()],
                                 ["logits", *source.shape.names()]),
        "llm": {
            "family": source.family,
            "signatures": signature_names(settings.prefill),
            "prefill": sorted(settings.prefill),
            "kv_cache": source.shape.to_json(),
            "tokenizer": {"kind": source.tokenizer.kind, "sha256": source.tokenizer.sha256},
            "start_token_id": source.tokenizer.start_token_id,
            "stop_token_ids": source.tokenizer.stop_token_ids,
            "chat_template": source.tokenizer.chat_template is not None,
        },
        "litertlm": litertlm,
        "eval": None,
        "kerashub": {"task": type(source.lm).__name__},
    })
    return manifest


@step("writing the artifact")
def write(job: Job, flatbuffer: bytes, litertlm: Path, manifest: dict[str, Any]) -> None:
    """The .tflite, the .litertlm, then the manifest (last: it marks the build complete), each
    atomically; the old manifest and provenance go first."""
    from litert_build.plan.layout import litertlm_path, provenance_path
    from litert_build.store.files import atomic_write_bytes, atomic_writer, dumps_manifest, remove_quietly

    remove_quietly(job.manifest, provenance_path(job.tflite))
    atomic_write_bytes(job.tflite, flatbuffer)
    with atomic_writer(litertlm_path(job.tflite)) as out, open(litertlm, "rb") as packed:
        shutil.copyfileobj(packed, out)  # streamed: the model's bytes are in memory once already
    atomic_write_bytes(job.manifest, dumps_manifest(manifest))


def summary(manifest: dict[str, Any]) -> str:
    verification, package_record = manifest["verification"], manifest["litertlm"]
    engine = package_record["engine"]
    lines = [f"{manifest['artifact']['size']:,} bytes + {package_record['size']:,}-byte .litertlm",
             f"greedy tokens {verification['token_agreement']:.0%} KerasHub's ({verification['tokens']} "
             f"tokens, max logit error {verification['max_abs_logit_error']:.2g})"]
    lines.append("LiteRT-LM generated the same text" if engine["status"] == "verified"
                 else f".litertlm unverified: {engine.get('reason')}")
    return ", ".join(lines)


def build(job: Job) -> str:
    """One llm variant, every step; its one-line summary."""
    from litert_build.worker.steps.load import load

    loaded = load(job)
    source = prepare(job, loaded.model)
    artifact = convert(job, source)
    inventory = check_ops(job, artifact)
    verification, own = verify(job, source, artifact)
    with tempfile.TemporaryDirectory(prefix="litert-build-litertlm-") as folder:
        path, record = package(job, source, artifact, own, Path(folder))  # file, size, sha256, ...
        manifest = describe(job, loaded, source, artifact, inventory, verification, record)
        write(job, artifact.flatbuffer, path, manifest)
    return summary(manifest)
