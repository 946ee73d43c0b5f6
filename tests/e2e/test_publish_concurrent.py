"""Concurrent publishes to one target lose no release: 4 ``litert-build publish`` processes at
once, 10 times to a local folder (locked) and 5 times to a non-local fsspec target (compare and
retry). A stress test of about 60 processes, hence in this tier."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec
import pytest
from shared.bundles import cli, make_bundle


def releases(fs, root: str) -> list[tuple[str, str]]:
    data = json.loads(fs.cat_file(f"{root}/releases.json"))
    return [(r["bundle"], r["version"]) for r in data["releases"]]


def publish_at_once(archives: list[Path], url: str) -> None:
    procs = [cli("publish", str(a), "--to", url) for a in archives]
    outputs = [p.communicate()[0] for p in procs]
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out


@pytest.fixture(scope="module")
def four(tmp_path_factory) -> list[Path]:
    """Four bundles: two names, two versions each."""
    folder = tmp_path_factory.mktemp("four")
    return [make_bundle(folder, name, version) for name in ("app", "tool") for version in ("1.0", "1.1")]


def expected_keys(four: list[Path]) -> list[tuple[str, str]]:
    return sorted((a.name.split("-")[0], a.name.split("-")[1].removesuffix(".tar.gz")) for a in four)


@pytest.mark.parametrize("scheme", ["file", "dir"])
def test_concurrent_publishes_lose_no_release(four, tmp_path, scheme):
    """4 publishes at once, 10 times: a local target is locked; a non-local fsspec target (the
    'dir' wrapper: shared files, no lock) relies on compare-and-retry."""
    for trial in range(10 if scheme == "file" else 5):
        target = tmp_path / f"t{trial}"
        url = f"file://{target}" if scheme == "file" else f"dir::file://{target}"
        publish_at_once(four, url)
        fs, root = fsspec.core.url_to_fs(url)
        root = root.rstrip("/")
        assert sorted(releases(fs, root)) == expected_keys(four), f"trial {trial}"
        left = sorted(p[len(root) + 1:] for p in fs.find(root))  # no temp upload, no lock file
        assert left == sorted(["releases.json"] + [f"{b}/{v}/{f}" for b, v in expected_keys(four)
                                                   for f in (f"{b}-{v}.tar.gz", "release.json")])
