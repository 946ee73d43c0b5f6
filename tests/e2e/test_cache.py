"""The artifact cache end to end: fresh clones restore instead of converting, byte-identical;
local, file:// and in-memory (fsspec) caches; corrupted entries are evicted and rebuilt;
--no-cache; and the `cache info | gc | verify` commands."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from shared.project import build_project, load_json, run_build, write
from shared.zoo import ALPHA_BETA_MANIFEST as MANIFEST
from shared.zoo import ALPHA_BETA_PROJECT

TASKS = ["alpha:float32", "beta:float32"]
FILES = ["alpha/1/alpha.float32.tflite", "alpha/1/alpha.float32.json", "alpha/1/alpha.float32.intoto.json",
         "beta/2/beta.float32.tflite", "beta/2/beta.float32.json", "beta/2/beta.float32.intoto.json"]


def clone(source: Path, target: Path, manifest: str = MANIFEST) -> Path:
    """What `git clone` gives: the sources, no artifacts, no state."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(source / "zoo.py", target / "zoo.py")
    write(target / "models.yaml", manifest)
    return target


def digests(project: Path) -> dict[str, str]:
    return {f: hashlib.sha256((project / "artifacts" / f).read_bytes()).hexdigest() for f in FILES}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A project built once, with its cache in a folder of its own."""
    cache = tmp_path_factory.mktemp("cache")
    project, result = build_project(tmp_path_factory.mktemp("original"), ALPHA_BETA_PROJECT,
                                    env={"LITERT_BUILD_CACHE": str(cache)})
    assert result.returncode == 0, result.output
    assert sorted(result.converted) == TASKS
    return project, cache


def test_first_build_stores_every_artifact_in_the_cache(built):
    project, cache = built
    entries = sorted(cache.glob("v1/*/*/entry.json"))
    assert len(entries) == 2
    for entry_file in entries:
        entry = load_json(entry_file)
        for name, meta in entry["files"].items():
            data = (entry_file.parent / "files" / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == meta["sha256"]
            # and it is the very file that was built
            model = entry["task"].split(":")[0]
            built_file = next((project / "artifacts" / model).rglob(name))
            assert built_file.read_bytes() == data
    meta = load_json(project / "artifacts/alpha/1/alpha.float32.json")
    assert meta["build_key"] in [e.parent.name for e in entries]


def test_fresh_clone_with_warm_cache_converts_nothing_byte_identical(built, tmp_path):
    project, cache = built
    fresh = clone(project, tmp_path / "clone")
    result = run_build(fresh, env={"LITERT_BUILD_CACHE": str(cache)})
    assert result.returncode == 0, result.output
    assert result.converted == []
    assert sorted(result.restored) == TASKS
    assert digests(fresh) == digests(project)  # artifacts, manifests and provenance
    again = run_build(fresh, env={"LITERT_BUILD_CACHE": str(cache)})
    assert again.executed == [] and len(again.up_to_date) == 2, again.output


def test_no_cache_option_converts_again(built, tmp_path):
    project, cache = built
    fresh = clone(project, tmp_path / "clone")
    result = run_build(fresh, "--no-cache", "convert:alpha:float32",
                       env={"LITERT_BUILD_CACHE": str(cache)})
    assert result.returncode == 0, result.output
    assert result.converted == ["alpha:float32"] and result.restored == []
    assert (fresh / "artifacts/alpha/1/alpha.float32.tflite").read_bytes() == (
        project / "artifacts/alpha/1/alpha.float32.tflite").read_bytes()  # deterministic


def test_corrupted_entries_are_detected_evicted_and_rebuilt(built, tmp_path):
    project, cache = built
    bad_cache = tmp_path / "cache"
    shutil.copytree(cache, bad_cache)
    alpha_key = load_json(project / "artifacts/alpha/1/alpha.float32.json")["build_key"]
    beta_key = load_json(project / "artifacts/beta/2/beta.float32.json")["build_key"]
    # alpha: one byte of the .tflite flipped; beta: its signature manifest gone.
    tflite = bad_cache / "v1" / alpha_key[:2] / alpha_key / "files" / "alpha.float32.tflite"
    data = bytearray(tflite.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tflite.write_bytes(bytes(data))
    (bad_cache / "v1" / beta_key[:2] / beta_key / "files" / "beta.float32.json").unlink()

    fresh = clone(project, tmp_path / "clone")
    result = run_build(fresh, env={"LITERT_BUILD_CACHE": str(bad_cache)})
    assert result.returncode == 0, result.output
    assert result.output.count("is corrupted") == 2, result.output
    assert sorted(result.converted) == TASKS and result.restored == []
    assert digests(fresh) == digests(project)  # never the corrupted bytes
    assert not list(tmp_path.rglob("*.tmp"))  # staged files of the failed restore are gone
    # Rebuilt entries replaced the evicted ones: another clone restores both.
    other = clone(project, tmp_path / "other")
    second = run_build(other, env={"LITERT_BUILD_CACHE": str(bad_cache)})
    assert sorted(second.restored) == TASKS, second.output


def test_truncated_entry_fails_cache_verify_and_gc_shrinks(built, tmp_path):
    project, cache = built
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    env = {"LITERT_BUILD_CACHE": str(copy)}
    info = run_build(project, "cache", "info", env=env)
    assert info.returncode == 0 and "entries:  2" in info.output, info.output
    ok = run_build(project, "cache", "verify", env=env)
    assert ok.returncode == 0 and "2 ok, 0 corrupted" in ok.output, ok.output

    key = load_json(project / "artifacts/beta/2/beta.float32.json")["build_key"]
    target = copy / "v1" / key[:2] / key / "files" / "beta.float32.tflite"
    target.write_bytes(target.read_bytes()[:100])
    bad = run_build(project, "cache", "verify", env=env)
    assert bad.returncode == 1 and "1 ok, 1 corrupted" in bad.output, bad.output
    assert not (copy / "v1" / key[:2] / key).exists()

    gc = run_build(project, "cache", "gc", "--max-size", "1", env=env)
    assert gc.returncode == 0 and "evicted 1 entries" in gc.output, gc.output
    assert not list(copy.glob("v1/*/*/entry.json"))
    wrong = run_build(project, "cache", "gc", "--max-size", "lots", env=env)
    assert wrong.returncode != 0 and "is not a size" in wrong.output


def with_artifacts_of(project: Path, clone_dir: Path) -> Path:
    """A clone that already holds the built artifacts, but no doit state (e.g. copied over)."""
    shutil.copytree(project / "artifacts", clone_dir / "artifacts")
    return clone_dir


def test_file_url_cache_from_models_yaml(built, tmp_path):
    project, _ = built
    remote = tmp_path / "shared"
    manifest = MANIFEST.replace("schema: 1", f"schema: 1\ncache: file://{remote}")
    unset = {"LITERT_BUILD_CACHE": None}  # models.yaml chooses
    # Artifacts found in place (same key, same bytes) are reused and written through to the cache.
    first = run_build(clone(project, with_artifacts_of(project, tmp_path / "a"), manifest), env=unset)
    assert first.returncode == 0, first.output
    assert first.output.count("already built from these inputs") == 2 and first.converted == []
    assert len(list(remote.glob("v1/*/*/entry.json"))) == 2
    second_project = clone(project, tmp_path / "b", manifest)
    second = run_build(second_project, env=unset)
    assert second.returncode == 0 and sorted(second.restored) == TASKS, second.output
    assert digests(second_project) == digests(project)


def test_in_memory_fsspec_cache(built, tmp_path, monkeypatch, capfd):
    """fsspec's memory:// filesystem lives in this process: build in-process twice."""
    import fsspec

    from litert_build.cli import main as cli

    project, _ = built
    fresh = clone(project, with_artifacts_of(project, tmp_path / "mem"))
    monkeypatch.chdir(fresh)
    monkeypatch.setenv("LITERT_BUILD_CACHE", "memory://litert-build-test")
    assert cli.main([]) == 0  # reuses the artifacts in place and stores them
    first = capfd.readouterr().out
    assert first.count("already built from these inputs") == 2, first
    assert len(fsspec.filesystem("memory").glob("/litert-build-test/v1/*/*/entry.json")) == 2
    shutil.rmtree(fresh / "artifacts")
    shutil.rmtree(fresh / ".litert-build")
    assert cli.main([]) == 0
    second = capfd.readouterr().out
    assert second.count(": restored from cache ") == 2 and ": converted: " not in second, second
    assert digests(fresh) == digests(project)


def test_provenance_statement(built):
    project, _ = built
    folder = project / "artifacts/alpha/1"
    statement = json.loads((folder / "alpha.float32.intoto.json").read_text())
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert set(subjects) == {"alpha.float32.tflite", "alpha.float32.json"}
    for name, digest in subjects.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    definition = statement["predicate"]["buildDefinition"]
    assert definition["externalParameters"]["settings"]["source"] == {"builder": "zoo:alpha"}
    deps = {d["name"]: d["digest"] for d in definition["resolvedDependencies"]}
    assert deps["zoo.py"]["sha256"] == hashlib.sha256((project / "zoo.py").read_bytes()).hexdigest()
    details = statement["predicate"]["runDetails"]
    assert details["builder"]["version"]["tensorflow"].startswith("2.")
    text = (folder / "alpha.float32.intoto.json").read_text()
    assert str(project) not in text and "startedOn" not in text  # no paths, no clock
