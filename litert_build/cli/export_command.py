"""``litert-build export`` (one model, no models.yaml to write first) and ``litert-build init``.

``export`` writes the models.yaml that says what was asked into the output folder and builds it
with the same engine as any project (verification, signature manifests, provenance, cache), so
the folder is a project the user can keep building incrementally
(``litert-build --manifest OUT``); ``--save-manifest PATH`` also writes that models.yaml where
the user wants it, with paths relative to it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from litert_build.config.kinds import KINDS
from litert_build.plan.sources import KERAS_SUFFIXES

FUNCTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$")

STARTER = """\
# litert-build manifest: the Keras / KerasHub models to convert, and their LiteRT variants.
# Build with `litert-build` in this folder; `litert-build help` lists every command.
# Every field, its default and meaning: litert_build/config/schema.json (point your editor's
# YAML language server at it) and the README's "models.yaml reference".
schema: 1

# artifacts: artifacts          # where artifacts go, relative to this file
# defaults:                     # settings merged into every model
#   verify: {samples: 8}

models: {}
# models:
#   classifier:                 # a name: letters, digits, _ . -
#     version: "1.0.0"          # quote it; it is part of the artifact path
#     source:
#       keras: models/classifier.keras       # or builder: my_models:build, or preset: presets/x
#     variants:                 # default: {float32: {}}
#       float32: {}
#       float16: {}
#       int8: {calibration: {npz: data/calibration.npz}}   # one array per input name
#
# bundles:                      # deterministic release archives of built artifacts
#   mobile: {version: "1.0.0", include: ["classifier:*"]}
"""


def write_starter(folder: Path, force: bool) -> int:
    target = folder / "models.yaml"
    if target.exists() and not force:
        print(f"litert-build init: {target} exists; not overwritten (--force replaces it)")
        return 1
    target.write_text(STARTER)
    print(f"wrote {target}: add your models under 'models:', then run litert-build")
    return 0


def source_entry(source: str, task: str, where: Path) -> tuple[str, str]:
    """(model name, the ``source:`` mapping as YAML flow text) for what the user named; paths
    are written relative to ``where`` (the folder of the models.yaml being written)."""
    path = Path(source).expanduser()
    if FUNCTION.match(source) and not path.exists():
        return source.rpartition(":")[2], f'{{builder: "{source}"}}'
    if not path.exists():
        raise ValueError(f"{source}: no such file or folder, and not a module:function builder")
    rel = Path(os.path.relpath(path.resolve(), where.resolve())).as_posix()
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem if path.is_file() else path.name).lstrip("._-")
    if path.is_dir():
        task_part = f', task: "{task}"' if task else ""
        return name or "model", f'{{preset: "{rel}"{task_part}}}'
    if not path.name.endswith(KERAS_SUFFIXES):
        raise ValueError(f"{source}: not a Keras model file ({', '.join(KERAS_SUFFIXES)})")
    return name or "model", f'{{keras: "{rel}"}}'


def manifest_text(source: str, task: str, variants: list[str], calibration: str, name: str,
                  version: str, where: Path) -> str:
    """The models.yaml of one export, written into ``where``."""
    unknown = [v for v in variants if v not in KINDS or v == "aot"]
    if unknown:
        allowed = ", ".join(k for k in KINDS if k != "aot")
        raise ValueError(f"--variant {unknown[0]}: not a kind export builds. Kinds: {allowed}")
    default_name, entry = source_entry(source, task, where)
    lines = ["# Written by litert-build export; build again with: litert-build --manifest <this file>",
             "schema: 1", "models:", f"  {name or default_name}:", f'    version: "{version}"',
             f"    source: {entry}"]
    if calibration:
        rel = Path(os.path.relpath(Path(calibration).expanduser().resolve(), where.resolve())).as_posix()
        lines.append(f'    calibration: {{npz: "{rel}"}}')
    lines.append("    variants:")
    lines += [f"      {variant}: {{}}" for variant in variants or ["float32"]]
    return "\n".join(lines) + "\n"


def run_export(source: str, options: dict, user_path) -> int:
    """Write OUT/models.yaml for ``source`` and build it (see the module docstring)."""
    import sys

    from litert_build.cli.main import main

    out = user_path(options["output"])
    out.mkdir(parents=True, exist_ok=True)
    origin = user_path(".").resolve()
    source_arg = source if not Path(source).expanduser().exists() else str(user_path(source))
    calibration = str(user_path(options["calibration"])) if options["calibration"] else ""
    try:
        text = manifest_text(source_arg, options["task"], options["variant"], calibration,
                             options["name"], options["model_version"], out)
        saved = options["save_manifest"] and user_path(options["save_manifest"])
        if saved:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(manifest_text(source_arg, options["task"], options["variant"], calibration,
                                           options["name"], options["model_version"], saved.parent))
    except ValueError as exc:
        print(f"litert-build export: {exc}")
        return 2
    (out / "models.yaml").write_text(text)
    if str(origin) not in sys.path:  # a builder module next to where the user typed
        sys.path.insert(0, str(origin))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(origin), os.environ.get("PYTHONPATH")]))
    print(f"wrote {out / 'models.yaml'}; building", flush=True)
    return main(["--manifest", str(out / "models.yaml"), "convert"], user_cwd=str(origin))
