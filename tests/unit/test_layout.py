"""Where every file of a project goes (litert_build.plan.layout): artifacts, manifests, provenance,
assets and the state folder; and the names a manifest from a shared cache may list."""

from __future__ import annotations

import json

import pytest

from litert_build.plan.layout import (
    STATE_DIR,
    artifact_files,
    artifact_paths,
    assets_dir,
    build_record_path,
    lock_path,
    log_dir,
    project_relative,
    provenance_path,
    targets,
    temp_root,
)
from litert_build.store.safepath import UnsafePath


def test_layout_has_model_version_variant(tmp_path):
    tflite, manifest = artifact_paths(tmp_path, "net", "2.0", "float32")
    assert tflite == tmp_path / "net" / "2.0" / "net.float32.tflite"
    assert manifest == tmp_path / "net" / "2.0" / "net.float32.json"
    assert provenance_path(tflite) == tmp_path / "net" / "2.0" / "net.float32.intoto.json"
    assert assets_dir(tflite, "net") == tmp_path / "net" / "2.0" / "net.assets"
    aot, _ = artifact_paths(tmp_path, "net", "2.0", "npu.qualcomm_SM8650")  # a dot in the variant
    assert provenance_path(aot).name == "net.npu.qualcomm_SM8650.intoto.json"


def test_targets_of_a_spec_are_under_its_root(tmp_path):
    spec = {"root": str(tmp_path), "tflite": "artifacts/m/1/m.int8.tflite",
            "manifest": "artifacts/m/1/m.int8.json"}
    assert targets(spec) == (tmp_path / "artifacts/m/1/m.int8.tflite", tmp_path / "artifacts/m/1/m.int8.json",
                             tmp_path / "artifacts/m/1/m.int8.intoto.json")


def test_state_lives_in_one_folder(tmp_path):
    state = tmp_path / STATE_DIR
    assert STATE_DIR == ".litert-build"
    assert lock_path(tmp_path, "m", "int8") == state / "locks" / "m.int8.lock"
    assert build_record_path(tmp_path, "m", "int8") == state / "builds" / "m.int8.json"
    assert temp_root(tmp_path) == state / "tmp" and log_dir(tmp_path) == state / "logs"


def test_project_relative_inside_and_outside(tmp_path):
    root = tmp_path / "project"
    (root / "sub").mkdir(parents=True)
    assert project_relative(root, root / "sub" / "w.h5") == "sub/w.h5"
    assert project_relative(root, root / "sub" / ".." / "zoo.py") == "zoo.py"
    outside = tmp_path / "store" / "w.h5"
    assert project_relative(root, outside) == outside.as_posix()  # a shared model store: absolute


def write_manifest(folder, assets=None):
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"artifact": {"file": "m.float32.tflite"}}
    if assets is not None:
        meta["assets"] = assets
    path = folder / "m.float32.json"
    path.write_text(json.dumps(meta))
    return path


def test_artifact_files_lists_the_artifact_its_manifest_and_assets(tmp_path):
    assert artifact_files(write_manifest(tmp_path / "a")) == ["m.float32.tflite", "m.float32.json"]
    with_assets = write_manifest(tmp_path / "b", {"folder": "m.assets",
                                                  "files": {"tokenizer/vocab.json": "1", "a.json": "2"}})
    assert artifact_files(with_assets) == ["m.float32.tflite", "m.float32.json", "m.assets/a.json",
                                           "m.assets/tokenizer/vocab.json"]


@pytest.mark.parametrize("assets", [
    {"folder": "..", "files": {"x": "0"}},
    {"folder": "m.assets", "files": {"../../outside.txt": "0"}},
    {"folder": "/etc", "files": {"passwd": "0"}},
])
def test_artifact_files_refuses_names_that_leave_the_folder(tmp_path, assets):
    with pytest.raises(UnsafePath):
        artifact_files(write_manifest(tmp_path / "c", assets))


def test_artifact_files_of_an_llm_include_its_litertlm_and_confine_its_name(tmp_path):
    folder = tmp_path / "llm"
    folder.mkdir()
    manifest = folder / "m.chat.json"
    meta = {"artifact": {"file": "m.chat.tflite"}, "litertlm": {"file": "m.chat.litertlm", "sha256": "0"}}
    manifest.write_text(json.dumps(meta))
    assert artifact_files(manifest) == ["m.chat.tflite", "m.chat.json", "m.chat.litertlm"]
    for hostile in ("../m.chat.litertlm", "/tmp/x.litertlm"):
        manifest.write_text(json.dumps({**meta, "litertlm": {"file": hostile}}))
        with pytest.raises(UnsafePath):
            artifact_files(manifest)


@pytest.mark.parametrize("lengths, cache, count, plan", [
    ([8, 32], 64, 11, [(0, 32)]),              # the shortest chunk that holds the rest
    ([8, 32], 64, 5, [(0, 8)]),
    ([8], 64, 20, [(0, 8), (8, 8), (16, 8)]),  # else chunks of the longest
    ([16, 32], 40, 38, None),                  # 32, then 6 tokens: no length fits the last 8 slots
])
def test_prefill_chunks_hold_the_prompt_and_never_run_past_the_cache(lengths, cache, count, plan):
    from litert_build.errors import ConversionError
    from litert_build.export.llm.generate import InterpreterGenerator
    from litert_build.export.llm.kv_cache import CacheShape

    generator = object.__new__(InterpreterGenerator)  # the chunk plan needs no interpreter
    generator.prefill_lengths = {n: f"prefill_{n}" for n in lengths}
    generator.shape = CacheShape(1, 1, 4, cache)
    if plan is None:
        with pytest.raises(ConversionError, match="does not fit kv_cache 40"):
            generator.chunks(count)
        return
    assert generator.chunks(count) == plan
    covered = sum(min(length, count - start) for start, length in plan)
    assert covered == count and all(start + length <= cache for start, length in plan)
