"""Write ``.litertlm`` files (LlmMetadata + tokenizer + prefill/decode .tflite) and run them.

A ``.litertlm`` is what LiteRT-LM loads: the model alone is not enough, because the runtime also
tokenizes, knows the start and stop tokens and the context length, and applies the chat template,
all from the metadata and tokenizer sections packed next to the model. The file is written with
``litert_lm_builder`` (the writer litert-torch uses) and checked by running it with the same
runtime an app would, ``litert_lm.Engine`` on CPU.

Builds are byte-reproducible: the builder stamps every file with a random ``uuid`` and the current
``creation_timestamp``; here the uuid is derived from the content (a hash of every section) and the
timestamp is the epoch, so identical inputs give identical files and hashes in the manifest stay
stable across rebuilds.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from litert_build.errors import ConversionError
from litert_build.export.llm.tokenizer import LlmTokenizer
from litert_build.store.artifact_cache import file_sha256
from litert_build.store.files import atomic_writer

MODEL_TYPES = ("generic", "gemma3")

# A fixed namespace for content-derived uuids (uuid5 of the content hash): any constant works, it
# only has to stay the same between builds.
_UUID_NAMESPACE = uuid.UUID("6b1f3f0e-7c55-5b8e-9a43-1d2c8e5e4a10")

# The builder's system-metadata hook is a module global; builds patch it, so serialise them.
_BUILD_LOCK = threading.Lock()


def build_litertlm(
    tflite_path: Path,
    out_path: Path,
    tokenizer: LlmTokenizer,
    max_num_tokens: int,
    model_type: str = "generic",
) -> dict:
    """Pack ``tflite_path`` (signatures ``prefill_<T>`` and ``decode``) with ``tokenizer`` into
    ``out_path`` and return the manifest record of the file.

    ``out_path`` is written atomically: into a temporary file in the same folder, then renamed over
    it, so a reader never sees a half-written file and a failed build leaves no file behind.
    ``max_num_tokens`` should be the model's KV-cache length (litert-torch sets it the same way).
    """
    import litert_lm_builder as lb
    from litert_lm_builder.runtime.proto import llm_metadata_pb2, llm_model_type_pb2

    tflite_path, out_path = Path(tflite_path), Path(out_path)
    if model_type not in MODEL_TYPES:
        raise ConversionError(f"llm_model_type {model_type!r} is not one of {', '.join(MODEL_TYPES)}.")
    if not tflite_path.is_file():
        raise ConversionError(f"The model {tflite_path} to pack into a .litertlm does not exist.")

    md = llm_metadata_pb2.LlmMetadata()
    if tokenizer.start_token_id is not None:
        md.start_token.token_ids.ids.append(int(tokenizer.start_token_id))
    for token_id in tokenizer.stop_token_ids:
        md.stop_tokens.add().token_ids.ids.append(int(token_id))
    md.max_num_tokens = int(max_num_tokens)
    if model_type == "gemma3":
        md.llm_model_type.gemma3.CopyFrom(llm_model_type_pb2.Gemma3())
    else:
        md.llm_model_type.generic_model.CopyFrom(llm_model_type_pb2.GenericModel())
    if tokenizer.chat_template:
        md.jinja_prompt_template = tokenizer.chat_template
    # validate_metadata=True insists on both being set; the exported graphs support neither.
    md.supports_thinking = False
    md.supports_function_calling = False
    md_bytes = md.SerializeToString(deterministic=True)

    content = hashlib.sha256()
    for part in (md_bytes, tokenizer.data, file_sha256(tflite_path).encode()):
        content.update(hashlib.sha256(part).digest())
    file_uuid = str(uuid.uuid5(_UUID_NAMESPACE, content.hexdigest()))
    timestamp = _source_date().isoformat()

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="litertlm-") as tmp:
        md_path = Path(tmp) / "llm_metadata.pb"
        md_path.write_bytes(md_bytes)
        tok_path = Path(tmp) / tokenizer.file_name
        tok_path.write_bytes(tokenizer.data)

        builder = lb.LitertLmFileBuilder()
        builder.add_llm_metadata(str(md_path))
        if tokenizer.kind == "sentencepiece":
            builder.add_sentencepiece_tokenizer(str(tok_path))
        elif tokenizer.kind == "hf":
            builder.add_hf_tokenizer(str(tok_path))  # the name must end in .json
        else:
            raise ConversionError(f"Unknown tokenizer kind {tokenizer.kind!r} (sentencepiece or hf).")
        builder.add_tflite_model(str(tflite_path), lb.TfLiteModelType.PREFILL_DECODE)

        with atomic_writer(out_path) as f, _fixed_system_metadata(file_uuid, timestamp):
            builder.build(f, validate_metadata=True)  # seeks and tells only: a write-only file serves

    sections = _sections(out_path)
    return {
        "file": out_path.name,
        "size": out_path.stat().st_size,
        "sha256": file_sha256(out_path),
        "sections": sections,
        "tokenizer": {"kind": tokenizer.kind, "sha256": tokenizer.sha256},
        "start_token_id": tokenizer.start_token_id,
        "stop_token_ids": list(tokenizer.stop_token_ids),
        "max_num_tokens": int(max_num_tokens),
        "chat_template": bool(tokenizer.chat_template),
        "llm_model_type": model_type,
    }


def _source_date() -> datetime.datetime:
    """The file's creation timestamp: always the epoch. A .litertlm is a cached build output keyed
    by its inputs (an environment variable is not one), so it must not depend on when or where it
    was built; bundles carry the release date (``SOURCE_DATE_EPOCH``, release/dates.py)."""
    return datetime.datetime.fromtimestamp(0, tz=datetime.UTC)


@contextlib.contextmanager
def _fixed_system_metadata(file_uuid: str, timestamp: str) -> Iterator[None]:
    """Make the builder stamp ``file_uuid`` and ``timestamp`` instead of a random uuid and now.

    ``LitertLmFileBuilder._build_sections`` always replaces both through the module function
    ``populate_system_metadata`` (litert_lm_builder 0.18.1), so that function is swapped for the
    duration of the build, under a lock since it is process-wide.
    """
    from litert_lm_builder import litertlm_builder as lbm

    def populate(system_metadata: list[Any]) -> list[Any]:
        kept = [m for m in system_metadata if m.key not in ("uuid", "creation_timestamp")]
        return kept + [
            lbm.Metadata(key="uuid", value=file_uuid, dtype=lbm.DType.STRING),
            lbm.Metadata(key="creation_timestamp", value=timestamp, dtype=lbm.DType.STRING),
        ]

    with _BUILD_LOCK:
        original = lbm.populate_system_metadata
        lbm.populate_system_metadata = populate
        try:
            yield
        finally:
            lbm.populate_system_metadata = original


def _sections(path: Path) -> list[dict]:
    """Each section of a written file (read from its header only): data type, size and, for the
    model, its model type."""
    import io

    from litert_lm_builder import litertlm_header_schema_py_generated as schema
    from litert_lm_builder import litertlm_peek

    names = {v: k for k, v in vars(schema.AnySectionDataType).items() if not k.startswith("_")}
    meta = litertlm_peek.read_litertlm_header(str(path), io.StringIO())
    table = meta.SectionMetadata()
    out = []
    for i in range(table.ObjectsLength() if table is not None else 0):
        obj = table.Objects(i)
        record: dict[str, Any] = {
            "type": names.get(obj.DataType(), str(obj.DataType())),
            "size": int(obj.EndOffset() - obj.BeginOffset()),
        }
        model_type = litertlm_peek.get_model_type(obj)
        if model_type:
            record["model_type"] = model_type
        out.append(record)
    return out


@contextlib.contextmanager
def _engine(litertlm_path: Path, max_num_tokens: int) -> Iterator[Any]:
    """A CPU ``litert_lm.Engine`` with the runtime's logging limited to errors, closed on exit.

    Its compiled-weights cache goes to a temporary folder: by default the engine writes
    ``<file>_<hash>_<size>.xnnpack_cache`` next to the model, which would land among the outputs.
    """
    import litert_lm

    litert_lm.set_min_log_severity(litert_lm.LogSeverity.ERROR)
    path = Path(litertlm_path)
    if not path.is_file():
        raise ConversionError(f"The .litertlm {path} does not exist.")
    with tempfile.TemporaryDirectory(prefix="litertlm-cache-") as cache_dir:
        engine = litert_lm.Engine(
            str(path),
            backend=litert_lm.Backend.CPU(),
            max_num_tokens=int(max_num_tokens),
            cache_dir=cache_dir,
        )
        try:
            yield engine
        finally:
            engine.close()


def run_engine(litertlm_path: Path, prompt: str, max_output_tokens: int, max_num_tokens: int) -> str:
    """Greedy generation of up to ``max_output_tokens`` from ``prompt`` by LiteRT-LM on CPU: the
    text an app would get, to compare with KerasHub's own generation.

    The prompt is used as it is (no chat template); the runtime prepends the start token itself.
    Generation stops early at a stop token.
    """
    import litert_lm

    with _engine(litertlm_path, max_num_tokens) as engine:
        session = engine.create_session(
            apply_prompt_template=False,
            sampler_config=litert_lm.SamplerConfig(top_k=1, top_p=1.0, temperature=1.0, seed=0),
            max_output_tokens=int(max_output_tokens),
        )
        try:
            session.run_prefill([prompt])
            return session.run_decode().texts[0]
        finally:
            session.close()


def engine_tokenize(litertlm_path: Path, text: str, max_num_tokens: int = 256) -> list[int]:
    """The ids LiteRT-LM's own tokenizer gives ``text`` (without the start token), to check the
    packed tokenizer against KerasHub's."""
    with _engine(litertlm_path, max_num_tokens) as engine:
        return [int(i) for i in engine.tokenize(text)]
