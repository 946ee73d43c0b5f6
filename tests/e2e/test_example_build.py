"""End to end on the bundled example: build, load, verify, rebuild nothing, clean; its bundles
and its build report (also rendered in headless Chromium)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time

import numpy as np
import pytest
from shared.browser import FLAGS, chromium
from shared.project import load_json, run_build, run_listing_heavy_imports

from litert_build.export.inventory import op_inventory

EXPECTED = {
    "digits": "1.0.0",
    "listing_ranker": "0.3.0",
    "residual_mlp": "2.1.0",
}


def artifact(project, model, variant="float32"):
    folder = project / "artifacts" / model / EXPECTED[model]
    return folder / f"{model}.{variant}.tflite", folder / f"{model}.{variant}.json"


def test_first_build_converts_every_model(example_project):
    log = (example_project / "first_build.log").read_text()
    for model in EXPECTED:
        assert f".  convert:{model}:float32" in log
        tflite, manifest = artifact(example_project, model)
        data = tflite.read_bytes()
        meta = load_json(manifest)
        assert meta["artifact"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert meta["artifact"]["size"] == len(data)
        assert (meta["model"], meta["version"], meta["variant"]) == (model, EXPECTED[model], "float32")
        assert meta["verification"]["status"] == "passed"
        assert meta["flex_ops"] == []
        # Weights are constants in the file: no resource-variable ops left behind.
        assert "READ_VARIABLE" not in op_inventory(data).builtin
        assert set(meta["tools"]) >= {"python", "tensorflow", "keras", "ai-edge-litert", "litert-build"}
        assert meta["inputs_xxh3"]["examples/models.py"]


def test_artifact_runs_in_stock_runtime_and_matches_keras(example_project):
    """Independent of the worker: load the artifact and the Keras model here and compare."""
    import keras
    from ai_edge_litert.interpreter import Interpreter

    from examples.models import digits_classifier  # noqa: F401 - the repo's copy, same code

    tflite, _ = artifact(example_project, "digits")
    interpreter = Interpreter(model_content=tflite.read_bytes())
    runner = interpreter.get_signature_runner("serving_default")
    model = digits_classifier()  # the architecture; models.yaml loads the shipped weights into it
    model.load_weights(example_project / "examples/weights/digits.weights.h5")
    x = np.random.default_rng(7).random((1, 64), dtype=np.float32)
    got = runner(pixels=x)["probabilities"]
    want = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert abs(float(got.sum()) - 1.0) < 1e-4


def test_dict_inputs_named_by_keys_in_declared_order(example_project):
    meta = load_json(artifact(example_project, "listing_ranker")[1])
    sig = meta["signatures"]["serving_default"]
    assert [i["name"] for i in sig["inputs"]] == ["price", "category_id", "text_features"]
    assert [i["index"] for i in sig["inputs"]] == [0, 1, 2]
    assert [i["dtype"] for i in sig["inputs"]] == ["float32", "int32", "float32"]
    assert {o["name"] for o in sig["outputs"]} == {"score", "segment"}
    shapes = {i["name"]: i["shape"] for i in sig["inputs"]}
    assert shapes == {"price": [1, 1], "category_id": [1, 1], "text_features": [1, 16]}


def test_subclassed_and_sequential_names(example_project):
    sub = load_json(artifact(example_project, "residual_mlp")[1])["signatures"]["serving_default"]
    assert [i["name"] for i in sub["inputs"]] == ["features"]
    assert [o["name"] for o in sub["outputs"]] == ["output"]
    seq = load_json(artifact(example_project, "digits")[1])["signatures"]["serving_default"]
    assert [i["name"] for i in seq["inputs"]] == ["pixels"]
    assert [o["name"] for o in seq["outputs"]] == ["probabilities"]


def test_second_run_and_touch_convert_nothing(example_project):
    again = run_build(example_project)
    assert again.returncode == 0, again.output
    assert again.executed == []
    assert len(again.up_to_date) == 8
    module = example_project / "examples" / "models.py"
    later = time.time() + 5
    os.utime(module, (later, later))
    touched = run_build(example_project)
    assert touched.returncode == 0, touched.output
    assert touched.executed == [], touched.output


def test_list_and_info(example_project):
    listing = run_build(example_project, "list", "--all")
    assert listing.returncode == 0
    for model in EXPECTED:
        assert f"convert:{model}:float32" in listing.output
    info = run_build(example_project, "info", "convert:digits:float32")
    assert info.returncode == 0
    assert "up-to-date" in info.output


def test_manifest_is_deterministic_json(example_project):
    _, manifest = artifact(example_project, "digits")
    text = manifest.read_text()
    import json

    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert str(example_project) not in text  # no absolute paths inside outputs


def test_up_to_date_build_imports_no_tensorflow(example_project):
    rc, out = run_listing_heavy_imports(example_project)
    assert rc == 0, out
    assert "-- convert:digits:float32" in out
    assert "HEAVY []" in out


def test_state_is_sqlite_not_dbm(example_project):
    import sqlite3

    db = example_project / ".litert-build" / "doit.sqlite3"
    with sqlite3.connect(db) as conn:
        tasks = {row[0] for row in conn.execute("select task_id from doit")}
    assert "convert:digits:float32" in tasks


def test_console_script_with_manifest_option(example_project, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "litert-build"
    proc = subprocess.run([str(script), "--manifest", str(example_project / "models.yaml")],
                          cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count("-- convert:") == 8, proc.stdout


DIGITS_VARIANTS = ["float32", "dynamic_range", "float16", "int8", "int8_uint8", "int16x8"]


def test_every_digits_variant_is_scored_on_held_out_digits(example_project):
    for variant in DIGITS_VARIANTS:
        meta = load_json(artifact(example_project, "digits", variant)[1])
        assert meta["verification"]["status"] == "passed"
        ev = meta["eval"]
        assert (ev["metric"], ev["samples"], ev["max_drop"]) == ("accuracy", 360, 0.02)
        assert ev["keras_float"] > 0.85  # the example classifier really learned
        assert ev["drop"] <= 0.02
        assert abs(ev["drop"] - (ev["keras_float"] - ev["variant"])) < 1e-12
    uint8 = load_json(artifact(example_project, "digits", "int8_uint8")[1])
    assert uint8["signatures"]["serving_default"]["inputs"][0]["dtype"] == "uint8"


REPORT_VARIANTS = {("digits", v) for v in DIGITS_VARIANTS} | {
    ("listing_ranker", "float32"), ("residual_mlp", "float32")}


def rows(project):
    return load_json(project / "artifacts/report.json")["rows"]


def test_report_has_a_row_per_artifact_with_measured_values(example_project):
    data = rows(example_project)
    assert {(r["model"], r["variant"]) for r in data} == REPORT_VARIANTS
    for row in data:
        meta = load_json(example_project / "artifacts" / row["model"] / EXPECTED[row["model"]]
                         / f"{row['model']}.{row['variant']}.json")
        assert row["size"] == meta["artifact"]["size"] and row["sha256"] == meta["artifact"]["sha256"]
        assert row["size_ratio"] == meta["quantization"]["size_ratio_vs_float32"]
        assert row["latency_us"] > 0  # measured by the report task in the stock interpreter
        assert row["outcome"] == "converted" and row["build_seconds"] > 0
        assert row["flex_ops"] == [] and row["verification"] == "passed"
    int8 = next(r for r in data if (r["model"], r["variant"]) == ("digits", "int8"))
    assert int8["float_ops"] == 0 and int8["eval_metric"] == "accuracy" and int8["eval_drop"] <= 0.02
    md = (example_project / "artifacts/report.md").read_text()
    assert md.count("\n| digits | ") == 6 and "| listing_ranker | float32 |" in md
    assert "digits:int8: new" in md  # the first report: everything is new


def test_progress_summary_line(example_project):
    log = (example_project / "first_build.log").read_text()
    assert re.search(r"^litert-build: 8 converted, 0 from cache, 0 up to date, 0 failed, "
                     r"2 bundles written, report written in [\d.]+s$", log, flags=re.M), log[-2000:]


@pytest.mark.browser
def test_report_renders_in_headless_chromium(example_project, tmp_path):
    page = (example_project / "artifacts/report.html").as_uri()
    dom = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                          "--virtual-time-budget=5000", "--dump-dom", page],
                         capture_output=True, text=True, timeout=120).stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:2000]
    loaded = dict(re.findall(r'data-([a-z-]+)="(\d+)"', body.group(1)))
    assert loaded == {"images-loaded": "2", "images": "2"}  # size and latency charts decoded
    # Every digits variant scores the same accuracy: one line instead of a chart of equal bars.
    assert "eval: every evaluated variant (6) scored accuracy 0.9278; no chart" in dom
    assert len(re.findall(r'<tr data-task="', dom)) == len(REPORT_VARIANTS)
    for model, variant in REPORT_VARIANTS:
        assert f'data-task="{model}:{variant}"' in dom
    shot = tmp_path / "report.png"
    subprocess.run([chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile2'}",
                    "--window-size=1400,1800", f"--screenshot={shot}", page],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    json.loads((example_project / "artifacts/report.json").read_text())
