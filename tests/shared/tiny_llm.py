"""Tiny KerasHub CausalLM presets with real trained tokenizers, for tests and benchmarks.

`make_llm_preset(folder, family)` trains a small tokenizer on a fixed English corpus embedded here
(SentencePiece for gemma/gemma3/llama/mistral, byte-level BPE for qwen/qwen3/llama3), builds a
tiny `<Family>Backbone` + `<Family>CausalLM` with that tokenizer's preprocessor, re-draws every weight
from a seeded RNG (constructor init makes tiny LMs repeat one token; N(0, 0.5) weights make greedy
continuations varied) and saves a KerasHub preset folder. No network, deterministic for a given seed.

Nothing heavy is imported at module import time, so test collection stays cheap.

CLI: ``python tests/shared/tiny_llm.py FAMILY OUT_FOLDER [--seed N] [--layers N] [--hidden N] ...``
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

FAMILIES = ("gemma", "gemma3", "llama", "llama3", "mistral", "qwen", "qwen3")

SENTENCES = (
    "the quick brown fox jumps over the lazy dog.",
    "a small model can still write a long story about the sea.",
    "the cat sat on the mat and looked at the bird in the tree.",
    "she walked to the market to buy bread, milk and fresh fruit.",
    "the sun rises in the east and sets in the west every day.",
    "he opened the old wooden door and found a quiet garden.",
    "rain fell softly on the roof while the children were sleeping.",
    "the train leaves the station at nine in the morning.",
    "we read books, play games and drink hot tea in the winter.",
    "the river runs through the valley down to the blue sea.",
    "my brother likes to paint pictures of mountains and lakes.",
    "the teacher asked the students to write their names on the paper.",
    "a red bird sang a song from the top of the tall tree.",
    "the farmer grows corn, wheat and potatoes in his fields.",
    "they built a small house near the edge of the forest.",
    "the moon was bright and the stars were shining over the hills.",
    "please close the window because the wind is very cold.",
    "the doctor told him to rest and drink plenty of water.",
    "our dog runs fast across the park to catch the ball.",
    "the city is loud and busy, but the village is calm.",
    "she found an old letter hidden inside the brown box.",
    "the baker makes warm bread and sweet cakes before dawn.",
    "the ship sailed across the ocean for many long weeks.",
    "birds fly south when the weather turns cold in autumn.",
    "the quick girl solved the puzzle before anyone else.",
    "he plays the piano in the evening after dinner.",
    "the library is open from ten until six on most days.",
    "green leaves turn yellow and red when summer ends.",
    "the old man told us a story about a brave young knight.",
    "we will meet again at the bridge when the clock strikes noon.",
    "What is the capital of France? Paris is the capital of France.",
    "I have 3 apples and 2 oranges; that makes 5 pieces of fruit!",
)

_SENTENCEPIECE = {"gemma", "gemma3", "llama", "mistral"}
_DEFAULT_VOCAB = {"sentencepiece": 128, "bpe": 320}  # byte-level BPE: 256-byte alphabet + specials + merges

# Special tokens (in id order from 0) that each family's KerasHub tokenizer requires.
_BPE_SPECIALS = {
    "qwen": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "qwen3": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    "llama3": [
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
    ],
}

_CLASSES = {
    "gemma": "Gemma",
    "gemma3": "Gemma3",
    "llama": "Llama",
    "llama3": "Llama3",
    "mistral": "Mistral",
    "qwen": "Qwen",
    "qwen3": "Qwen3",
}


def sentencepiece_proto(family: str = "gemma", vocab: int | None = None) -> bytes:
    """A SentencePiece (BPE) model proto trained in memory on `SENTENCES`, with the special pieces
    the family's KerasHub tokenizer needs. Deterministic: single thread, no sampling/shuffling."""
    import sentencepiece as spm

    if family in ("gemma", "gemma3"):
        # Gemma layout: <pad>=0, <eos>=1, <bos>=2, <unk>=3.
        ids = dict(pad_id=0, eos_id=1, bos_id=2, unk_id=3)
        pieces = dict(pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>")
        user = ["<start_of_turn>", "<end_of_turn>"]
        if family == "gemma3":
            user += ["<img>", "<start_of_image>", "<end_of_image>"]
    elif family in ("llama", "mistral"):
        # Llama/Mistral layout: <unk>=0, <s>=1, </s>=2, no pad piece (KerasHub pads with id 0).
        ids = dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
        pieces = dict(unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>")
        user = []
    else:
        raise ValueError(f"{family!r} does not use a SentencePiece tokenizer")
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(SENTENCES),
        model_writer=out,
        vocab_size=vocab or _DEFAULT_VOCAB["sentencepiece"],
        model_type="bpe",
        character_coverage=1.0,
        normalization_rule_name="identity",  # no NFKC charsmap: keeps the proto ~240 kB smaller
        num_threads=1,
        shuffle_input_sentence=False,
        input_sentence_size=0,
        hard_vocab_limit=True,
        user_defined_symbols=user,
        minloglevel=2,
        **ids,
        **pieces,
    )
    return out.getvalue()


def bpe_vocabulary(family: str = "qwen", vocab: int | None = None) -> tuple[dict[str, int], list[str]]:
    """A byte-level BPE (`vocabulary`, `merges`) trained with `tokenizers` on `SENTENCES`. Like the
    real Qwen/Llama 3 vocabularies, the full 256-symbol byte alphabet (so any text tokenizes) and the
    merges come first and the family's special tokens are appended last; `vocab` counts them all."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    specials = _BPE_SPECIALS[family]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=(vocab or _DEFAULT_VOCAB["bpe"]),
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(SENTENCES), trainer=trainer)
    trained = sorted(tok.get_vocab(with_added_tokens=True).items(), key=lambda kv: kv[1])
    tokens = [t for t, _ in trained if t not in specials] + specials
    vocabulary = {t: i for i, t in enumerate(tokens)}
    # The merges are only exposed through the serialized model ("a b" strings or [a, b] pairs).
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    return vocabulary, merges


def make_tokenizer(family: str = "gemma", vocab: int | None = None):
    """The family's KerasHub tokenizer built on a freshly trained vocabulary."""
    import keras_hub

    cls = getattr(keras_hub.models, f"{_CLASSES[family]}Tokenizer")
    if family in _SENTENCEPIECE:
        return cls(proto=sentencepiece_proto(family, vocab))
    vocabulary, merges = bpe_vocabulary(family, vocab)
    return cls(vocabulary=vocabulary, merges=merges)


def _damp_unseen(lm, tokenizer, factor: float) -> None:
    """Scale the output-projection rows of tokens the corpus never produces (specials, unk, unused
    bytes) by `factor`: their logits shrink towards 0, so greedy continuations are mostly corpus
    tokens, rarely end-of-sequence, and decode to readable text."""
    import numpy as np

    seen = set()
    for sentence in SENTENCES:
        seen.update(int(i) for i in np.asarray(tokenizer(sentence)).reshape(-1))
    unseen = np.array([i for i in range(tokenizer.vocabulary_size()) if i not in seen])
    special = {getattr(tokenizer, a, None) for a in ("start_token_id", "end_token_id", "pad_token_id")}
    unseen = np.union1d(unseen, [i for i in special if i is not None and i >= 0]).astype(int)
    emb = lm.backbone.token_embedding
    reverse = getattr(emb, "reverse_embeddings", None) if not emb.tie_weights else None
    if reverse is None:
        table = emb.embeddings.numpy()
        table[unseen] *= factor
        emb.embeddings.assign(table)
    else:
        table = reverse.numpy()
        table[:, unseen] *= factor
        reverse.assign(table)


def _backbone(
    family: str,
    vocabulary_size: int,
    *,
    num_layers: int,
    hidden_dim: int,
    intermediate_dim: int,
    num_query_heads: int,
    num_key_value_heads: int,
    head_dim: int,
    sequence_length: int,
    sliding_window: int,
):
    import keras_hub

    cls = getattr(keras_hub.models, f"{_CLASSES[family]}Backbone")
    common = dict(
        vocabulary_size=vocabulary_size,
        num_layers=num_layers,
        num_query_heads=num_query_heads,
        num_key_value_heads=num_key_value_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim,
    )
    if family == "gemma":
        return cls(**common, head_dim=head_dim)
    if family == "gemma3":
        return cls(
            **common,
            head_dim=head_dim,
            image_size=None,
            vision_encoder=None,
            use_sliding_window_attention=True,
            sliding_window_size=sliding_window,
        )
    if family == "mistral":
        return cls(**common, sliding_window=sequence_length)
    if family == "qwen3":
        return cls(**common, head_dim=head_dim)
    return cls(**common)  # llama, llama3, qwen


def make_llm_preset(
    folder: str | Path,
    family: str = "gemma",
    *,
    seed: int = 0,
    num_layers: int = 2,
    hidden_dim: int = 32,
    intermediate_dim: int | None = None,
    num_query_heads: int = 2,
    num_key_value_heads: int = 1,
    head_dim: int | None = None,
    vocab: int | None = None,
    sequence_length: int = 64,
    sliding_window: int = 8,
    scale: float = 0.5,
    damp_unseen: float = 0.1,
) -> Path:
    """Save a tiny, randomly weighted `<Family>CausalLM` (with its real trained tokenizer and
    `<Family>CausalLMPreprocessor(sequence_length=...)`) as a KerasHub preset in `folder`.

    `vocab` is the tokenizer training target (default 128 for SentencePiece, 320 for byte-level
    BPE); the backbone's vocabulary_size is the trained tokenizer's actual size. `head_dim`
    defaults to hidden_dim // num_query_heads (used by gemma, gemma3, qwen3); `intermediate_dim`
    defaults to 2 * hidden_dim; `sliding_window` is gemma3's local attention window (mistral uses
    sequence_length). Every weight is re-drawn from N(0, scale) with `np.random.default_rng(seed)`.
    Then the output rows of tokens the corpus never yields (specials, unk, unused bytes) are
    scaled by `damp_unseen` (1.0: off) so greedy generation gives varied, readable, rarely-ending
    text. Returns the preset folder."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {FAMILIES}")
    import keras
    import keras_hub
    import numpy as np

    keras.utils.set_random_seed(seed)
    folder = Path(folder)
    name = _CLASSES[family]
    tokenizer = make_tokenizer(family, vocab)
    backbone = _backbone(
        family,
        tokenizer.vocabulary_size(),
        num_layers=num_layers,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim or 2 * hidden_dim,
        num_query_heads=num_query_heads,
        num_key_value_heads=num_key_value_heads,
        head_dim=head_dim or hidden_dim // num_query_heads,
        sequence_length=sequence_length,
        sliding_window=sliding_window,
    )
    preprocessor = getattr(keras_hub.models, f"{name}CausalLMPreprocessor")(
        tokenizer, sequence_length=sequence_length
    )
    lm = getattr(keras_hub.models, f"{name}CausalLM")(backbone=backbone, preprocessor=preprocessor)
    rng = np.random.default_rng(seed)
    for w in lm.weights:
        w.assign(rng.normal(0.0, scale, tuple(w.shape)).astype(w.dtype))
    if damp_unseen != 1.0:
        _damp_unseen(lm, tokenizer, damp_unseen)
    folder.mkdir(parents=True, exist_ok=True)
    lm.save_to_preset(str(folder))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=FAMILIES)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--intermediate", type=int, default=None)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--kv-heads", type=int, default=1)
    parser.add_argument("--head-dim", type=int, default=None)
    parser.add_argument("--vocab", type=int, default=None)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--sliding-window", type=int, default=8)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--damp-unseen", type=float, default=0.1)
    args = parser.parse_args(argv)
    out = make_llm_preset(
        args.folder,
        args.family,
        seed=args.seed,
        num_layers=args.layers,
        hidden_dim=args.hidden,
        intermediate_dim=args.intermediate,
        num_query_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        head_dim=args.head_dim,
        vocab=args.vocab,
        sequence_length=args.sequence_length,
        sliding_window=args.sliding_window,
        scale=args.scale,
        damp_unseen=args.damp_unseen,
    )
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
