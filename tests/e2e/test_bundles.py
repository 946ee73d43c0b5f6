"""Release bundles: deterministic archives, index.json and SHA256SUMS, `bundle verify`, errors."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from shared.project import build_project, run_build, write, write_project
from shared.zoo import ALPHA_BETA as ZOO

MANIFEST = '''
schema: 1
models:
  alpha: {version: "1", source: {builder: zoo:alpha}, variants: {float32: {}, float16: {}}}
  beta: {version: "2", source: {builder: zoo:beta}}
bundles:
  app:
    version: "3.1.0"
    include: ["alpha:float*", "beta:float32"]
    files: [NOTICE.txt]
  alpha_zip:
    version: "1"
    format: zip
    include: [alpha]
  typo:
    version: "1"
    include: ["gamma"]
  no_file:
    version: "1"
    include: [beta]
    files: [missing.txt]
'''


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


FILES = {"zoo.py": ZOO, "models.yaml": MANIFEST, "NOTICE.txt": "Apache-2.0\n"}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return build_project(tmp_path_factory.mktemp("bundles"), FILES)


def test_bundles_are_built_after_their_artifacts(project):
    folder, result = project
    assert result.returncode != 0  # the two broken bundles fail ...
    for name in ("app-3.1.0.tar.gz", "alpha_zip-1.zip"):
        assert (folder / "artifacts/bundles" / name).is_file(), result.output  # ... not the others
    out = result.output
    assert out.index(".  convert:beta:float32") < out.index(".  bundle:app")
    assert "bundle app 3.1.0: 3 artifacts" in out
    assert ("models.yaml:16:15: bundle 'typo', field 'include[0]': 'gamma' matches no model:variant of "
            "this manifest (alpha:float32, alpha:float16, beta:float32).") in out
    assert "bundle 'no_file', field 'files[0]': file 'missing.txt' not found" in out


def test_archive_layout_index_and_sha256sums(project, tmp_path):
    folder, _ = project
    archive = folder / "artifacts/bundles/app-3.1.0.tar.gz"
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
                315532800, 0, 0, "", "")
            assert member.mode == (0o755 if member.isdir() else 0o644)
        names = [m.name for m in members]
        assert names == sorted(names)
        tar.extractall(tmp_path, filter="data")
    top = tmp_path / "app-3.1.0"
    assert (top / "NOTICE.txt").read_text() == "Apache-2.0\n"
    for name in ("alpha.float32.tflite", "alpha.float16.json", "alpha.float32.intoto.json"):
        built = folder / "artifacts/alpha/1" / name
        assert (top / "models/alpha/1" / name).read_bytes() == built.read_bytes()
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=top, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 11  # 9 model files + NOTICE.txt + index.json
    index = json.loads((top / "index.json").read_text())
    assert {f["path"] for f in index["files"]} == {
        str(p.relative_to(tmp_path)) for p in top.rglob("*")
        if p.is_file() and p.name not in ("index.json", "SHA256SUMS")}
    for item in index["files"]:
        assert sha256(tmp_path / item["path"]) == item["sha256"]
    alpha16 = index["models"]["alpha"]["variants"]["float16"]
    assert alpha16["kind"] == "float16" and alpha16["verification"]["status"] == "passed"
    assert alpha16["inputs"] == [{"name": "x", "shape": [1, 4], "dtype": "float32"}]
    meta = json.loads((folder / "artifacts/alpha/1/alpha.float16.json").read_text())
    assert alpha16["size_ratio_vs_float32"] == meta["quantization"]["size_ratio_vs_float32"] > 0
    assert alpha16["sha256"] == meta["artifact"]["sha256"]
    assert index["models"]["beta"]["version"] == "2"


def test_same_inputs_same_bundle_bytes_elsewhere(project, tmp_path):
    folder, _ = project
    clone = write_project(tmp_path / "clone", FILES)
    result = run_build(clone, "bundle:app", "bundle:alpha_zip",
                       env={"LITERT_BUILD_CACHE": str(folder / ".cache")})
    assert result.returncode == 0, result.output
    for name in ("app-3.1.0.tar.gz", "alpha_zip-1.zip"):
        assert sha256(clone / "artifacts/bundles" / name) == sha256(folder / "artifacts/bundles" / name)
    # and again in place: deleted and rebuilt, the same bytes
    before = sha256(clone / "artifacts/bundles/app-3.1.0.tar.gz")
    (clone / "artifacts/bundles/app-3.1.0.tar.gz").unlink()
    again = run_build(clone, "bundle:app")
    assert again.returncode == 0 and ".  bundle:app" in again.output
    assert sha256(clone / "artifacts/bundles/app-3.1.0.tar.gz") == before
    up_to_date = run_build(clone, "bundle:app")
    assert "-- bundle:app" in up_to_date.output and ".  bundle:app" not in up_to_date.output


def test_zip_bundle_is_deterministic_zip(project):
    folder, _ = project
    with zipfile.ZipFile(folder / "artifacts/bundles/alpha_zip-1.zip") as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert "alpha_zip-1/models/alpha/1/alpha.float16.tflite" in zf.namelist()


def test_bundle_verify_accepts_good_and_catches_a_flipped_byte(project, tmp_path):
    folder, _ = project
    good = folder / "artifacts/bundles/app-3.1.0.tar.gz"
    ok = run_build(folder, "bundle", "verify", str(good), str(folder / "artifacts/bundles/alpha_zip-1.zip"))
    assert ok.returncode == 0 and ok.output.count(": OK") == 2, ok.output

    # Flip one byte of one model inside the archive, then repack (valid gzip, wrong content).
    extracted = tmp_path / "x"
    with tarfile.open(good) as tar:
        tar.extractall(extracted, filter="data")
    tflite = extracted / "app-3.1.0/models/beta/2/beta.float32.tflite"
    data = bytearray(tflite.read_bytes())
    data[100] ^= 0xFF
    tflite.write_bytes(bytes(data))
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(tampered, "w:gz") as tar:
        tar.add(extracted / "app-3.1.0", arcname="app-3.1.0")
    bad = run_build(folder, "bundle", "verify", str(tampered))
    assert bad.returncode == 1, bad.output
    assert "models/beta/2/beta.float32.tflite: sha256 does not match SHA256SUMS" in bad.output

    corrupt = tmp_path / "corrupt.tar.gz"
    raw = bytearray(good.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside the gzip stream
    corrupt.write_bytes(bytes(raw))
    broken = run_build(folder, "bundle", "verify", str(corrupt))
    assert broken.returncode == 1 and "FAILED" in broken.output, broken.output


def test_member_change_rebuilds_the_bundle(project, tmp_path):
    folder, _ = project
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".cache"))
    first = sha256(copy / "artifacts/bundles/app-3.1.0.tar.gz")
    write(copy / "NOTICE.txt", "MIT\n")
    result = run_build(copy, "bundle:app")
    assert ".  bundle:app" in result.output and ".  convert:" not in result.output, result.output
    assert sha256(copy / "artifacts/bundles/app-3.1.0.tar.gz") != first


def test_publish_is_immutable_and_indexed(project, tmp_path):
    folder, _ = project
    archive = folder / "artifacts/bundles/app-3.1.0.tar.gz"
    target = tmp_path / "releases"
    env = {"SOURCE_DATE_EPOCH": "1767225600"}  # 2026-01-01
    first = run_build(folder, "publish", str(archive), "--to", f"file://{target}", env=env)
    assert first.returncode == 0, first.output
    assert f"published app 3.1.0 ({archive.stat().st_size:,} bytes" in first.output
    published = target / "app/3.1.0/app-3.1.0.tar.gz"
    assert published.read_bytes() == archive.read_bytes()
    record = json.loads((target / "app/3.1.0/release.json").read_text())
    assert record["sha256"] == sha256(archive) and record["date"] == "2026-01-01T00:00:00Z"
    assert record["contents"] == {"alpha": ["float16", "float32"], "beta": ["float32"]}
    releases = json.loads((target / "releases.json").read_text())
    assert [(r["bundle"], r["version"], r["sha256"]) for r in releases["releases"]] == [
        ("app", "3.1.0", sha256(archive))]

    index_before = (target / "releases.json").read_bytes()
    same = run_build(folder, "publish", str(archive), "--to", str(target))
    assert same.returncode == 0 and "nothing to do" in same.output, same.output
    assert (target / "releases.json").read_bytes() == index_before

    # Same bundle version, other bytes: refused, and the published files stay as they were.
    other = tmp_path / "other"
    shutil.copytree(folder, other, ignore=shutil.ignore_patterns(".cache"))
    write(other / "NOTICE.txt", "MIT\n")
    assert run_build(other, "bundle:app").returncode == 0
    refused = run_build(other, "publish", str(other / "artifacts/bundles/app-3.1.0.tar.gz"),
                        "--to", str(target))
    assert refused.returncode == 1, refused.output
    assert "app 3.1.0 is already published" in refused.output and "immutable" in refused.output
    assert published.read_bytes() == archive.read_bytes()
    assert (target / "releases.json").read_bytes() == index_before

    second = run_build(folder, "publish", str(folder / "artifacts/bundles/alpha_zip-1.zip"),
                       "--to", str(target))
    assert second.returncode == 0, second.output
    releases = json.loads((target / "releases.json").read_text())
    assert [(r["bundle"], r["version"]) for r in releases["releases"]] == [
        ("app", "3.1.0"), ("alpha_zip", "1")]


def test_interrupted_publish_leaves_nothing_visible(project, tmp_path, monkeypatch):
    import fsspec.implementations.local as local

    from litert_build.release.publish import publish

    folder, _ = project
    archive = folder / "artifacts/bundles/app-3.1.0.tar.gz"
    target = tmp_path / "releases"

    def broken_move(self, *args, **kwargs):
        raise OSError("connection lost")

    monkeypatch.setattr(local.LocalFileSystem, "mv", broken_move)
    with pytest.raises(OSError, match="connection lost"):
        publish(archive, str(target))
    assert [p for p in target.rglob("*") if p.is_file()] == []  # not even the temp upload
    monkeypatch.undo()
    status, _ = publish(archive, str(target))  # the next try goes through
    assert status == "published" and (target / "app/3.1.0/app-3.1.0.tar.gz").is_file()


def test_report_says_what_changed_and_why(project, tmp_path):
    folder, _ = project
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".cache"))
    (copy / "zoo.py").write_text((copy / "zoo.py").read_text().replace(
        "set_random_seed(2)", "set_random_seed(5)"))  # new weights for beta only
    result = run_build(copy, "convert", "report")
    assert ".  report" in result.output, result.output
    md = (copy / "artifacts/report.md").read_text()
    assert "- beta:float32: rebuilt (" in md and "inputs changed: zoo.py" in md, md
    assert "alpha:float32: rebuilt" not in md  # zoo.py changed for it too, the bytes did not
    assert re.search(r"^litert-build: 3 converted, 0 from cache, 0 up to date, 0 failed",
                     result.output, flags=re.M), result.output
