"""The build report's diff: what changed since the previous report, and why.

The report itself is tested on the bundled example in test_example_build.py (one build)."""

from __future__ import annotations

from litert_build.report.build_report import diff


def test_diff_names_the_inputs_that_changed():
    def row(task, sha, inputs, tools=None):
        return {"task": task, "sha256": sha, "size": 10, "inputs": inputs, "tools": tools or {"keras": "3"}}

    before = [row("a:float32", "1", {"w.h5": "x", "settings": "s"}), row("b:int8", "2", {"c.npz": "y"}),
              row("gone:float32", "3", {})]
    after = [row("a:float32", "9", {"w.h5": "z", "settings": "s"}), row("b:int8", "2", {"c.npz": "y"}),
             row("new:float32", "4", {}), row("c:f", "5", {}, {"keras": "4"})]
    before.append(row("c:f", "6", {}, {"keras": "3"}))
    assert diff(before, after) == [
        "new:float32: new",
        "gone:float32: removed",
        "a:float32: rebuilt (10 -> 10 bytes); inputs changed: w.h5",
        "c:f: rebuilt (10 -> 10 bytes); tool versions changed: keras",
    ]
