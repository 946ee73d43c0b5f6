"""Publishing and checking bundles, on small hand-made bundles (no TensorFlow, fast).

Repairing a release index, refusing untrusted names in an archive's index.json, and `bundle
verify` reading an archive as a stream (concurrent publishes: tests/e2e/test_publish_concurrent.py).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from shared.bundles import DATE, NOT_A_MODEL, bundle_files, make_bundle, run
from shared.tiny_tflite import tiny_model

from litert_build.release.archive import archive_bytes
from litert_build.store.files import dumps_manifest


def test_republish_repairs_a_lost_entry_and_record(tmp_path):
    app, tool = make_bundle(tmp_path, "app", "1.0"), make_bundle(tmp_path, "tool", "2")
    target = tmp_path / "releases"
    for archive in (app, tool):
        assert run("publish", str(archive), "--to", str(target), env=DATE)[0] == 0
    index, record = target / "releases.json", target / "app/1.0/release.json"
    whole, app_record = index.read_bytes(), record.read_bytes()
    size = f"{app.stat().st_size:,} bytes"

    def drop_app_entry():
        data = json.loads(index.read_text())
        data["releases"] = [r for r in data["releases"] if r["bundle"] != "app"]
        index.write_bytes(dumps_manifest(data))

    drop_app_entry()
    code, out = run("publish", str(app), "--to", str(target), env=DATE)
    assert code == 0, out
    assert f"app 1.0 ({size}, sha256 " in out
    assert out.endswith(f"is already published at {target} with these bytes; "
                        "repaired the missing releases.json entry\n"), out
    assert index.read_bytes() == whole

    record.unlink()  # restored from its releases.json entry, date and all
    code, out = run("publish", str(app), "--to", str(target))
    assert code == 0 and out.endswith("; repaired the missing release.json\n"), out
    assert record.read_bytes() == app_record and index.read_bytes() == whole

    record.unlink()
    drop_app_entry()
    code, out = run("publish", str(app), "--to", str(target), env=DATE)
    assert code == 0 and out.endswith("; repaired the missing release.json and releases.json entry\n"), out
    assert record.read_bytes() == app_record and index.read_bytes() == whole

    code, out = run("publish", str(app), "--to", str(target))
    assert code == 0 and out.endswith("with these bytes: nothing to do\n"), out

    # Other bytes for a published version stay refused, whatever is missing.
    other = make_bundle(tmp_path / "other", "app", "1.0", payload=b"changed")
    record.unlink()
    drop_app_entry()
    code, out = run("publish", str(other), "--to", str(target))
    assert code == 1 and "app 1.0 is already published" in out and "immutable" in out, out
    assert not record.exists()
    assert run("publish", str(app), "--to", str(target), env=DATE)[0] == 0
    published = target / "app/1.0/app-1.0.tar.gz"
    published.unlink()  # only the record and the entry are left
    code, out = run("publish", str(other), "--to", str(target))
    assert code == 1 and "immutable" in out and not published.exists(), out
    code, out = run("publish", str(app), "--to", str(target))
    assert code == 0 and out.endswith("; repaired the missing archive\n"), out
    assert published.read_bytes() == app.read_bytes()
    assert record.read_bytes() == app_record and index.read_bytes() == whole

    # The same bytes under another file name: the version is published already, no second copy.
    copy = tmp_path / "app-copy.tar.gz"
    copy.write_bytes(app.read_bytes())
    code, out = run("publish", str(copy), "--to", str(target))
    assert code == 0 and out.endswith("nothing to do\n"), out
    assert sorted(p.name for p in (target / "app/1.0").iterdir()) == ["app-1.0.tar.gz", "release.json"]


def files_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.mark.parametrize(("field", "value"), [
    ("version", "../../../x"), ("version", "/abs"), ("bundle", ".."), ("bundle", "a/b"),
    ("version", "1.0\n"), ("bundle", 7)])
def test_untrusted_names_in_index_json_are_refused(tmp_path, field, value):
    names = {"bundle": "evil", "version": "1", field: value}
    archive = make_bundle(tmp_path, names["bundle"], names["version"], top="evil-1",
                          file_name="evil-1.tar.gz")
    target = tmp_path / "a/b/c/releases"
    before = files_under(tmp_path)
    code, out = run("publish", str(archive), "--to", f"file://{target}")
    pattern = "[A-Za-z0-9][A-Za-z0-9_.-]*" if field == "bundle" else "[A-Za-z0-9][A-Za-z0-9_.+-]*"
    assert (code, out) == (1, f"litert-build publish: refusing {archive}: index.json field '{field}' is "
                              f"{value!r}, not a plain name (^{pattern}$); nothing was written\n")
    assert files_under(tmp_path) == before


def test_archive_file_name_must_be_plain(tmp_path):
    archive = make_bundle(tmp_path, "app", "1.0", file_name="app 1.0.tar.gz")
    before = files_under(tmp_path)
    code, out = run("publish", str(archive), "--to", str(tmp_path / "releases"))
    assert (code, out) == (1, f"litert-build publish: refusing {archive}: its file name is 'app 1.0.tar.gz', "
                              "not a plain name (^[A-Za-z0-9][A-Za-z0-9_.+-]*$); nothing was written\n")
    assert files_under(tmp_path) == before


def tar_in_order(path: Path, files: dict[str, bytes], names: list[str] | None = None) -> Path:
    """A plain (non-deterministic) .tar.gz of ``files`` in the given order of ``names``."""
    with tarfile.open(path, "w:gz") as tar:
        for name in names or list(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            tar.addfile(info, io.BytesIO(files[name]))
    return path


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_verify_streams_a_good_bundle(tmp_path, fmt):
    files = bundle_files("app", "1.0", model=tiny_model(), runtime="builtin")
    archive = tmp_path / f"app-1.0.{fmt}"
    archive.write_bytes(archive_bytes(files, fmt))
    code, out = run("bundle", "verify", str(archive))
    assert code == 0, out  # (the interpreter's own INFO line may come first)
    ok = f"{archive}: OK (checksums match, every model loads in the stock interpreter)"
    assert out.splitlines()[-1] == ok


def test_verify_loads_models_listed_before_or_after_index_json(tmp_path):
    model = "app-1.0/models/m/1/m.float32.tflite"
    for label, content, runtime in (("good", tiny_model(), "builtin"), ("bad", NOT_A_MODEL, "builtin"),
                                    ("flex", NOT_A_MODEL, "flex")):
        files = bundle_files("app", "1.0", model=content, runtime=runtime)
        last = sorted(files, key=lambda n: n.endswith("index.json"))  # the model goes by first
        for archive in (tar_in_order(tmp_path / f"{label}-sorted.tar.gz", files, sorted(files)),
                        tar_in_order(tmp_path / f"{label}-index-last.tar.gz", files, last)):
            code, out = run("bundle", "verify", str(archive))
            if label == "bad":
                assert code == 1 and f"  {model}: does not load in the stock interpreter: " in out, out
                assert "sha256" not in out, out  # the checksums are right: the model is just not one
            else:
                assert code == 0 and ": OK (" in out, out


def test_verify_refuses_unsafe_member_names(tmp_path):
    files = bundle_files("app", "1.0")
    evil = {**files, "../evil.txt": b"x", "/tmp/abs.txt": b"x", "app-1.0/../../evil2.txt": b"x"}
    archive = tar_in_order(tmp_path / "app-1.0.tar.gz", evil)
    before = files_under(tmp_path)
    code, out = run("bundle", "verify", str(archive))
    assert code == 1, out
    assert out.splitlines() == [
        f"{archive}: FAILED",
        "  ../evil.txt: unsafe member path (absolute or with '..'), not read",
        "  /tmp/abs.txt: unsafe member path (absolute or with '..'), not read",
        "  app-1.0/../../evil2.txt: unsafe member path (absolute or with '..'), not read"]
    assert files_under(tmp_path) == before and not Path("/tmp/abs.txt").exists()


def test_verify_names_a_repeated_member_and_a_changed_byte(tmp_path):
    files = bundle_files("app", "1.0")
    readme = "app-1.0/README.md"
    archive = tar_in_order(tmp_path / "app-1.0.tar.gz", files, [*files, readme])  # README.md twice
    code, out = run("bundle", "verify", str(archive))
    assert code == 1 and f"  {readme}: more than once in the archive" in out, out
    changed = tar_in_order(tmp_path / "changed.tar.gz", {**files, readme: b"app 1.1\n"})
    code, out = run("bundle", "verify", str(changed))
    assert code == 1, out
    assert out.splitlines()[1:] == [f"  {readme}: sha256 does not match SHA256SUMS",
                                    f"  {readme}: does not match index.json"]


def test_a_lock_file_left_by_a_killed_publish_does_not_block(tmp_path):
    archive = make_bundle(tmp_path, "app", "1.0")
    target = tmp_path / "releases"
    target.mkdir()
    (target / ".releases.lock").write_bytes(b"")  # its holder is gone, and so is its flock
    code, out = run("publish", str(archive), "--to", str(target))
    assert code == 0 and out.startswith("published app 1.0"), out
    assert not (target / ".releases.lock").exists()
