"""One worker per model: the variants of a model that a run converts are built from one load and
trace (build/sessions.py), yet each stays its own task with its own bytes, failure and cache entry."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from shared.project import run_build, write_project
from shared.zoo import ALPHA, BETA, module

COUNTING = '''
def counted(name):
    """Append a line to builds-<name>.txt each time the model is built (once per worker)."""
    with open(f"builds-{name}.txt", "a") as fh:
        fh.write(f"{os.getpid()} {os.getppid()}\\n")


def alpha_counted():
    counted("alpha")
    return alpha()


def beta_counted():
    counted("beta")
    return beta()


def gamma_counted():
    counted("gamma")
    keras.utils.set_random_seed(3)
    x = keras.Input((5,), name="x")
    return keras.Model(x, keras.layers.Dense(4, activation="relu", name="h")(x))


def delta_counted():
    counted("delta")
    keras.utils.set_random_seed(4)
    x = keras.Input((8, 8, 1), name="image")
    h = keras.layers.Conv2D(2, 3, name="conv")(x)
    return keras.Model(x, keras.layers.GlobalAveragePooling2D(name="pooled")(h))


def crashing():
    """Dies in the builder, as a segfaulting native library would take the worker down."""
    counted("crashing")
    os._exit(3)
'''


def counted_module() -> str:
    return module(ALPHA, BETA, COUNTING)


VARIANTS = "{float32: {}, dynamic_range: {}, float16: {}}"


def _manifest(models: dict[str, str]) -> str:
    lines = ["schema: 1", "models:"]
    for name, variants in models.items():
        source = f"{{builder: zoo:{name}_counted}}"
        lines.append(f'  {name}: {{version: "1", source: {source}, variants: {variants}}}')
    return "\n".join(lines) + "\n"


def _files(project: Path) -> dict[str, str]:
    """Every artifact, manifest and provenance statement, by path: its sha256."""
    return {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((project / "artifacts").rglob("*"))
            if p.is_file() and p.suffix in (".tflite", ".json") and "report" not in p.name}


def _builds(project: Path, name: str) -> int:
    path = project / f"builds-{name}.txt"
    return len(path.read_text().splitlines()) if path.is_file() else 0


def _record(project: Path, model: str, variant: str) -> dict:
    return json.loads((project / ".litert-build" / "builds" / f"{model}.{variant}.json").read_text())


def test_siblings_built_in_one_worker_are_the_bytes_of_each_built_alone(tmp_path):
    files = {"zoo.py": counted_module(), "models.yaml": _manifest({"alpha": VARIANTS})}
    together = write_project(tmp_path / "together", files)
    result = run_build(together, "convert", env={"LITERT_BUILD_CACHE": "off"})
    assert result.returncode == 0, result.output
    assert sorted(result.converted) == ["alpha:dynamic_range", "alpha:float16", "alpha:float32"]
    assert _builds(together, "alpha") == 1, "one worker loaded the model for its three variants"
    leader = _record(together, "alpha", "float32")
    assert leader["session"] == {"leader": "alpha:float32",
                                 "variants": ["float32", "dynamic_range", "float16"]}
    assert "loading the model" in leader["steps"] and "converting" in leader["steps"]
    sibling = _record(together, "alpha", "float16")
    assert sibling["outcome"] == "converted" and sibling["session"] == {"leader": "alpha:float32"}
    assert "loading the model" not in sibling["steps"] and sibling["steps"]["converting"] > 0

    alone = write_project(tmp_path / "alone", files)
    result = run_build(alone, "convert", env={"LITERT_BUILD_CACHE": "off", "LITERT_BUILD_SESSIONS": "0"})
    assert result.returncode == 0, result.output
    assert _builds(alone, "alpha") == 3, "one worker per variant"
    assert "session" not in _record(alone, "alpha", "float16")
    built_together, built_alone = _files(together), _files(alone)
    assert len(built_together) == 9  # 3 artifacts, their manifests and provenance statements
    assert built_together == built_alone

    # One variant alone (its siblings not asked for): only it is built, with the same bytes.
    single = write_project(tmp_path / "single", files)
    result = run_build(single, "convert:alpha:float16", env={"LITERT_BUILD_CACHE": "off"})
    assert result.returncode == 0, result.output
    assert result.converted == ["alpha:float16"]
    assert {k: v for k, v in built_together.items() if ".float16." in k} == _files(single)


def test_a_variant_that_fails_verification_leaves_its_siblings_built(tmp_path):
    variants = "{float32: {}, float16: {verify: {atol: 0.0, rtol: 0.0}}, dynamic_range: {}}"
    project = write_project(tmp_path / "p", {"zoo.py": counted_module(),
                                             "models.yaml": _manifest({"alpha": variants})})
    result = run_build(project, "convert", env={"LITERT_BUILD_CACHE": "off"})
    assert result.returncode != 0
    assert sorted(result.converted) == ["alpha:dynamic_range", "alpha:float32"]
    assert _builds(project, "alpha") == 1
    assert "alpha:float16: the artifact disagrees with the Keras model" in result.output, result.output
    folder = project / "artifacts" / "alpha" / "1"
    assert not list(folder.glob("alpha.float16.*")), "nothing of the failed variant at its target paths"
    for variant in ("float32", "dynamic_range"):
        assert (folder / f"alpha.{variant}.tflite").stat().st_size > 0
        assert (folder / f"alpha.{variant}.intoto.json").is_file()

    # The same failure, word for word, when the variant is built alone.
    alone = run_build(project, "convert:alpha:float16", env={"LITERT_BUILD_CACHE": "off"})
    assert alone.returncode != 0
    together_line = next(line for line in result.output.splitlines() if "disagrees" in line)
    assert together_line in alone.output


def test_a_worker_crash_fails_only_its_model_and_the_next_model_still_builds(tmp_path):
    manifest = _manifest({"crashing": "{float32: {}, float16: {}}", "beta": "{float32: {}, float16: {}}"})
    manifest = manifest.replace("zoo:crashing_counted", "zoo:crashing")
    project = write_project(tmp_path / "p", {"zoo.py": counted_module(), "models.yaml": manifest})
    result = run_build(project, "convert", env={"LITERT_BUILD_CACHE": "off"})
    assert result.returncode != 0
    assert sorted(result.converted) == ["beta:float16", "beta:float32"]
    for variant in ("float32", "float16"):
        assert f"crashing:{variant}: the conversion worker exited with code 3" in result.output, result.output
        assert not list((project / "artifacts").rglob(f"crashing.{variant}.*"))
    # The leader's worker crashed with no result for its sibling: the sibling was tried alone.
    assert _builds(project, "crashing") == 2
    assert _builds(project, "beta") == 1


def test_two_processes_build_each_of_four_models_once_and_the_next_run_converts_nothing(tmp_path):
    two = "{float32: {}, float16: {}}"
    manifest = _manifest({"alpha": two, "beta": two, "gamma": two, "delta": two})
    project = write_project(tmp_path / "p", {"zoo.py": counted_module(), "models.yaml": manifest})
    result = run_build(project, "-n", "2", "convert", env={"LITERT_BUILD_CACHE": "off"})
    assert result.returncode == 0, result.output
    assert len(result.converted) == 8 and len(set(result.converted)) == 8
    for name in ("alpha", "beta", "gamma", "delta"):
        assert _builds(project, name) == 1, f"{name} was loaded {_builds(project, name)} times"
    workers = [line.split() for name in ("alpha", "beta", "gamma", "delta")
               for line in (project / f"builds-{name}.txt").read_text().splitlines()]
    assert len({pid for pid, _ in workers}) == 4, "a worker process per model"
    assert len({parent for _, parent in workers}) == 1, "doit's two runner processes shared one zygote"
    assert "8 converted" in result.output

    again = run_build(project, "-n", "2", "convert", env={"LITERT_BUILD_CACHE": "off"})
    assert again.returncode == 0, again.output
    assert again.executed == [] and len(again.up_to_date) == 8
    assert all(_builds(project, name) == 1 for name in ("alpha", "beta", "gamma", "delta"))

    # The bytes of a serial build (-n 1) of the same project.
    serial = write_project(tmp_path / "serial", {"zoo.py": counted_module(), "models.yaml": manifest})
    result = run_build(serial, "convert", env={"LITERT_BUILD_CACHE": "off"})
    assert result.returncode == 0, result.output
    assert _files(serial) == _files(project) and len(_files(project)) == 24


TIMED = '''
def stamped(name, build):
    with open(f"started-{name}.txt", "w") as fh:
        fh.write(repr(__import__("time").time()))
    return build()


def alpha_timed():
    return stamped("alpha", alpha)


def beta_timed():
    return stamped("beta", beta)
'''


def test_with_a_memory_budget_two_processes_run_one_worker_at_a_time(tmp_path):
    manifest = ('schema: 1\nmodels:\n  alpha: {version: "1", source: {builder: zoo:alpha_timed}}\n'
                '  beta: {version: "1", source: {builder: zoo:beta_timed}}\n')
    project = write_project(tmp_path / "p", {"zoo.py": module(ALPHA, BETA, TIMED), "models.yaml": manifest})
    result = run_build(project, "-n", "2", "--memory", "1M", "convert", env={"LITERT_BUILD_CACHE": "off"})
    assert result.returncode == 0, result.output
    assert sorted(result.converted) == ["alpha:float32", "beta:float32"]
    assert result.output.count("more than the 0.0 GB available; starting it alone") == 2, result.output
    assert result.output.count(": waiting for memory: expects ~") <= 1, result.output  # 0 if one started late
    started = {name: float((project / f"started-{name}.txt").read_text()) for name in ("alpha", "beta")}
    first, second = sorted(started, key=started.get)
    finished = (project / "artifacts" / first / "1" / f"{first}.float32.tflite").stat().st_mtime
    assert started[second] >= finished, "the second worker started before the first had finished"
    assert json.loads((project / ".litert-build" / "memory.json").read_text()) == {}
    record = _record(project, first, "float32")
    assert 0 < record["peak_rss"] < 8 * 2**30  # measured, for the next run's estimate
