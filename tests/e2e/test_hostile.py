"""Hostile but realistic input, end to end through the CLI: every case asserts the exit code,
the exact located message, that the other model still builds (when the file as a whole can be
read), and that nothing outside the project changed.

A project is ``<sandbox>/a/b/c/project``: an escape such as ``../../../x`` lands inside the
sandbox, where the walk after each run finds it. The well-behaved model ``good`` is restored
from a warm cache, so a case that fails before any conversion costs about a second; the cases
that need the conversion worker share one build (``worker_battery``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from shared.project import Run, build_project, run_build, run_python, write

ZOO = '''
import keras
import numpy as np


def good():
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((8,), name="x"), keras.layers.Dense(4, name="y")])


def wide():
    keras.utils.set_random_seed(2)
    return keras.Sequential([keras.Input((64,), name="x"), keras.layers.Dense(64, activation="relu"),
                             keras.layers.Dense(10, name="y")])


def nan_weights():
    model = good()
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([np.full_like(kernel, np.nan), bias])
    return model


def raises():
    raise RuntimeError("the builder's own bug")


def not_a_model():
    return 42


def calib_ok():
    return {"x": np.random.default_rng(0).standard_normal((40, 64)).astype("float32")}
'''

GOOD = '''
schema: 1
models:
  good:
    version: "1.0.0"
    source: {builder: zoo:good}
'''
GOOD_ARTIFACT = "artifacts/good/1.0.0/good.float32.tflite"


def snapshot(sandbox: Path, project: Path) -> dict[str, tuple[int, int]]:
    """Every path under the sandbox but outside the project, with size and mtime."""
    found = {}
    for path in sandbox.rglob("*"):
        if path == project or project in path.parents:
            continue
        stat = path.lstat()
        found[str(path.relative_to(sandbox))] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory) -> Path:
    """A cache holding the good model, so each case restores it instead of converting."""
    root = tmp_path_factory.mktemp("warm")
    _, run = build_project(root, {"zoo.py": ZOO, "models.yaml": GOOD},
                           env={"LITERT_BUILD_CACHE": str(root / "cache")})
    assert run.returncode == 0, run.output
    return root / "cache"


class Case:
    """One hostile project: its files, then a run and the checks every case shares."""

    def __init__(self, tmp_path: Path, cache: Path, manifest: str | bytes | None = GOOD):
        self.sandbox = tmp_path / "sandbox"
        self.project = self.sandbox / "a" / "b" / "c" / "project"
        self.project.mkdir(parents=True)
        (self.sandbox / "outside.txt").write_text("a file the build must never touch\n")
        self.cache = tmp_path / "cache"
        shutil.copytree(cache, self.cache)
        write(self.project / "zoo.py", ZOO)
        if isinstance(manifest, bytes):
            (self.project / "models.yaml").write_bytes(manifest)
        elif manifest is not None:
            write(self.project / "models.yaml", manifest)
        self.before = snapshot(self.sandbox, self.project)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Run:
        result = run_build(self.project, *args, env={"LITERT_BUILD_CACHE": str(self.cache), **(env or {})})
        assert snapshot(self.sandbox, self.project) == self.before, "something changed outside the project"
        assert "Traceback" not in result.output, result.output
        return result

    def good_built(self) -> bool:
        path = self.project / GOOD_ARTIFACT
        if not path.is_file():
            return False
        from ai_edge_litert.interpreter import Interpreter

        Interpreter(model_path=str(path)).allocate_tensors()
        meta = json.loads(path.with_suffix(".json").read_text())
        return meta["artifact"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_with(extra: str) -> str:
    return GOOD + textwrap.dedent(extra)


def billion_laughs() -> str:
    lines = ["schema: 1", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    lines.append("models: {good: {version: '1', source: {builder: zoo:good}, description: *a9}}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------- the file as a whole
# (id, models.yaml, the exact located message). Nothing can build: the run says why and exits 1.
WHOLE_FILE = [
    ("missing", None, "models.yaml: no manifest at models.yaml. Create a models.yaml (see the README) "
                      "or set LITERT_BUILD_MANIFEST to its path."),
    ("empty", "", "models.yaml: is empty. Start it with 'schema: 1' and a 'models:' mapping"),
    ("not-yaml", "schema: 1\nmodels: {good: [\n", "models.yaml:3:1: is not valid YAML: "),
    ("a-list", "- schema\n- models\n",
     "models.yaml: must be a mapping with 'schema' and 'models', got a list."),
    ("schema-2", "schema: 2\nmodels: {}\n", "models.yaml:1:1: field 'schema': must be 1, got 2."),
    ("no-schema", "models: {}\n", "models.yaml, field 'schema': is required but missing."),
    ("unknown-top-field", "schema: 1\nmodels: {}\nreport: true\n",
     "models.yaml:3:1: field 'report': unknown field 'report'."),
    ("latin-1", "schema: 1\n# caf\xe9\nmodels: {}\n".encode("latin-1"),
     "models.yaml: is not UTF-8 (byte 0xe9 on line 2). Save it as UTF-8"),
    ("billion-laughs", billion_laughs(), "models.yaml: its YAML aliases expand to more than 100,000 values"),
    ("nul-bytes", b"schema: 1\x00\nmodels: {}\n", "models.yaml:1:10: is not valid YAML: "),
    ("deep-nesting", "schema: 1\nmodels: " + "[" * 5000 + "]" * 5000 + "\n", "models.yaml: "),
    ("models-not-mapping", "schema: 1\nmodels: [a, b]\n", "models.yaml:2:1: field 'models': "),
    ("duplicate-top-key", "schema: 1\nschema: 1\nmodels: {}\n",
     "models.yaml:2:1: field 'schema': given 2 times (lines [1, 2])"),
    ("artifacts-escape", GOOD + "artifacts: ../../../escaped\n",
     "models.yaml:6:1: field 'artifacts': '../../../escaped' is outside the folder of models.yaml"),
    ("artifacts-absolute", None, "models.yaml:6:1: field 'artifacts': "),  # absolute path: set below
    ("defaults-inf", "schema: 1\ndefaults: {verify: {atol: .inf}}\nmodels: {}\n",
     "models.yaml:2:21: field 'defaults.verify.atol': must be a finite number, got inf."),
]


@pytest.mark.parametrize("name, manifest, message", WHOLE_FILE, ids=[c[0] for c in WHOLE_FILE])
def test_whole_file_problems(tmp_path, warm_cache, name, manifest, message):
    case = Case(tmp_path, warm_cache, manifest)
    if name == "artifacts-absolute":
        write(case.project / "models.yaml", GOOD + f"artifacts: {case.sandbox / 'abs-out'}\n")
        message += f"'{case.sandbox / 'abs-out'}' is outside the folder of models.yaml"
    for args in ((), ("list",)):  # the build and any other command say it the same way
        result = case.run(*args)
        assert result.returncode == 1, result.output
        assert f"litert-build: {message}" in result.output, result.output
    assert not case.good_built()


# ---------------------------------------------------- one model (the other still builds)
MODEL_LEVEL = [
    ("model-name-dotdot", '  "..": {version: "1", source: {builder: zoo:good}}',
     "models.yaml:6:3: model '..': is not a valid model name"),
    ("model-name-slash", '  "x/../../y": {version: "1", source: {builder: zoo:good}}',
     "models.yaml:6:3: model 'x/../../y': is not a valid model name"),
    ("version-traversal", '  bad: {version: "../../x", source: {builder: zoo:good}}',
     "models.yaml:6:9: model 'bad', field 'version': '../../x' does not match the pattern"),
    ("version-slash", '  bad: {version: "1/../../../x", source: {builder: zoo:good}}',
     "models.yaml:6:9: model 'bad', field 'version': '1/../../../x' does not match the pattern"),
    ("version-absolute", '  bad: {version: "/tmp/x", source: {builder: zoo:good}}',
     "models.yaml:6:9: model 'bad', field 'version': '/tmp/x' does not match the pattern"),
    ("variant-traversal",
     '  bad: {version: "1", source: {builder: zoo:good}, variants: {"../x": {kind: float32}}}',
     "models.yaml:6:52: model 'bad', field 'variants': '../x' does not match the pattern "
     "^[A-Za-z0-9][A-Za-z0-9_-]*$."),
    ("module-missing", '  bad: {version: "1", source: {builder: nowhere:build}}',
     "models.yaml:6:32: model 'bad', field 'source.builder': module 'nowhere' not found."),
    ("keras-file-missing", '  bad: {version: "1", source: {keras: missing.keras}}',
     "models.yaml:6:32: model 'bad', field 'source.keras': file 'missing.keras' not found"),
    ("weights-missing", '  bad: {version: "1", source: {builder: zoo:good, weights: w.weights.h5}}',
     "models.yaml:6:51: model 'bad', field 'source.weights': file 'w.weights.h5' not found"),
    ("unknown-kind", '  bad: {version: "1", source: {builder: zoo:good}, variants: {v: {kind: int3}}}',
     "models.yaml:6:67: model 'bad', variant 'v', field 'kind': 'int3' is not allowed."),
    ("unknown-converter-option",
     '  bad: {version: "1", source: {builder: zoo:good}, converter_options: {optimize_harder: true}}',
     "models.yaml:6:72: model 'bad', field 'converter_options.optimize_harder': "
     "unknown field 'optimize_harder'"),
    ("atol-inf", '  bad: {version: "1", source: {builder: zoo:good}, verify: {atol: .inf}}',
     "models.yaml:6:61: model 'bad', field 'verify.atol': must be a finite number, got inf."),
    ("atol-nan", '  bad: {version: "1", source: {builder: zoo:good}, verify: {atol: .nan}}',
     "models.yaml:6:61: model 'bad', field 'verify.atol': must be a finite number, got nan."),
    ("max-drop-nan", '  bad: {version: "1", source: {builder: zoo:good}, '
                     'eval: {builder: zoo:calib_ok, labels: y, max_drop: .nan}}',
     "models.yaml:6:93: model 'bad', field 'eval.max_drop': must be a finite number, got nan."),
    ("min-sqnr-inf", '  bad: {version: "1", source: {builder: zoo:good}, verify: {min_sqnr_db: -.inf}}',
     "models.yaml:6:61: model 'bad', field 'verify.min_sqnr_db': must be a finite number, got -inf."),
    ("samples-zero", '  bad: {version: "1", source: {builder: zoo:good}, verify: {samples: 0}}',
     "models.yaml:6:61: model 'bad', field 'verify.samples': "),
    ("int-range-reversed", '  bad: {version: "1", source: {builder: zoo:good}, verify: {int_range: [10, 0]}}',
     "models.yaml:6:61: model 'bad', field 'verify.int_range': [10, 0] is empty: give [low, high) with "
     "low < high."),
    ("calibration-missing-file",
     '  bad: {version: "1", source: {builder: zoo:wide}, calibration: {npz: nope.npz}, variants: {int8: {}}}',
     "models.yaml:6:66: model 'bad', variant 'int8', field 'calibration.npz': file 'nope.npz' not found"),
    ("int8-without-calibration", '  bad: {version: "1", source: {builder: zoo:wide}, variants: {int8: {}}}',
     "models.yaml:6:63: model 'bad', variant 'int8', field 'calibration': kind 'int8' needs "
     "calibration data"),
    ("duplicate-model", '  good: {version: "2", source: {builder: zoo:good}}',
     "model name given 2 times"),
]


@pytest.mark.parametrize("name, entry, message", MODEL_LEVEL, ids=[c[0] for c in MODEL_LEVEL])
def test_one_bad_model_does_not_stop_the_others(tmp_path, warm_cache, name, entry, message):
    case = Case(tmp_path, warm_cache, GOOD + entry + "\n")
    result = case.run("convert")
    assert result.returncode != 0, result.output
    assert message in result.output, result.output
    if name != "duplicate-model":  # a duplicated name makes both entries unusable, by design
        assert case.good_built(), result.output
        assert result.restored == ["good:float32"], result.output


# ------------------------------------------------------------------------- bundles
OUTSIDE = ("models.yaml:7:48: bundle 'rel', field 'files[0]': extra files must be inside the folder of "
           "models.yaml")
BUNDLES = [
    ("bundle-version-traversal", 'version: "1/../../../../x"', "include: [good]", "",
     "models.yaml:7:9: bundle 'rel', field 'version': '1/../../../../x' does not match the pattern"),
    ("bundle-version-absolute", 'version: "/tmp/x"', "include: [good]", "",
     "models.yaml:7:9: bundle 'rel', field 'version': '/tmp/x' does not match the pattern"),
    ("bundle-file-traversal", 'version: "1"', "include: [good]", "files: [../../../../outside.txt]", OUTSIDE),
    ("bundle-file-etc-passwd", 'version: "1"', "include: [good]",
     "files: [../../../../../../../../etc/passwd]", OUTSIDE),
    ("bundle-file-absolute", 'version: "1"', "include: [good]", "files: [/etc/hostname]", OUTSIDE),
    ("bundle-file-symlink-out", 'version: "1"', "include: [good]", "files: [link.txt]", OUTSIDE),
    ("bundle-include-nothing", 'version: "1"', "include: [nothing*]", "",
     "models.yaml:7:33: bundle 'rel', field 'include[0]': 'nothing*' matches no model:variant"),
    ("bundle-name-traversal", 'version: "1"', "include: [good]", "",
     "models.yaml:7:3: bundle '../../x': is not a valid bundle name"),
]


@pytest.mark.parametrize("name, version, include, files, message", BUNDLES, ids=[c[0] for c in BUNDLES])
def test_hostile_bundles_write_nothing_outside(tmp_path, warm_cache, name, version, include, files, message):
    bundle = '"../../x"' if name == "bundle-name-traversal" else "rel"
    text = GOOD + f"bundles:\n  {bundle}: {{{version}, {include}{', ' + files if files else ''}}}\n"
    case = Case(tmp_path, warm_cache, text)
    (case.project / "link.txt").symlink_to(case.sandbox / "outside.txt")
    case.before = snapshot(case.sandbox, case.project)
    result = case.run("convert", "bundle")
    assert result.returncode != 0, result.output
    assert message in result.output, result.output
    assert case.good_built()
    assert not list((case.project / "artifacts").glob("bundles/*")), "no archive may be written"


# ------------------------------------------------------------- the shared cache
def _good_entry(case: Case) -> tuple[Path, dict]:
    entries = list(case.cache.glob("v1/*/*/entry.json"))
    assert len(entries) == 1
    return entries[0].parent, json.loads(entries[0].read_text())


def _sha(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


CACHE_NAMES = ["../../../../../../escaped.txt", "/tmp/litert-build-escaped.txt", "a/../../escaped.txt",
               "good.float32.tflite/../../escaped.txt"]


@pytest.mark.parametrize("bad_name", CACHE_NAMES, ids=["dotdot", "absolute", "inner-dotdot", "through-file"])
def test_cache_entry_with_a_bad_name_is_evicted_never_written(tmp_path, warm_cache, bad_name):
    case = Case(tmp_path, warm_cache)
    folder, entry = _good_entry(case)
    payload = b"written outside?\n"
    entry["files"][bad_name] = _sha(payload)
    (folder / "entry.json").write_text(json.dumps(entry))
    hidden = folder / "files" / bad_name.lstrip("/")
    os.makedirs(os.path.dirname(os.path.normpath(hidden)), exist_ok=True)
    Path(os.path.normpath(hidden)).write_bytes(payload)
    case.before = snapshot(case.sandbox, case.project)
    result = case.run("convert")
    assert result.returncode == 0, result.output
    assert "is corrupted (unsafe file name: " in result.output, result.output
    assert result.converted == ["good:float32"] and case.good_built()
    assert not Path("/tmp/litert-build-escaped.txt").exists()


def test_cache_entry_whose_manifest_names_an_asset_outside_is_not_used(tmp_path, warm_cache):
    case = Case(tmp_path, warm_cache)
    folder, entry = _good_entry(case)
    manifest_file = folder / "files" / "good.float32.json"
    meta = json.loads(manifest_file.read_text())
    meta["assets"] = {"folder": "..", "files": {"../../../../outside.txt": "0" * 64}}
    data = json.dumps(meta).encode()
    manifest_file.write_bytes(data)
    entry["files"]["good.float32.json"] = _sha(data)
    (folder / "entry.json").write_text(json.dumps(entry))
    result = case.run("convert")
    assert result.returncode == 0, result.output
    assert "does not hold the build it is keyed by" in result.output, result.output
    assert result.converted == ["good:float32"] and case.good_built()


def test_cache_entry_that_is_not_json_is_evicted(tmp_path, warm_cache):
    case = Case(tmp_path, warm_cache)
    folder, _ = _good_entry(case)
    (folder / "entry.json").write_text("{not json")
    result = case.run("convert")
    assert result.returncode == 0 and "entry.json unreadable" in result.output, result.output
    assert result.converted == ["good:float32"] and case.good_built()


# ------------------------------------------------------------------ command line
def test_manifest_option_that_does_not_exist(tmp_path, warm_cache):
    case = Case(tmp_path, warm_cache)
    result = case.run("--manifest", str(case.sandbox / "nope" / "models.yaml"))
    assert result.returncode == 2
    assert f"litert-build: --manifest {case.sandbox / 'nope' / 'models.yaml'}: no such file." in result.output


def test_manifest_option_naming_a_folder_without_models_yaml(tmp_path, warm_cache):
    case = Case(tmp_path, warm_cache)
    result = case.run("--manifest", str(case.sandbox))
    assert result.returncode == 2 and "no such file" in result.output, result.output


def test_verify_and_cache_commands_with_a_broken_manifest(tmp_path, warm_cache):
    case = Case(tmp_path, warm_cache, "schema: 3\nmodels: {}\n")
    result = case.run("verify")
    assert result.returncode == 1
    assert "models.yaml:1:1: field 'schema': must be 1, got 3." in result.output, result.output


def test_bundle_verify_of_an_archive_with_escaping_entries(tmp_path, warm_cache):
    case = Case(tmp_path, warm_cache)
    archive = case.project / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("x-1/../../../../escaped.txt", "/abs-escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, fileobj=__import__("io").BytesIO(b"bad"))
    case.before = snapshot(case.sandbox, case.project)
    result = case.run("bundle", "verify", str(archive))
    assert result.returncode == 1 and "FAILED" in result.output, result.output


# ------------------------------------------------ cases that run the conversion worker
def calibrated(npz: str) -> str:
    source = '{version: "1", source: {builder: zoo:wide}, '
    return source + "calibration: {npz: " + npz + "}, variants: {int8: {}}}"


WORKER = {  # model name -> (yaml entry, exact message after "<model>:<variant>: ")
    "raises": ('{version: "1", source: {builder: zoo:raises}}',
               "could not load the model from zoo: RuntimeError: the builder's own bug"),
    "notmodel": ('{version: "1", source: {builder: zoo:not_a_model}}',
                 "builder 'zoo:not_a_model' returned int, not a keras.Model."),
    "nan": ('{version: "1", source: {builder: zoo:nan_weights}}',
            "'y': 32 of 32 values are NaN or Inf (first at sample 0, element [0, 0]), and the Keras model "
            "itself produces the very same non-finite values at the same places"),
    "badweights": ('{version: "1", source: {builder: zoo:good, weights: wide.weights.h5}}',
                   "weights file 'wide.weights.h5' does not fit the model that builder 'zoo:good' returns"),
    "calib_nan": (calibrated("nan.npz"),
                  "calibration file 'nan.npz', array 'x': sample 3 holds nan (1 of 40 samples have NaN "
                  "or Inf)."),
    "calib_key": (calibrated("key.npz"),
                  "calibration file 'key.npz' has arrays ['pixels']; the model's inputs are ['x'] "
                  "(missing: ['x']) (not inputs: ['pixels'])."),
    "calib_shape": (calibrated("shape.npz"),
                    "calibration file 'shape.npz', array 'x': expected samples of shape ['N', 64]"),
    "calib_dtype": (calibrated("dtype.npz"),
                    "calibration file 'dtype.npz', array 'x': expected dtype float32, got int64."),
    "calib_garbage": (calibrated("garbage.npz"),
                      "calibration file 'garbage.npz' cannot be read as a .npz of arrays"),
    "eval_inf": ('{version: "1", source: {builder: zoo:wide}, eval: {npz: inf.npz, labels: label}}',
                 "eval file 'inf.npz', array 'x': sample 0 holds inf (1 of 40 samples have NaN or Inf)."),
    "eval_labels": ('{version: "1", source: {builder: zoo:wide}, eval: {npz: eval_ok.npz, labels: answers}}',
                    "eval file 'eval_ok.npz' has no labels array 'answers' (it has ['label', 'x'])."),
}


@pytest.fixture(scope="module")
def worker_battery(tmp_path_factory, warm_cache):
    """One build of every worker case next to the good model (two conversions at a time)."""
    tmp = tmp_path_factory.mktemp("battery")
    entries = "\n".join(f"  {name}: {entry}" for name, (entry, _) in WORKER.items())
    case = Case(tmp, warm_cache, GOOD + entries + "\n")
    p = case.project
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 64)).astype("float32")
    nan = x.copy()
    nan[3, 5] = np.nan
    np.savez(p / "nan.npz", x=nan)
    np.savez(p / "key.npz", pixels=x)
    np.savez(p / "shape.npz", x=x[:, :32])
    np.savez(p / "dtype.npz", x=(x * 10).astype("int64"))
    (p / "garbage.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    inf = x.copy()
    inf[0, 0] = np.inf
    np.savez(p / "inf.npz", x=inf, label=np.zeros(40, dtype="int32"))
    np.savez(p / "eval_ok.npz", x=x, label=np.zeros(40, dtype="int32"))
    run_python(p, "import zoo; zoo.wide().save_weights('wide.weights.h5')")
    case.before = snapshot(case.sandbox, case.project)
    return case, case.run("-n", "2", "convert")


@pytest.mark.parametrize("model", list(WORKER))
def test_worker_failures_are_located_and_others_build(worker_battery, model):
    case, result = worker_battery
    assert result.returncode != 0, result.output
    variant = "int8" if "int8: {}" in WORKER[model][0] else "float32"
    lines = [line for line in result.output.splitlines() if line.startswith(f"{model}:{variant}: ")]
    assert len(lines) == 1 and WORKER[model][1] in lines[0], result.output
    assert not list((case.project / "artifacts").glob(f"{model}/**/*.tflite")), "no artifact for a failure"
    assert case.good_built() and result.restored == ["good:float32"]
    assert "Traceback" not in result.output


# --------------------------------------------------------------------- a full disk
def test_full_disk_says_so_leaves_nothing_partial_and_the_next_run_succeeds(tmp_path, warm_cache):
    """The project lives on a 6 MB tmpfs (in a private mount namespace: no root needed, nothing
    left mounted), filled by a filler file: completely (doit's own database cannot be written),
    then all but a few KB (the conversion worker runs out), then freed."""
    case = Case(tmp_path, warm_cache)
    shutil.copy(case.project / "zoo.py", tmp_path / "zoo.py")
    shutil.copy(case.project / "models.yaml", tmp_path / "models.yaml")
    build = f"LITERT_BUILD_CACHE=off {sys.executable} -m litert_build.cli.main"
    script = textwrap.dedent(rf'''
        set -u
        mount -t tmpfs -o size=6m tmpfs "{case.project}"
        cp "{tmp_path}/zoo.py" "{tmp_path}/models.yaml" "{case.project}/"
        cd "{case.project}"
        head -c 7000000 /dev/zero > filler 2>/dev/null
        {build} > "{tmp_path}/full.log" 2>&1; echo "full=$?" >> "{tmp_path}/codes"
        rm filler; head -c 6230000 /dev/zero > filler
        {build} > "{tmp_path}/nearly.log" 2>&1; echo "nearly=$?" >> "{tmp_path}/codes"
        find . \( -name '*.tflite' -o -name '*.tmp' -o -path './.litert-build/tmp/*' \) \
            > "{tmp_path}/left.txt"
        rm filler
        {build} > "{tmp_path}/freed.log" 2>&1; echo "freed=$?" >> "{tmp_path}/codes"
        find . -name '*.tflite' > "{tmp_path}/built.txt"
    ''')
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", script],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    logs = {name: (tmp_path / f"{name}.log").read_text() for name in ("full", "nearly", "freed")}
    assert (tmp_path / "codes").read_text().split() == ["full=1", "nearly=1", "freed=0"], logs
    assert ("litert-build: no space left on device writing .litert-build/doit.sqlite3 (while building). "
            "Free some space and run again") in logs["full"], logs["full"]
    assert (f"good:float32: no space left on device (the conversion worker could not write its files "
            f"under {case.project})") in logs["nearly"], logs["nearly"]
    assert not any("Traceback" in log or "JSONDecodeError" in log for log in logs.values()), logs
    assert (tmp_path / "left.txt").read_text() == "", "a partial artifact or temp file was left"
    assert (tmp_path / "built.txt").read_text().split() == ["./artifacts/good/1.0.0/good.float32.tflite"]
