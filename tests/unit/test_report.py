"""The build report (litert_build.report): the diff against the previous report and why, the
table's cells, HTML escaping, and a whole report written in process from hand-made signature
manifests and a real one-op model (no TensorFlow).

The report of a real build is tested on the bundled example in tests/e2e/test_example_build.py."""

from __future__ import annotations

import json
import re

from shared.tiny_tflite import tiny_model

from litert_build.records import max_abs_error, worst_sqnr_db
from litert_build.report.build_report import build_report, charts, diff, eval_note, markdown, page


def row(task, sha, inputs=None, tools=None, size=10):
    return {"task": task, "sha256": sha, "size": size, "inputs": inputs or {},
            "tools": tools or {"keras": "3"}}


def test_diff_names_the_inputs_that_changed():
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


def test_diff_sorts_each_kind_and_counts_added_and_dropped_inputs():
    before = [row("z:float32", "1", {"a.npz": "1", "old.h5": "1"}, size=28_328),
              row("y:float32", "1", {"zoo.py": "1"}), row("x:float32", "1")]
    after = [row("z:float32", "2", {"a.npz": "2", "new.h5": "1"}, {"keras": "4", "tensorflow": "2.21"},
                 size=1_234_567),
             row("y:float32", "2", {"zoo.py": "1"}), row("x:float32", "1", {"zoo.py": "7"}),
             row("b:float32", "1"), row("a:float32", "1")]
    assert diff(before, after) == [
        "a:float32: new", "b:float32: new",
        "y:float32: rebuilt (10 -> 10 bytes); same inputs (not reproducible?)",
        "z:float32: rebuilt (28,328 -> 1,234,567 bytes); inputs changed: a.npz, new.h5, old.h5; "
        "tool versions changed: keras, tensorflow",
    ]  # x: other inputs, same bytes: not a change
    assert diff([], []) == [] and diff(after, after) == []


def table_row(**fields):
    base = {"task": "m:int8", "model": "m", "variant": "int8", "kind": "int8", "size": 12_112,
            "eval_vs_float32": -0.01,
            "size_ratio": 0.4271, "max_abs_error": 0.00891, "eval_metric": "accuracy", "eval_value": 0.92777,
            "eval_drop": 0.0, "float_ops": 0, "flex_ops": [], "latency_us": 12.34, "outcome": "converted",
            "build_seconds": 6.04}
    return {**base, **fields}


def test_markdown_cells():
    text = markdown([table_row(), table_row(task="m:f", variant="f", kind="float32", size_ratio=None,
                                            max_abs_error=None, eval_value=None, eval_drop=None,
                                            eval_vs_float32=None,
                                            flex_ops=["FlexMatrixInverse"], latency_us=None,
                                            outcome="restored", build_seconds=None)],
                    ["m:int8: new"], header=["built today"])
    lines = text.splitlines()
    status = "**OK: 2 artifacts; 1 converted, 1 restored from cache**"
    assert lines[:5] == ["# litert-build report", "", status, "", "built today  "]
    assert ("| m | int8 | int8 | 12,112 | 0.43 | 0.0089 | accuracy 0.9278 | 0.0000 | -0.0100 | 0 | none | "
            "12.3 | converted in 6.0 s |") in lines  # latency in microseconds
    assert "| m | f | float32 | 12,112 | — | — | — | — | — | 0 | FlexMatrixInverse | — | restored |" in lines
    assert lines[-1] == "- m:int8: new"
    assert markdown([], []).endswith("## Changes since the previous report\n\n- none\n")


def test_failures_get_a_status_line_and_a_section():
    text = markdown([table_row()], [], {"m:bad": "m:bad: could not load the model\ntraceback in a log"})
    assert "**FAILED: 1 of 2 artifacts failed; 1 converted**" in text
    assert "- `m:bad`: m:bad: could not load the model" in text and "traceback" not in text
    html = page([table_row(file="artifacts/m/1/m.int8.tflite")], [], {}, {"m:<b>": "x < y"},
                folder="artifacts")
    assert '<li data-failed="m:&lt;b&gt;"><code>m:&lt;b&gt;</code>: <pre>x &lt; y</pre></li>' in html
    assert '<a href="m/1/m.int8.tflite">.tflite</a> <a href="m/1/m.int8.json">.json</a>' in html
    assert "FAILED: 1 of 2 artifacts failed" in html


def test_page_escapes_what_comes_from_files():
    html = page([table_row(task='m:"x"', model="<b>m</b>")], ["zoo.py<script>alert(1)</script>: new"],
                {"size": b"\x89PNG"})
    assert '<tr data-task="m:&quot;x&quot;">' in html and "<td>&lt;b&gt;m&lt;/b&gt;</td>" in html
    assert "<li>zoo.py&lt;script&gt;alert(1)&lt;/script&gt;: new</li>" in html
    assert "<script>alert" not in html
    assert '<img alt="size chart" src="data:image/png;base64,iVBORw==">' in html


def test_max_abs_error_and_worst_sqnr_over_outputs():
    record = {"outputs": {"a": {"max_abs_error": 0.5, "sqnr_db": 30.0}, "b": {"max_abs_error": 2.0,
                                                                             "sqnr_db": 12.5}}}
    assert (max_abs_error(record), worst_sqnr_db(record)) == (2.0, 12.5)
    skipped = {"status": "skipped", "outputs": {"a": {"max_abs_error": None}}}
    assert max_abs_error(skipped) is None and worst_sqnr_db(skipped) is None
    assert max_abs_error(None) is None and max_abs_error({"outputs": {}}) is None


def write_build(root, model, variant, runtime="builtin", sha="1" * 64, inputs=None, record=True):
    folder = root / "artifacts" / model / "1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{model}.{variant}.tflite").write_bytes(tiny_model())
    meta = {"model": model, "variant": variant, "kind": "float32", "runtime": runtime, "flex_ops": [],
            "artifact": {"size": 520, "sha256": sha},
            "quantization": {"size_ratio_vs_float32": 1.0, "float_op_counts": {"ADD": 1}},
            "verification": {"status": "passed", "outputs": {"y": {"max_abs_error": 0.0}}},
            "inputs_xxh3": inputs or {"zoo.py": "a"}, "tools": {"keras": "3"}}
    (folder / f"{model}.{variant}.json").write_text(json.dumps(meta))
    if record:
        builds = root / ".litert-build" / "builds"
        builds.mkdir(parents=True, exist_ok=True)
        (builds / f"{model}.{variant}.json").write_text(json.dumps({"outcome": "restored", "seconds": 0.5}))
    return {"task": f"{model}:{variant}", "tflite": f"artifacts/{model}/1/{model}.{variant}.tflite",
            "manifest": f"artifacts/{model}/1/{model}.{variant}.json",
            "record": f".litert-build/builds/{model}.{variant}.json"}


def test_a_whole_report_in_process_then_what_changed(tmp_path):
    members = [write_build(tmp_path, "add", "float32"),
               write_build(tmp_path, "flexy", "float32", runtime="flex", record=False),
               {"task": "never:float32", "tflite": "artifacts/never/1/never.float32.tflite",
                "manifest": "artifacts/never/1/never.float32.json", "record": ".litert-build/builds/n.json"}]
    spec = {"root": str(tmp_path), "folder": str(tmp_path / "artifacts"), "members": members, "runs": 3}
    assert build_report(spec) == {"rows": 2, "changes": 2, "failed": 0}  # the unbuilt member has no row
    rows = {r["task"]: r for r in json.loads((tmp_path / "artifacts/report.json").read_text())["rows"]}
    assert set(rows) == {"add:float32", "flexy:float32"}
    assert rows["add:float32"]["latency_us"] > 0  # timed in the stock interpreter
    assert rows["flexy:float32"]["latency_us"] is None  # Flex: not loadable there
    assert (rows["add:float32"]["outcome"], rows["add:float32"]["build_seconds"]) == ("restored", 0.5)
    assert (rows["flexy:float32"]["outcome"], rows["flexy:float32"]["float_ops"]) == ("unknown", 1)
    html = (tmp_path / "artifacts/report.html").read_text()
    assert len(re.findall(r'<img alt="(size|latency) chart" src="data:image/png;base64,iVBOR', html)) == 2
    assert "eval chart" not in html  # nothing was evaluated
    assert (tmp_path / "artifacts/report.md").read_text().count("\n- ") == 2  # both new
    failing = {**spec, "failures": {"never:float32": "never:float32: the builder raised"}}
    assert build_report(failing) == {"rows": 2, "changes": 0, "failed": 1}
    data = json.loads((tmp_path / "artifacts/report.json").read_text())
    assert data["failed"] == {"never:float32": "never:float32: the builder raised"}
    assert data["status"].startswith("FAILED: 1 of 3 artifacts failed")

    write_build(tmp_path, "add", "float32", sha="2" * 64, inputs={"zoo.py": "b"})
    assert build_report(spec) == {"rows": 2, "changes": 1, "failed": 0}
    md = (tmp_path / "artifacts/report.md").read_text()
    assert md.endswith("- add:float32: rebuilt (520 -> 520 bytes); inputs changed: zoo.py\n")


def test_a_baseline_build_gives_deltas(tmp_path):
    members = [write_build(tmp_path, "add", "float32")]
    spec = {"root": str(tmp_path), "folder": str(tmp_path / "artifacts"), "members": members, "runs": 3}
    build_report(spec)
    base = json.loads((tmp_path / "artifacts/report.json").read_text())
    base["rows"][0].update(size=400, sha256="0" * 64, latency_us=base["rows"][0]["latency_us"] * 2)
    (tmp_path / "main.json").write_text(json.dumps(base))
    build_report({**spec, "baseline": str(tmp_path / "main.json")})
    md = (tmp_path / "artifacts/report.md").read_text()
    assert f"## Against the baseline {tmp_path / 'main.json'}" in md
    assert "- add:float32: rebuilt (400 -> 520 bytes); same inputs" in md
    delta = r"^- add:float32: size \+30\.0% \(400 -> 520\), latency [-+][\d.]+% \([\d.]+ -> [\d.]+\)$"
    assert re.search(delta, md, flags=re.M), md


def test_identical_eval_values_get_a_line_not_a_chart():
    same = [table_row(task=f"m:{v}", variant=v) for v in ("a", "b")]
    assert eval_note(same) == "eval: every evaluated variant (2) scored accuracy 0.9278; no chart"
    assert "eval" not in charts(same)
    different = same + [table_row(task="m:c", variant="c", eval_value=0.5)]
    assert eval_note(different) is None and "eval" in charts(different)
