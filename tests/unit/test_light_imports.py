"""Importing the package and listing tasks never import TensorFlow/Keras (an up-to-date build
neither: tests/e2e/test_example_build.py)."""

from __future__ import annotations

from shared.project import copy_example, run_listing_heavy_imports


def test_list_imports_no_tensorflow(tmp_path):
    rc, out = run_listing_heavy_imports(copy_example(tmp_path / "example"), "list", "--all")
    assert rc == 0, out
    assert "convert:digits:float32" in out
    assert "HEAVY []" in out
