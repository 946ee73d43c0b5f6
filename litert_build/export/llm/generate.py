"""Greedy generation through the prefill/decode signatures in the stock LiteRT interpreter, as
LiteRT-LM runs them, and KerasHub's own greedy generation to check it against.

The runtime convention: the prompt but its last token is prefilled in chunks (each chunk the
shortest prefill length that holds the rest of the prompt, else the longest; right-padded with
zeros); the last prompt token is the first ``decode`` step's input. Chunk padding writes junk into
cache slots past the prompt; the causal mask hides them and decode overwrites each slot before
any query can see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from litert_build.errors import ConversionError
from litert_build.export.llm.kv_cache import CacheShape


@dataclass
class Generation:
    """Tokens generated from a prompt, with the logits each was chosen from."""

    tokens: list[int]
    logits: np.ndarray  # [len(tokens), vocab]


class InterpreterGenerator:
    """The artifact's signatures in ``ai_edge_litert``'s interpreter (XNNPACK, ``threads``)."""

    def __init__(self, flatbuffer: bytes, shape: CacheShape, threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
        signatures = self.interpreter.get_signature_list()
        keys = list(signatures)
        self.runners = {key: self.interpreter.get_signature_runner(key) for key in keys}
        self.prefill_lengths = {}
        for key in keys:
            if key.startswith("prefill"):
                if "input_pos" not in signatures[key]["inputs"]:
                    raise ConversionError(f"signature {key} has no input_pos input")
                details = self.runners[key].get_input_details()["input_pos"]
                self.prefill_lengths[int(details["shape"][0])] = key
        if "decode" not in self.runners or not self.prefill_lengths:
            raise ConversionError(f"the artifact's signatures are {sorted(keys)}: it needs 'decode' "
                                  "and at least one 'prefill*'")
        self.shape = shape
        self.reset()

    def reset(self) -> None:
        self.cache = {name: np.zeros(self.shape.tensor_shape(), np.float32) for name in self.shape.names()}

    def _run(self, key: str, tokens: list[int], positions: list[int]) -> dict[str, Any]:
        out = self.runners[key](tokens=np.asarray(tokens, np.int32).reshape(1, -1),
                                input_pos=np.asarray(positions, np.int32), **self.cache)
        self.cache = {name: np.array(out[name]) for name in self.cache}  # outputs alias buffers
        return out

    def chunks(self, count: int) -> list[tuple[int, int]]:
        """(start, prefill length) per chunk of the first ``count`` prompt tokens; a chunk never
        runs past the cache (the runtime's update would be clamped back over earlier slots)."""
        lengths, plan, start = sorted(self.prefill_lengths), [], 0
        while start < count:
            rest, room = count - start, self.shape.length - start
            fitting = [n for n in lengths if n <= room]
            if not fitting:
                raise ConversionError(
                    f"a {count + 1}-token prompt does not fit kv_cache {self.shape.length} in chunks "
                    f"of {lengths}")
            length = next((n for n in fitting if n >= rest), fitting[-1])
            plan.append((start, length))
            start += min(length, rest)
        return plan

    def prefill(self, prompt: list[int]) -> None:
        """Prefill every prompt token but the last, in chunks."""
        head = list(prompt[:-1])
        for start, length in self.chunks(len(head)):
            chunk = head[start:start + length]
            self._run(self.prefill_lengths[length], chunk + [0] * (length - len(chunk)),
                      list(range(start, start + length)))

    def decode(self, token: int, position: int) -> np.ndarray:
        if position >= self.shape.length:
            raise ConversionError(f"position {position} is past kv_cache {self.shape.length}")
        return np.array(self._run("decode", [token], [position])["logits"])[0, -1]

    def generate(self, prompt: list[int], count: int) -> Generation:
        """Greedy: each token the argmax of the previous step's logits."""
        self.reset()
        self.prefill(prompt)
        return self._steps(prompt, count, None)

    def forced(self, prompt: list[int], continuation: list[int]) -> Generation:
        """Each step fed ``continuation`` (teacher forcing); the tokens are the artifact's argmax
        at each step: equal to ``continuation`` exactly when greedy generation would be."""
        self.reset()
        self.prefill(prompt)
        return self._steps(prompt, len(continuation), continuation)

    def _steps(self, prompt: list[int], count: int, forced: list[int] | None) -> Generation:
        token, position, tokens, logits = prompt[-1], len(prompt) - 1, [], []
        for i in range(count):
            row = self.decode(token, position)
            logits.append(row)
            tokens.append(int(np.argmax(row)))
            token = forced[i] if forced is not None else tokens[-1]
            position += 1
        return Generation(tokens, np.stack(logits) if logits else np.zeros((0, 0), np.float32))


def keras_greedy(lm: Any, prompt: list[int], count: int) -> Generation:
    """KerasHub's greedy generation (its compiled generate function with a GreedySampler, no stop
    tokens) and its logits along the generated sequence (one forward pass)."""
    import keras_hub

    total = len(prompt) + count
    ids = np.zeros([1, total], np.int32)
    ids[0, : len(prompt)] = prompt
    mask = np.zeros([1, total], bool)
    mask[0, : len(prompt)] = True
    lm.sampler = keras_hub.samplers.GreedySampler()
    lm.generate_function = None
    # What generate() calls per batch; generate() itself also post-processes through the
    # preprocessor (Gemma 3 without images fails there).
    out = lm.make_generate_function()({"token_ids": ids, "padding_mask": mask}, stop_token_ids=None)
    sequence = np.asarray(out["token_ids"])[0].astype(np.int32)
    logits = np.asarray(lm({"token_ids": sequence[None], "padding_mask": np.ones([1, total], np.int32)}),
                        np.float32)[0]
    return Generation([int(t) for t in sequence[len(prompt):]], logits[len(prompt) - 1: total - 1])
