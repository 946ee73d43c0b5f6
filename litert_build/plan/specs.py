"""Manifest -> plan: one build spec per model/variant, with the hashes it depends on."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litert_build.config.kinds import KINDS
from litert_build.config.models_yaml import Manifest, load_manifest, locate
from litert_build.config.settings import (
    VARIANT_SCOPED,
    BuildSettings,
    ModelSettings,
    VariantSettings,
)
from litert_build.errors import ManifestError
from litert_build.plan.data_files import resolve_data_files
from litert_build.plan.keys import file_digest, settings_digest
from litert_build.plan.layout import artifact_paths, project_relative
from litert_build.plan.sources import resolve_source
from litert_build.store.safepath import UnsafePath, inside
from litert_build.versions import llm_versions, tool_versions

MANIFEST_ENV = "LITERT_BUILD_MANIFEST"


@dataclass
class BuildSpec:
    """Everything the worker needs to build one artifact; :meth:`to_json` is what doit's action
    writes to SPEC.json for the worker process."""

    model: str
    variant: str
    root: str = ""
    version: str = ""
    kind: str = ""
    settings: BuildSettings | None = None  # resolved model + variant settings (None: error)
    source: dict[str, Any] = field(default_factory=dict)
    deps: list[str] = field(default_factory=list)  # files, relative to root
    input_hashes: dict[str, str] = field(default_factory=dict)  # file -> xxh3, plus "settings"
    settings_hash: str = ""
    cache_key: str = ""  # xxh3_128 of everything above that shapes the output: the cache key
    cache: str | None = None  # artifact cache location (local path or fsspec URL), None = off
    after: list[str] = field(default_factory=list)  # targets of other specs this one reads (aot)
    tflite: str = ""  # target paths, relative to root
    manifest: str = ""
    error: str | None = None

    @property
    def task_name(self) -> str:
        return f"{self.model}:{self.variant}"

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["settings"] = self.settings.key_json() if self.settings is not None else {}
        return data


@dataclass
class BundleSpec:
    """One release bundle: which built artifacts and extra files go in, and where it goes."""

    name: str
    root: str = ""
    version: str = ""
    format: str = "tar.gz"
    members: list[dict[str, str]] = field(default_factory=list)  # task, model, variant, paths
    files: list[str] = field(default_factory=list)  # extra files, relative to root
    archive: str = ""  # target path, relative to root
    settings_hash: str = ""
    error: str | None = None

    @property
    def task_name(self) -> str:
        return self.name

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Plan:
    manifest_path: Path
    root: Path
    specs: list[BuildSpec]
    bundles: list[BundleSpec] = field(default_factory=list)
    artifacts_dir: Path | None = None


def manifest_path() -> Path:
    return Path(os.environ.get(MANIFEST_ENV, "models.yaml"))


def make_plan(path: str | Path | None = None, manifest: Manifest | None = None) -> Plan:
    """Read models.yaml (or take the ``manifest`` already read from it) and produce one
    :class:`BuildSpec` per model/variant.

    File-level manifest problems raise :class:`ManifestError`; a broken model or
    variant becomes a spec whose ``error`` says what is wrong.
    """
    manifest = manifest or load_manifest(path or manifest_path())
    specs = []
    for entry in manifest.models.values():
        source = None
        source_error = entry.error
        if source_error is None:
            try:
                source = resolve_source(manifest.root, entry.name, entry.settings.source)
            except ManifestError as exc:
                source_error = ManifestError(
                    exc.detail, file=manifest.path.name, model=entry.name, field=exc.field
                )
        for vname, variant in entry.variants.items():
            error = _spec_error(manifest, entry, source_error, variant.error)
            files: list[str] = []
            if error is None:
                try:
                    files = _data_files(manifest.root, entry.name, vname, variant.settings)
                except ManifestError as exc:
                    error = locate(manifest, ManifestError(
                        exc.detail, file=manifest.path.name, model=entry.name, variant=vname,
                        field=exc.field))
            if error is not None:
                specs.append(BuildSpec(entry.name, vname, error=str(error)))
                continue
            files = list(source.files) + [f for f in files if f not in source.files]
            if KINDS[variant.settings.kind].pipeline == "compile":
                continue  # compiled from another variant: expanded per target below
            specs.append(_spec(manifest, entry.name, entry.settings, vname, variant.settings,
                               source, files))
        for vname, variant in entry.variants.items():
            if source_error is None and variant.error is None \
                    and KINDS[variant.settings.kind].pipeline == "compile":
                specs += _aot_specs(manifest, entry.name, entry.settings, vname, variant.settings,
                                    source, specs)
    bundles = [_bundle_spec(manifest, entry, specs) for entry in manifest.bundles.values()]
    return Plan(manifest.path, manifest.root, specs, bundles, manifest.artifacts_dir)


def matches(spec: BuildSpec, pattern: str) -> bool:
    """``model`` (every variant) or ``model:variant``, globs allowed, as users write them."""
    model, _, variant = pattern.partition(":")
    return fnmatch.fnmatchcase(spec.model, model) and fnmatch.fnmatchcase(spec.variant, variant or "*")


def _spec_error(manifest: Manifest, entry, source_error: ManifestError | None,
                variant_error: ManifestError | None) -> ManifestError | None:
    """What stops one variant, located: its own error (which already lists its model's, when
    the model has one), together with a problem found resolving the model's source."""
    if entry.error is not None:
        return variant_error or entry.error
    errors = [locate(manifest, e) for e in (source_error, variant_error) if e is not None]
    return ManifestError.combined(errors) if errors else None


def _bundle_spec(manifest: Manifest, entry, specs: list[BuildSpec]) -> BundleSpec:
    """Resolve a bundle's ``include`` globs against the plan and check its extra files; every
    bad include and file is reported, each at its line."""
    if entry.error is not None:
        return BundleSpec(entry.name, error=str(entry.error))
    settings = entry.settings
    problems: list[ManifestError] = []

    def error(message: str, field_name: str) -> None:
        problems.append(locate(manifest, ManifestError(
            message, file=manifest.path.name, bundle=entry.name, field=field_name)))

    members: list[BuildSpec] = []
    for i, pattern in enumerate(settings.include):
        matched = [s for s in specs if matches(s, pattern)]
        broken = [s.task_name for s in matched if s.error]
        if not matched:
            known = ", ".join(s.task_name for s in specs)
            error(f"'{pattern}' matches no model:variant of this manifest ({known}).", f"include[{i}]")
        elif broken:
            error(f"'{pattern}' includes {', '.join(broken)}, which cannot be built (see "
                  "the error of its convert task); fix it or leave it out.", f"include[{i}]")
        members += [s for s in matched if s not in members]
    for i, rel in enumerate(settings.files):
        try:
            inside(manifest.root, rel)
        except UnsafePath as exc:
            error(f"extra files must be inside the folder of models.yaml ({manifest.root}): "
                  f"{exc}. Copy the file into the project and name it by a relative path.", f"files[{i}]")
            continue
        if not (manifest.root / rel).is_file():
            error(f"file '{rel}' not found (paths are relative to the folder of "
                  f"models.yaml: {manifest.root}).", f"files[{i}]")
    if problems:
        return BundleSpec(entry.name, error=str(ManifestError.combined(problems)))
    archive = manifest.artifacts_dir / "bundles" / f"{entry.name}-{settings.version}.{settings.format}"
    return BundleSpec(
        name=entry.name,
        root=str(manifest.root),
        version=settings.version,
        format=settings.format,
        members=[{"task": s.task_name, "model": s.model, "variant": s.variant, "version": s.version,
                  "tflite": s.tflite, "manifest": s.manifest} for s in members],
        files=list(settings.files),
        archive=project_relative(manifest.root, archive),
        settings_hash=settings_digest({"bundle": settings.to_json(), "tools": tool_versions()}),
    )


def _aot_specs(manifest: Manifest, model: str, model_settings: ModelSettings, variant: str,
               settings: VariantSettings, source, specs: list[BuildSpec]) -> list[BuildSpec]:
    """One spec per target of an ``aot`` variant, named ``<variant>.<vendor>_<soc>``.

    Its key covers the base variant's key (hence the base artifact's bytes), the target,
    the backend options and the versions of the vendor's compiler packages.
    """
    from litert_build.versions import aot_versions

    base = next((s for s in specs if s.model == model and s.variant == settings.base), None)
    names = [f"{variant}.{t.replace('/', '_')}" for t in settings.targets]
    problem = None
    if base is None:
        known = ", ".join(s.variant for s in specs if s.model == model and not s.error)
        problem = (f"base '{settings.base}' is not a (non-aot) variant of this model. "
                   f"Variants: {known or 'none'}.")
    elif base.error:
        problem = f"base '{settings.base}' cannot be built (see its task); fix it first."
    if problem:
        error = str(locate(manifest, ManifestError(problem, file=manifest.path.name, model=model,
                                                   variant=variant, field="base")))
        return [BuildSpec(model, name, error=error) for name in names]
    result = []
    for target, name in zip(settings.targets, names, strict=True):
        vendor = target.split("/")[0]
        one = {k: v for k, v in settings.to_json().items() if k != "targets"}
        one.update(target=target, base_key=base.cache_key, base_tflite=base.tflite,
                   base_manifest=base.manifest, compiler_versions=aot_versions(vendor))
        spec = _spec(manifest, model, model_settings, name, one, source, [])
        spec.after = [base.tflite, base.manifest]
        result.append(spec)
    return result


def _data_files(root: Path, model: str, variant: str, settings: VariantSettings) -> list[str]:
    files: list[str] = []
    recipe = settings.recipe
    if recipe and recipe.endswith(".json"):  # an ai-edge-quantizer recipe file
        if not (root / recipe).is_file():
            raise ManifestError(f"recipe file '{recipe}' not found (paths are relative to the "
                                f"folder of models.yaml: {root}).", field="recipe")
        files.append(recipe)
    for field_name, block in (("calibration", settings.calibration), ("eval", settings.eval)):
        if block is not None:
            for rel in resolve_data_files(root, model, variant, block, field_name):
                if rel not in files:
                    files.append(rel)
    return files


def _spec(manifest: Manifest, model: str, model_settings: ModelSettings, variant: str,
          variant_settings: VariantSettings | dict[str, Any], source, files: list[str]) -> BuildSpec:
    """The spec of one artifact: the model's own settings and the variant's, typed, and the
    key of everything that shapes the output (``variant_settings`` may be an AOT target's
    plain dict, which adds the base artifact's fields)."""
    merged = {k: v for k, v in model_settings.to_json().items() if k not in VARIANT_SCOPED}
    merged.update(variant_settings if isinstance(variant_settings, dict) else variant_settings.to_json())
    settings = BuildSettings.model_validate(merged)
    tflite, json_path = artifact_paths(manifest.artifacts_dir, model, settings.version, variant)
    hashes = {rel: file_digest(manifest.root / rel) for rel in files}
    # What defines the conversion besides file bytes: the settings and the tools' versions.
    tools = tool_versions()
    if KINDS[settings.kind].pipeline == "llm":  # also the .litertlm writer, engine and tokenizers
        tools = {**tools, **llm_versions()}
    settings_hash = settings_digest({"settings": settings.key_json(), "tools": tools})
    hashes["settings"] = settings_hash
    cache_key = settings_digest({"format": 1, "model": model, "variant": variant, "inputs": hashes})
    return BuildSpec(
        model=model,
        variant=variant,
        root=str(manifest.root),
        version=settings.version,
        kind=settings.kind,
        settings=settings,
        source=source.to_json(),
        deps=files,
        input_hashes=hashes,
        settings_hash=settings_hash,
        cache_key=cache_key,
        cache=manifest.cache,
        tflite=project_relative(manifest.root, tflite),
        manifest=project_relative(manifest.root, json_path),
    )
