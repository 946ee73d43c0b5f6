"""`litert-build verify` says why a rebuild differs, from the two signature manifests alone
(the rebuilds themselves: tests/e2e/test_reproducible.py)."""

from __future__ import annotations

from litert_build.build.rebuild_check import explain


def test_explain_from_two_manifests():
    a, b = "a" * 64, "b" * 64
    assert explain({"weights_sha256": a}, {"weights_sha256": b}) == (
        f"the builder produced different weights (digest {a[:16]} vs {b[:16]}): "
        "it is not deterministic on this machine")
    same = explain({"weights_sha256": a}, {"weights_sha256": a})
    assert same is not None
    assert same.startswith(f"same weights, different conversion (weights digest {a[:16]})")
    # Built before weights were digested (or a manifest unreadable): no guess.
    assert explain({}, {"weights_sha256": a}) is None
    assert explain(None, {"weights_sha256": a}) is None
    assert explain({"weights_sha256": None}, {"weights_sha256": None}) is None
