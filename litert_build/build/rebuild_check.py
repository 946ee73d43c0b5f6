"""``litert-build verify [model[:variant] ...]``: rebuild and compare byte for byte.

Every selected artifact is converted again from scratch, in a temporary folder and
without the artifact cache, and each file of the fresh build (the .tflite, its
signature manifest, its provenance statement, its runtime assets) is compared with
the one in ``artifacts/``. Prints the first difference per file, and why, from the weights
digests of the two signature manifests: the builder made other weights (it is not deterministic
here), or the same weights were converted to other bytes. Exit status 1 when anything differs or
was never built.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from litert_build.build.convert_action import write_provenance
from litert_build.build.workers import failure_message, run_worker
from litert_build.errors import ManifestError
from litert_build.plan.layout import artifact_files, targets
from litert_build.plan.specs import BuildSpec, make_plan, matches


def select(specs: list[BuildSpec], patterns: list[str]) -> list[BuildSpec]:
    """``model`` or ``model:variant`` (globs allowed); none given = every spec."""
    if not patterns:
        return specs
    return [spec for spec in specs if any(matches(spec, pattern) for pattern in patterns)]


def first_difference(expected: bytes, actual: bytes) -> str | None:
    """Where two byte strings first differ, said for a person (a line for text files)."""
    if expected == actual:
        return None
    offset = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
                  min(len(expected), len(actual)))
    where = f"first difference at byte {offset} (sizes {len(expected)} vs {len(actual)})"
    try:
        old, new = expected.decode().splitlines(), actual.decode().splitlines()
    except UnicodeDecodeError:
        return where
    for number, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if a != b:
            return f"{where}, line {number}: built {a.strip()!r}, rebuilt {b.strip()!r}"
    return where


def short(digest: str | None) -> str:
    """The first 16 hex characters of a digest, for messages."""
    return (digest or "none")[:16]


def explain(built: dict[str, Any] | None, rebuilt: dict[str, Any] | None) -> str | None:
    """Why a rebuild differs, from the ``weights_sha256`` of the built and rebuilt signature
    manifests; None when a manifest or its digest is missing (built by an older litert-build)."""
    old = (built or {}).get("weights_sha256")
    new = (rebuilt or {}).get("weights_sha256")
    if not old or not new:
        return None
    if old != new:
        return (f"the builder produced different weights (digest {short(old)} vs {short(new)}): "
                "it is not deterministic on this machine")
    return (f"same weights, different conversion (weights digest {short(old)}): the converter, "
            "the tool versions or the verification made other bytes, or the built files were "
            "changed since")


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def verify(patterns: list[str]) -> int:
    try:
        plan = make_plan()
    except ManifestError as exc:
        print(f"litert-build verify: {exc}")
        return 1
    specs = select(plan.specs, patterns)
    if not specs:
        print(f"litert-build verify: nothing matches {' '.join(patterns)}")
        return 1
    bad = 0
    for spec in specs:
        bad += not _verify_one(spec)
    print(f"{len(specs) - bad} reproduced byte for byte, {bad} not")
    return 1 if bad else 0


def _executor(provenance: Path) -> dict[str, Any] | None:
    """The Dask worker a statement says converted its artifact: the rebuild's statement says the
    same, so that only what was built is compared, not where."""
    try:
        executor = json.loads(provenance.read_text())["predicate"]["runDetails"]["metadata"]["executor"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(executor, dict):
        return None
    return {key: value for key, value in executor.items() if key != "kind"}


def _verify_one(spec: BuildSpec) -> bool:
    name = spec.task_name
    if spec.error:
        print(f"{name}: FAILED, invalid manifest entry: {spec.error}")
        return False
    built_tflite, built_manifest, _ = targets(spec.to_json())
    if not built_manifest.is_file():
        print(f"{name}: FAILED, not built yet ({built_manifest.name} missing); run litert-build first")
        return False
    root = Path(spec.root)
    with tempfile.TemporaryDirectory(prefix="litert-build-verify-") as tmp:
        fresh = replace(spec, cache=None,
                        tflite=str(Path(tmp) / Path(spec.tflite).name),
                        manifest=str(Path(tmp) / Path(spec.manifest).name)).to_json()
        result, proc = run_worker(fresh)
        if result is None or not result.get("ok"):
            print(f"{name}: FAILED, the rebuild failed: {failure_message(fresh, result, proc)}")
            return False
        write_provenance(fresh, _executor(targets(spec.to_json())[2]))
        fresh_folder = Path(tmp)
        names = sorted(set(artifact_files(fresh_folder / built_manifest.name))
                       | set(artifact_files(built_manifest)))
        provenance = targets(fresh)[2].name
        names.append(provenance)  # the provenance statement
        problems = []
        for file in names:
            built, rebuilt = built_tflite.parent / file, fresh_folder / file
            if not built.is_file() or not rebuilt.is_file():
                problems.append(f"{file}: only in the {'rebuild' if rebuilt.is_file() else 'build'}")
                continue
            difference = first_difference(built.read_bytes(), rebuilt.read_bytes())
            if difference:
                problems.append(f"{file}: {difference}")
        reason = None  # a provenance statement alone differing says nothing about the weights
        if any(not problem.startswith(f"{provenance}:") for problem in problems):
            reason = explain(_read_manifest(built_manifest),
                             _read_manifest(fresh_folder / built_manifest.name))
    rel = built_tflite.parent.relative_to(root) if built_tflite.is_relative_to(root) else built_tflite.parent
    if problems:
        print(f"{name}: DIFFERS from {rel}/")
        if reason:
            print(f"  {reason}")
        for problem in problems:
            print(f"  {problem}")
        return False
    print(f"{name}: reproduced byte for byte ({len(names)} files)")
    return True
