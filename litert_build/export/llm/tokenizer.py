"""The tokenizer of a KerasHub CausalLM as the tokenizer section of a ``.litertlm`` file.

LiteRT-LM tokenizes prompts and detokenizes output itself, from a tokenizer stored in the file:
either a SentencePiece model proto or a Hugging Face ``tokenizer.json``. The ids it produces must be
the ids the exported model was trained on, so the tokenizer is taken from the KerasHub tokenizer
object that the model was loaded with, not looked up by name:

* ``SentencePieceTokenizer`` subclasses (Gemma, Gemma 3, Llama 2, Mistral) carry the serialized
  proto; it is stored as it is.
* ``BytePairTokenizer`` subclasses (Qwen, Qwen 3, Llama 3, GPT-2) carry a byte-level BPE vocabulary
  and merges. They are written as a ``tokenizer.json`` built the way KerasHub's own eager
  (``tokenizers``-backed) path builds its tokenizer, and the result is checked to encode a few
  probe strings to the same ids as KerasHub before it is used.

The LlmMetadata section also needs the start (BOS) and stop token ids and, for the Conversation API,
a Jinja chat template; they are gathered here too so the caller has one object to pack.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litert_build.errors import ConversionError

SUPPORTED_TOKENIZERS = (
    "SentencePieceTokenizer subclasses (GemmaTokenizer, Gemma3Tokenizer, LlamaTokenizer, MistralTokenizer)",
    "BytePairTokenizer subclasses (QwenTokenizer, Qwen3Tokenizer, Llama3Tokenizer, GPT2Tokenizer)",
)

# Tokens that end a turn or a text in the common chat formats. Each one present in the vocabulary
# is a stop token: an instruction-tuned model ends its answer with the end-of-turn token, not EOS,
# and without it as a stop token generation runs on into an invented next turn.
END_OF_TURN_TOKENS = (
    "<end_of_turn>",  # Gemma
    "<|im_end|>",  # ChatML (Qwen)
    "<|eot_id|>",  # Llama 3
    "<|end_of_text|>",  # Llama 3 base
    "<|endoftext|>",  # GPT-2, Qwen
    "<|end|>",  # Phi 3
    "<turn|>",  # Gemma 4
)

# KerasHub's eager BytePairTokenizer splits text with this regex (Llama 3's) before the byte-level
# BPE; keras_hub/src/tokenizers/byte_pair_tokenizer.py SPLIT_PATTERN_TOKENIZERS. It is read from
# KerasHub when it is there, so the two cannot drift apart; this copy is the fallback.
_SPLIT_PATTERN_FALLBACK = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)

# Strings the byte-level tokenizer.json must encode exactly as KerasHub does: words with and without
# leading spaces, digits, punctuation, newlines, non-ASCII and an emoji (byte fallback).
_PROBES = (
    "Hello world",
    " The quick brown fox jumps over the lazy dog.",
    "It's 2024: 12345 apples, don't they?\n\nNew  lines\tand tabs",
    "naïve café — 東京 😀",
)

# The text of one message: a string, or (as LiteRT-LM's Conversation API may pass it) a list of
# {"type": "text", "text": ...} parts.
_CONTENT = (
    "{%- if message['content'] is string -%}{%- set content = message['content'] -%}"
    "{%- else -%}{%- set content = namespace(text='') -%}"
    "{%- for item in message['content'] -%}{%- if item['type'] == 'text' -%}"
    "{%- set content.text = content.text + item['text'] -%}{%- endif -%}{%- endfor -%}"
    "{%- set content = content.text -%}{%- endif -%}"
)

# Gemma's format (the shape of the Gemma 3 template on Hugging Face): assistant is called "model",
# there is no system role (a system message is prepended to the first user turn), content trimmed.
GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set message = messages[0] -%}" + _CONTENT + "{%- set first_user_prefix = content + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    + _CONTENT
    + "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{{ content | trim }}{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)

# ChatML (Qwen 2/2.5/3): <|im_start|>role\ncontent<|im_end|>\n, no BOS.
CHATML_TEMPLATE = (
    "{%- for message in messages -%}"
    + _CONTENT
    + "{{ '<|im_start|>' + message['role'] + '\n' + content + '<|im_end|>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}"
)

# Llama 3: headers around the role, <|eot_id|> after each turn, content trimmed.
LLAMA3_TEMPLATE = (
    "{{ bos_token }}"
    "{%- for message in messages -%}"
    + _CONTENT
    + "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"
    "{{ content | trim }}{{ '<|eot_id|>' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif -%}"
)


@dataclass(frozen=True)
class LlmTokenizer:
    """A tokenizer ready to be packed into a ``.litertlm``, with the token ids LlmMetadata needs."""

    kind: str  # "sentencepiece" or "hf"
    data: bytes  # SentencePiece model proto bytes, or an HF tokenizer.json (utf-8)
    file_name: str  # "tokenizer.model" or "tokenizer.json"
    start_token_id: int | None  # BOS, None if the tokenizer has none
    stop_token_ids: list[int]  # EOS and end-of-turn tokens in the vocabulary, sorted, unique
    chat_template: str | None  # Jinja chat template, None when none is known
    sha256: str  # of data


def llm_tokenizer(tokenizer: Any, preset_dir: Path | None = None) -> LlmTokenizer:
    """The LiteRT-LM tokenizer section for a KerasHub tokenizer.

    ``preset_dir`` (the preset's local folder, if known) is searched for a chat template that ships
    with the checkpoint; without one a built-in template is picked from the special tokens.
    """
    from keras_hub.tokenizers import BytePairTokenizer, SentencePieceTokenizer

    if isinstance(tokenizer, SentencePieceTokenizer):
        kind, data, file_name = "sentencepiece", _sentencepiece_proto(tokenizer), "tokenizer.model"
    elif isinstance(tokenizer, BytePairTokenizer):
        kind, data, file_name = "hf", _byte_level_tokenizer_json(tokenizer), "tokenizer.json"
    else:
        raise ConversionError(
            f"The tokenizer {type(tokenizer).__name__} cannot be packed into a .litertlm: LiteRT-LM "
            f"reads SentencePiece or Hugging Face tokenizers, and these KerasHub tokenizers convert to "
            f"them: {'; '.join(SUPPORTED_TOKENIZERS)}."
        )
    vocab = _vocabulary(tokenizer)
    return LlmTokenizer(
        kind=kind,
        data=data,
        file_name=file_name,
        start_token_id=_start_token_id(tokenizer),
        stop_token_ids=_stop_token_ids(tokenizer, vocab),
        chat_template=_chat_template(preset_dir, vocab),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _sentencepiece_proto(tokenizer: Any) -> bytes:
    """The serialized SentencePiece model: KerasHub keeps the bytes in ``proto`` once it is set
    (a path is read in ``set_proto``), but accept a path in case that changes."""
    proto = getattr(tokenizer, "proto", None)
    if isinstance(proto, bytes) and proto:
        return proto
    if isinstance(proto, str) and Path(proto).is_file():
        return Path(proto).read_bytes()
    raise ConversionError(
        f"{type(tokenizer).__name__} has no SentencePiece proto (proto={type(proto).__name__}): load the "
        "tokenizer from a preset or pass proto= so its model can be written into the .litertlm."
    )


def _vocabulary(tokenizer: Any) -> dict[str, int]:
    """Token -> id for the whole vocabulary. SentencePiece ``token_to_id`` maps unknown tokens to
    <unk>, so membership must be decided from the vocabulary itself."""
    vocabulary = getattr(tokenizer, "vocabulary", None)
    if isinstance(vocabulary, dict):
        return {str(k): int(v) for k, v in vocabulary.items()}
    return {str(token): i for i, token in enumerate(tokenizer.get_vocabulary())}


def _start_token_id(tokenizer: Any) -> int | None:
    value = getattr(tokenizer, "start_token_id", None)
    return None if value is None else int(value)


def _stop_token_ids(tokenizer: Any, vocab: dict[str, int]) -> list[int]:
    """EOS (every ``end_token*`` special token KerasHub declares, e.g. Llama 3's ``end_token2``
    <|eot_id|>) plus each known end-of-turn token in the vocabulary."""
    ids: set[int] = set()
    for attr in getattr(tokenizer, "_special_token_attrs", []) or []:
        if attr.startswith("end_token"):
            value = getattr(tokenizer, f"{attr}_id", None)
            if value is not None:
                ids.add(int(value))
    end_token_id = getattr(tokenizer, "end_token_id", None)
    if end_token_id is not None:
        ids.add(int(end_token_id))
    ids.update(vocab[token] for token in END_OF_TURN_TOKENS if token in vocab)
    return sorted(ids)


def _chat_template(preset_dir: Path | None, vocab: dict[str, int]) -> str | None:
    """The checkpoint's own template when the preset ships one, else a built-in one for the chat
    format its special tokens reveal, else None (a base model with no chat format)."""
    if preset_dir is not None:
        preset_dir = Path(preset_dir)
        jinja = preset_dir / "chat_template.jinja"
        if jinja.is_file():
            return jinja.read_text(encoding="utf-8")
        for name in ("tokenizer_config.json", "tokenizer.json"):
            path = preset_dir / name
            if not path.is_file():
                continue
            try:
                config = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            template = config.get("chat_template") if isinstance(config, dict) else None
            if isinstance(template, str) and template:
                return template
    if "<start_of_turn>" in vocab and "<end_of_turn>" in vocab:
        return GEMMA_TEMPLATE
    if "<|im_start|>" in vocab and "<|im_end|>" in vocab:
        return CHATML_TEMPLATE
    if "<|start_header_id|>" in vocab and "<|end_header_id|>" in vocab and "<|eot_id|>" in vocab:
        return LLAMA3_TEMPLATE
    return None


def _byte_level_tokenizer_json(tokenizer: Any) -> bytes:
    """A Hugging Face tokenizer.json equivalent to a KerasHub byte-level BPE tokenizer.

    It is built as KerasHub's eager path builds its own ``tokenizers.Tokenizer`` (BPE model from the
    vocabulary and merges, Llama 3 regex split then ByteLevel without its own regex, ByteLevel
    decoder, the unsplittable tokens as special tokens), with no post-processor: LiteRT-LM adds the
    start token itself. The result is checked against KerasHub on probe strings, because a silent
    tokenization difference would only show as worse generations.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    try:
        from keras_hub.src.tokenizers.byte_pair_tokenizer import SPLIT_PATTERN_TOKENIZERS as split_pattern
    except ImportError:  # moved or renamed in a later KerasHub; the probes below still guard it
        split_pattern = _SPLIT_PATTERN_FALLBACK

    vocab = _vocabulary(tokenizer)
    merges: list[tuple[str, str]] = []
    for merge in tokenizer.merges or []:
        if "#version:" in merge.lstrip():
            continue
        a, b = str(merge).split(" ")
        merges.append((a, b))
    hf = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    special = sorted(set(getattr(tokenizer, "unsplittable_tokens", None) or tokenizer.special_tokens or []))
    missing = [token for token in special if token not in vocab]
    if missing:
        raise ConversionError(
            f"{type(tokenizer).__name__}: special tokens {missing} are not in the vocabulary."
        )
    # Already in the vocabulary, so each keeps its id; special=True makes them unsplittable and lets
    # decoding skip them on request, as in the checkpoints' own tokenizer.json files.
    hf.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in special])
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(pattern=split_pattern, behavior="isolated"),
            pre_tokenizers.ByteLevel(
                add_prefix_space=bool(getattr(tokenizer, "add_prefix_space", False)), use_regex=False
            ),
        ]
    )
    hf.decoder = decoders.ByteLevel()
    _check_same_ids(tokenizer, hf, special)
    # to_str is deterministic for identical inputs (the vocabulary is written in id order), which keeps
    # the .litertlm byte-reproducible.
    return hf.to_str(pretty=False).encode("utf-8")


def _check_same_ids(tokenizer: Any, hf: Any, special: list[str]) -> None:
    """Fail the conversion when the tokenizer.json and KerasHub disagree on any probe string."""
    import numpy as np

    probes = list(_PROBES) + [f"{token}Hi there{token}" for token in special[:4]]
    for text in probes:
        expected = [int(i) for i in np.asarray(tokenizer.tokenize(text)).reshape(-1)]
        got = hf.encode(text, add_special_tokens=False).ids
        if got != expected:
            raise ConversionError(
                f"The tokenizer.json built from {type(tokenizer).__name__} encodes {text!r} as {got}, "
                f"KerasHub as {expected}: the .litertlm would tokenize prompts differently from the model."
            )
        decoded = hf.decode(got, skip_special_tokens=False)
        if decoded != text:
            raise ConversionError(
                f"The tokenizer.json built from {type(tokenizer).__name__} does not round-trip {text!r} "
                f"(decodes to {decoded!r})."
            )
