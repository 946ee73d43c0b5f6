"""KerasHub runtime assets: what an app needs to feed the artifact, taken from the task's
preprocessor (which the artifact does not contain: it takes token ids and images)."""

from __future__ import annotations

from typing import Any

SEQUENCE_LENGTHS = ("sequence_length", "encoder_sequence_length", "decoder_sequence_length")
CONVERTERS = (("image_converter", "image_preprocessing"), ("audio_converter", "audio_preprocessing"))


def runtime_assets(preprocessor) -> tuple[dict[str, bytes], dict[str, Any]]:
    """What an app needs to feed the artifact: files to ship and a description of them.

    Files: the tokenizer's own assets (vocabulary, merges, SentencePiece proto) as the
    tokenizer saves them, plus ``tokenizer.json`` / ``preprocessor.json`` (the Keras
    configs, so keras_hub can rebuild them). Description: tokenizer class, and for image
    and audio models the converter settings (size, scale, offset, interpolation, ...).
    """
    files: dict[str, bytes] = {}
    record: dict[str, Any] = {}
    if preprocessor is None:
        return files, record
    files["preprocessor.json"] = _config_bytes(preprocessor)
    record["preprocessor"] = type(preprocessor).__name__
    for attr in SEQUENCE_LENGTHS:
        if getattr(preprocessor, attr, None):
            record[attr] = int(getattr(preprocessor, attr))
    tokenizer = getattr(preprocessor, "tokenizer", None)
    if tokenizer is not None:
        files["tokenizer.json"] = _config_bytes(tokenizer)
        files.update(_tokenizer_files(tokenizer))
        record["tokenizer"] = {
            "class": type(tokenizer).__name__,
            "vocabulary_size": _call(tokenizer, "vocabulary_size"),
            "files": sorted(k for k in files if k.startswith("tokenizer/")),
        }
    for attr, key in CONVERTERS:
        converter = getattr(preprocessor, attr, None)
        if converter is not None:
            record[key] = _converter_record(converter)
    return files, record


def _config_bytes(obj) -> bytes:
    """The Keras config of ``obj`` as deterministic JSON (sorted keys, 2-space indent)."""
    import json

    import keras

    return (json.dumps(_jsonable(keras.saving.serialize_keras_object(obj)), indent=2,
                       sort_keys=True) + "\n").encode()


def _tokenizer_files(tokenizer) -> dict[str, bytes]:
    """``tokenizer/<file>`` -> bytes for every file the tokenizer's ``save_assets`` writes."""
    import tempfile
    from pathlib import Path

    files: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if hasattr(tokenizer, "save_assets"):
            tokenizer.save_assets(tmp)
        for path in sorted(Path(tmp).rglob("*")):
            if path.is_file():
                files[f"tokenizer/{path.relative_to(tmp).as_posix()}"] = path.read_bytes()
    return files


def _converter_record(converter) -> dict[str, Any]:
    """An image or audio converter's class and settings, without Keras' layer bookkeeping."""
    config = _jsonable(converter.get_config())
    for noise in ("name", "trainable", "dtype"):
        config.pop(noise, None)
    return {"class": type(converter).__name__, **config}


def _jsonable(value):
    """Plain JSON data from a Keras config (numpy scalars and arrays become lists/numbers)."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _call(obj, method: str):
    try:
        return int(getattr(obj, method)())
    except Exception:
        return None
