"""The command line: one help listing every command, help per command, --version, `status` and
its reasons, paths relative to where the user typed them."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from shared.browser import rendered_dom
from shared.project import load_json, run_build, run_listing_heavy_imports, write_project
from shared.zoo import ALPHA_BETA

MANIFEST = """
schema: 1
models:
  alpha:
    description: first words
    version: "1"
    source: {builder: zoo:alpha}
  beta:
    version: "2"
    source: {builder: zoo:beta}
bundles:
  both: {version: "1", include: [alpha, beta]}
"""

OURS = ("status", "verify", "cache", "bundle", "publish")


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"]])
def test_help_lists_every_command_without_tensorflow(tmp_path, args):
    code, output = run_listing_heavy_imports(tmp_path, *args)
    assert code == 0, output
    for command in (*OURS, "run", "list", "info", "clean"):
        assert f"litert-build {command} " in output, (command, output)
    assert output.strip().splitlines()[-1] == "HEAVY []"


@pytest.mark.parametrize("args", [["help", "publish"], ["publish", "--help"], ["publish", "-h"]])
def test_help_of_one_command(tmp_path, args):
    code, output = run_listing_heavy_imports(tmp_path, *args)
    assert code == 0, output
    assert "litert-build publish ARCHIVE --to URL" in output and "--to" in output, output
    assert not (tmp_path / ".litert-build").exists()  # asking for help writes nothing


def test_version_names_the_tools_that_shape_artifacts(tmp_path):
    code, output = run_listing_heavy_imports(tmp_path, "--version")
    assert code == 0, output
    lines = dict(line.split(" ", 1) for line in output.splitlines()[:-1])
    assert lines["litert-build"] == "0.6.0"
    assert {"tensorflow", "keras", "keras-hub", "ai-edge-litert", "python"} <= set(lines)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = write_project(tmp_path_factory.mktemp("cli") / "p",
                            {"zoo.py": ALPHA_BETA, "models.yaml": MANIFEST})
    result = run_build(project)
    assert result.returncode == 0, result.output
    return project


def _status(project, *args) -> dict[str, dict]:
    result = run_build(project, "status", "--json", *args)
    assert result.returncode == 0, result.output
    return {entry["task"]: entry for entry in json.loads(result.output)}


def test_status_says_why_each_task_would_be_built(built, tmp_path):
    project = write_project(tmp_path / "p", {"zoo.py": ALPHA_BETA, "models.yaml": MANIFEST})
    shutil.copytree(built / "artifacts", project / "artifacts")  # the built state, elsewhere
    fresh = _status(project)
    assert {t: s["state"] for t, s in fresh.items()} == {
        "convert:alpha:float32": "up to date", "convert:beta:float32": "up to date"}

    text = (project / "models.yaml").read_text()
    text = text.replace("description: first words", "description: other words")  # not in the key
    beta = "source: {builder: zoo:beta}"
    text = text.replace(beta, beta + "\n    verify: {atol: 0.01}")
    text = text.replace("models:\n", 'models:\n  gamma: {version: "1", source: {builder: zoo:alpha}}\n')
    (project / "models.yaml").write_text(text)
    (project / "zoo.py").write_text((project / "zoo.py").read_text() + "\n# a comment\n")
    manifest = project / "artifacts/alpha/1/alpha.float32.json"
    record = load_json(manifest)
    record["tools"]["tensorflow"] = "2.20.0"  # as if built with another TensorFlow
    manifest.write_text(json.dumps(record))

    status = _status(project)
    alpha, beta = status["convert:alpha:float32"], status["convert:beta:float32"]
    assert alpha["state"] == "out of date"
    assert "input zoo.py changed" in alpha["reasons"]
    assert any(r.startswith("tensorflow 2.20.0 -> ") for r in alpha["reasons"]), alpha
    assert not any("description" in r for r in alpha["reasons"]), alpha
    assert beta["reasons"] == ["input zoo.py changed", "setting verify.atol: 0.0001 -> 0.01"], beta
    assert status["convert:gamma:float32"]["state"] == "never built"
    only_beta = _status(project, "beta")
    assert list(only_beta) == ["convert:beta:float32"]
    text_output = run_build(project, "status").output
    assert "convert:beta:float32: out of date\n    input zoo.py changed\n" in text_output
    assert text_output.strip().endswith("0 up to date, 3 to build")


def test_a_description_edit_rebuilds_nothing(built):
    models = built / "models.yaml"
    models.write_text(models.read_text().replace("first words", "words that changed"))
    again = run_build(built)
    assert again.returncode == 0 and again.executed == [], again.output
    assert {s["state"] for s in _status(built).values()} == {"up to date"}


def test_paths_stay_relative_to_where_they_were_typed(built):
    archive = "p/artifacts/bundles/both-1.tar.gz"
    result = run_build(built.parent, "--manifest", "p", "bundle", "verify", archive)
    assert result.returncode == 0 and f"{archive}: OK" in result.output, result.output
    published = run_build(built.parent, "--manifest", "p/models.yaml", "publish", archive, "--to", "out")
    assert published.returncode == 0, published.output
    assert (built.parent / "out/both/1/both-1.tar.gz").is_file()
    assert not (built / "out").exists()


def test_events_file_has_one_json_line_per_task_outcome(tmp_path):
    zoo = ALPHA_BETA + "\n\ndef broken():\n    raise RuntimeError('no model today')\n"
    project = write_project(tmp_path / "p", {"zoo.py": zoo, "models.yaml": (
        'schema: 1\nmodels:\n  alpha: {version: "1", source: {builder: zoo:alpha}}\n'
        '  broken: {version: "1", source: {builder: zoo:broken}}\n')})
    first = run_build(tmp_path, "--manifest", "p", "--events", "logs/events.jsonl")
    assert first.returncode != 0
    lines = (tmp_path / "logs/events.jsonl").read_text().splitlines()
    events = {e["task"]: e for e in map(json.loads, lines)}
    alpha = events["convert:alpha:float32"]
    assert alpha["outcome"] == "converted" and alpha["seconds"] > 0
    assert alpha["artifact"]["size"] == (project / "artifacts/alpha/1/alpha.float32.tflite").stat().st_size
    assert alpha["verification"]["status"] == "passed" and alpha["verification"]["max_abs_error"] < 1e-4
    steps = re.findall(r"^  alpha:float32 \.\.\. (.+) \(\d+\.\ds\)$", first.output, flags=re.M)
    assert steps[:2] == ["importing TensorFlow and Keras", "loading the model"], first.output
    assert steps[-1] == "writing the artifact", first.output
    assert steps.index("converting") < steps.index("verifying the artifact against Keras")
    broken = events["convert:broken:float32"]
    assert broken["outcome"] == "failed" and "no model today" in broken["message"], broken
    report = (project / "artifacts/report.md").read_text()  # written although a task failed
    assert "**FAILED: 1 of 2 artifacts failed; 1 converted**" in report, report
    assert "- `broken:float32`: broken:float32: " in report and "no model today" in report
    assert "| alpha | float32 |" in report
    assert "report written" in first.output.splitlines()[-1], first.output[-500:]

    again = run_build(project, "--events", "events.jsonl", "convert:alpha:float32")
    assert again.returncode == 0, again.output
    lines = [json.loads(line) for line in (project / "events.jsonl").read_text().splitlines()]
    assert [(e["task"], e["outcome"]) for e in lines] == [("convert:alpha:float32", "up to date")]


@pytest.mark.browser
def test_a_failed_build_s_report_renders_in_headless_chromium(tmp_path):
    zoo = ALPHA_BETA + "\n\ndef broken():\n    raise RuntimeError('no model today')\n"
    project = write_project(tmp_path / "p", {"zoo.py": zoo, "models.yaml": (
        'schema: 1\nmodels:\n  alpha: {version: "1", source: {builder: zoo:alpha}}\n'
        '  broken: {version: "1", source: {builder: zoo:broken}}\n')})
    assert run_build(project).returncode != 0
    dom = rendered_dom(project / "artifacts/report.html", tmp_path / "profile")
    assert 'data-failed="broken:float32"' in dom and "no model today" in dom, dom[:3000]
    assert 'data-task="alpha:float32"' in dom and "FAILED: 1 of 2 artifacts failed" in dom
    assert '<a href="alpha/1/alpha.float32.tflite">.tflite</a>' in dom


FOUR_TYPOS = """schema: 1
models:
  a:
    version: "1"
    source: {builder: zoo:alpha}
    variants: {fp: {kind: float61}}
  b:
    version: "1"
    source: {builder: zoo:beta}
    batchsize: 2
  c: {version: "1", source: {builder: zoo:alpha}, verify: {atol: .nan}}
bundles:
  r: {version: "1", include: [gamma]}
"""


def test_four_typos_are_reported_at_once_with_their_lines(tmp_path):
    project = write_project(tmp_path / "p", {"zoo.py": ALPHA_BETA, "models.yaml": FOUR_TYPOS})
    result = run_build(project)
    assert result.returncode != 0
    located = re.findall(r"models\.yaml:(\d+):(\d+): (model|bundle) '(\w)'", result.output)
    lines = {(int(line), who) for line, _, _, who in located}
    assert {(6, "a"), (10, "b"), (11, "c"), (13, "r")} <= lines, result.output
    assert "float61" in result.output and "batchsize" in result.output and "finite" in result.output
    assert "Traceback" not in result.output
