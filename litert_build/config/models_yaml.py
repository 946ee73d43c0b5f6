"""models.yaml -> validated manifest: schema check, defaults merged, errors located, typed.

The file is checked against ``schema.json`` (generated from :mod:`litert_build.config.settings`)
so that every error names its field the same way; defaults and each variant's kind are then
resolved on plain data, and the result is handed on as the typed records of
:mod:`litert_build.config.settings`.

A problem with the file as a whole (bad YAML, wrong ``schema``, bad ``defaults``)
raises :class:`ManifestError`. A problem with one model or one variant is kept on
that entry instead, so every other model is still listed and built.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from litert_build.config.cache_location import resolve_location
from litert_build.config.kinds import (
    AEQ_RECIPES,
    AOT_TARGETS,
    KINDS,
    default_gate,
    kind_names,
    needs_calibration,
)
from litert_build.config.settings import (
    DEFAULT_VARIANTS,
    MODEL_NAME_PATTERN,
    VARIANT_SCOPED,
    BundleSettings,
    ModelSettings,
    Settings,
    VariantSettings,
)
from litert_build.errors import ManifestError, did_you_mean
from litert_build.store.safepath import within

MODEL_NAME = re.compile(MODEL_NAME_PATTERN)

# Settings every build records with their default, whether given or not (the worker reads them).
RECORDED_DEFAULTS = ("safe_mode", "batch_size", "allow_flex_ops", "converter_options")


def _field_default(cls: type[Settings], name: str) -> Any:
    value = cls.model_fields[name].get_default(call_default_factory=True)
    return value.to_json() if isinstance(value, Settings) else value


BUILTIN_DEFAULTS: dict[str, Any] = {name: _field_default(ModelSettings, name) for name in RECORDED_DEFAULTS}


def verify_settings(kind: str, given: dict[str, Any], recipe: str | None = None) -> dict[str, Any]:
    """The verify block of a variant: the kind's default gate (:func:`kinds.default_gate`)
    under what the user gave."""
    return deep_merge(default_gate(kind, given, recipe), given)



@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema of models.yaml (litert_build/schema.json)."""
    text = resources.files("litert_build.config").joinpath("schema.json").read_text()
    return json.loads(text)


@dataclass
class VariantEntry:
    """A variant, resolved (``settings``), or why it cannot be built (``error``)."""

    name: str
    settings: VariantSettings | None = None
    error: ManifestError | None = None


@dataclass
class ModelEntry:
    """A model with defaults merged (``settings``, without its variants), or its error."""

    name: str
    settings: ModelSettings | None = None
    variants: dict[str, VariantEntry] = field(default_factory=dict)
    error: ManifestError | None = None


@dataclass
class BundleEntry:
    name: str
    settings: BundleSettings | None = None
    error: ManifestError | None = None


@dataclass
class Manifest:
    path: Path
    root: Path
    artifacts_dir: Path
    models: dict[str, ModelEntry]
    cache: str | None = None  # artifact cache location, None = off (see cache.resolve_location)
    bundles: dict[str, BundleEntry] = field(default_factory=dict)


# --------------------------------------------------------------------------- YAML


class _MappingWithDuplicates(dict):
    """A YAML mapping that remembers keys given more than once (PyYAML keeps the last)."""

    duplicates: dict[str, list[int]]


class _StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    result = _MappingWithDuplicates()
    result.duplicates = {}
    lines: dict[Any, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in lines:
            result.duplicates.setdefault(key, [lines[key]]).append(line)
        lines[key] = line
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


MAX_YAML_VALUES = 100_000  # values after expanding aliases; real manifests have hundreds


def _expanded_size(node: yaml.Node, sizes: dict[int, int], active: set[int]) -> int:
    """How many values ``node`` stands for once every alias is expanded (memoized, so a
    "billion laughs" file is measured in linear time instead of being expanded)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in active:
        raise ManifestError("has a recursive YAML alias (an anchor used inside itself).")
    active.add(key)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes, active) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, sizes, active) + _expanded_size(v, sizes, active)
                    for k, v in node.value)
    active.discard(key)
    sizes[key] = size = min(size, MAX_YAML_VALUES + 1)
    return size


def _read_yaml(path: Path, file: str) -> Any:
    """Parse models.yaml strictly: UTF-8, valid YAML, aliases expanding to a sane size."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ManifestError(
            f"is not UTF-8 (byte 0x{exc.object[exc.start]:02x} on line {line}). Save it as UTF-8 "
            "(e.g. `iconv -f latin1 -t utf-8`).", file=file) from None
    except OSError as exc:
        raise ManifestError(f"cannot be read: {exc.strerror or exc}.", file=file) from None
    loader = None
    try:
        loader = _StrictLoader(text)  # the reader checks the characters here
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {}, set())
        if size > MAX_YAML_VALUES:
            raise ManifestError(
                f"its YAML aliases expand to more than {MAX_YAML_VALUES:,} values (a 'billion "
                "laughs' file?). Write the values out, or share settings through 'defaults:'.",
                file=file)
        return loader.construct_document(node)
    except ManifestError as exc:
        raise ManifestError(exc.detail, file=file) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"is not valid YAML: {exc}", file=file) from None
    except RecursionError:
        raise ManifestError("is nested too deeply to read.", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()


def _duplicate_errors(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple, str]]:
    found = []
    if isinstance(value, dict):
        for key, lines in getattr(value, "duplicates", {}).items():
            found.append((path + (str(key),), f"given {len(lines)} times (lines {lines})"))
        for key, sub in value.items():
            found.extend(_duplicate_errors(sub, path + (str(key),)))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            found.extend(_duplicate_errors(sub, path + (str(i),)))
    return found


# --------------------------------------------------------------------- validation


def _describe(error: Any) -> tuple[tuple[str, ...], str]:
    """Turn one jsonschema error into (path of the offending field, what is allowed)."""
    path = tuple(str(p) for p in error.absolute_path)
    sch = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(sch.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in allowed)
        key = unknown[0] if unknown else "?"
        return path + (key,), (
            f"unknown field '{key}'.{did_you_mean(key, allowed)} Allowed: {', '.join(allowed)}."
        )
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path + (missing,), "is required but missing."
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        hint = did_you_mean(str(error.instance), [str(v) for v in error.validator_value])
        return path, f"'{error.instance}' is not allowed.{hint} Allowed: {allowed}."
    if error.validator == "const":
        return path, f"must be {error.validator_value!r}, got {error.instance!r}."
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        got = type(error.instance).__name__
        return path, f"must be of type {expected}, got {got} ({error.instance!r})."
    if error.validator == "pattern":
        desc = sch.get("description", "")
        return path, (
            f"{error.instance!r} does not match the pattern {error.validator_value}. {desc}"
        ).strip()
    if error.validator == "propertyNames":
        return path, f"name {error.instance!r} is not allowed: use letters, digits, _ . -"
    if error.validator == "anyOf" and path and path[-2:-1] == ("variants",):
        # A variant that is neither null nor a mapping: re-check against the mapping.
        return path, f"must be a mapping of variant settings or empty, got {error.instance!r}."
    return path, error.message


def _validator(ref: str | None = None):
    """A validator of the whole file, or of one ``$defs`` entry (ModelSettings, BundleSettings)."""
    import jsonschema  # light, but only needed when validating

    root = schema()
    sub = root if ref is None else {"$ref": f"#/$defs/{ref}", "$defs": root["$defs"]}
    return jsonschema.Draft202012Validator(sub)


def _errors(instance: Any, ref: str | None = None) -> list[tuple[tuple[str, ...], str]]:
    validator = _validator(ref)
    errors = []
    for err in validator.iter_errors(instance):
        if err.validator == "anyOf" and err.context and isinstance(err.instance, dict):
            # Report the most specific alternative (usually the mapping one).
            best = max(err.context, key=lambda e: len(e.absolute_path))
            best_path = tuple(str(p) for p in err.absolute_path) + tuple(
                str(p) for p in best.relative_path
            )
            p, msg = _describe(best)
            errors.append((best_path + p[len(best_path):], msg))
            continue
        errors.append(_describe(err))
    return sorted(set(errors))


# -------------------------------------------------------------------------- merge


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``override`` onto ``base`` (override wins); inputs unchanged."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _plain(value: Any) -> Any:
    """Strip the duplicate-tracking mapping type so settings are plain JSON data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _resolve_variant(
    model: dict[str, Any], name: str, raw: dict[str, Any] | None
) -> dict[str, Any]:
    """A variant's settings: its kind's fields and defaults, the model's variant-scoped settings
    under the variant's own, calibration and verification resolved for the kind."""
    raw = dict(raw or {})
    kind = _variant_kind(name, raw.pop("kind", None))
    _check_kind_fields(kind, raw)
    settings: dict[str, Any] = {"kind": kind}
    settings.update((name, _field_default(VariantSettings, name)) for name in KINDS[kind].fields)
    for key in VARIANT_SCOPED:
        base = model.get(key)
        if key in raw and isinstance(base, dict):
            settings[key] = deep_merge(base, raw.pop(key))
        elif key in raw:
            settings[key] = raw.pop(key)
        elif base is not None:
            settings[key] = copy.deepcopy(base)
    if kind == "aeq":
        _check_recipe(raw.get("recipe"))
    if kind == "aot":
        _check_aot(raw)
    _resolve_calibration(kind, raw.get("recipe"), settings)
    if settings.get("eval"):
        settings["eval"] = {"metric": "accuracy", **settings["eval"]}
    settings["verify"] = verify_settings(kind, settings.get("verify", {}), raw.get("recipe"))
    settings.update(raw)
    return settings


def _variant_kind(name: str, given: str | None) -> str:
    kind = given if given is not None else (name if name in KINDS else None)
    if kind is None:
        raise ManifestError(
            f"no 'kind' given and '{name}' is not a kind. "
            f"Add kind: one of {', '.join(kind_names())}.",
            field="kind",
        )
    if kind not in KINDS:
        raise ManifestError(
            f"unknown kind '{kind}'. Allowed: {', '.join(kind_names())}.", field="kind"
        )
    return kind


def _check_kind_fields(kind: str, raw: dict[str, Any]) -> None:
    """A field that belongs to other kinds (``io`` on a float16 variant) is an error."""
    for key in raw:
        owners = [name for name, record in KINDS.items() if key in record.fields]
        if owners and kind not in owners:
            own = ", ".join(sorted(KINDS[kind].fields)) or "none besides the common ones"
            raise ManifestError(
                f"'{key}' applies to kind {' / '.join(owners)}, not to '{kind}'. "
                f"Fields of '{kind}': {own}.",
                field=key,
            )


def _check_recipe(recipe: Any) -> None:
    if not recipe:
        raise ManifestError(
            f"kind 'aeq' needs a recipe: one of {', '.join(AEQ_RECIPES)}, or the path of a "
            "recipe JSON file (relative to models.yaml).", field="recipe")
    if not str(recipe).endswith(".json") and recipe not in AEQ_RECIPES:
        hint = did_you_mean(str(recipe), AEQ_RECIPES)
        raise ManifestError(
            f"unknown ai-edge-quantizer recipe '{recipe}'.{hint} Named recipes: "
            f"{', '.join(AEQ_RECIPES)}; or give a path ending in .json.", field="recipe")


def _resolve_calibration(kind: str, recipe: Any, settings: dict[str, Any]) -> None:
    """Calibrated kinds (and static ai-edge-quantizer recipes) need data, never random; an aeq
    recipe JSON may use it; other kinds drop it (so it is not in their hash)."""
    if needs_calibration(kind, recipe):
        if not settings.get("calibration"):
            raise ManifestError(
                f"kind '{kind}' needs calibration data and none is given. Add "
                "calibration: {npz: path/to/samples.npz} or {builder: module:function} to this "
                "variant or to the model. (litert-build never calibrates on random data.)",
                field="calibration",
            )
        settings["calibration"] = {"samples": 100, "seed": 0, **settings["calibration"]}
    elif KINDS[kind].calibration == "optional" and settings.get("calibration"):
        settings["calibration"] = {"samples": 100, "seed": 0, **settings["calibration"]}
    else:
        settings.pop("calibration", None)


def _check_aot(raw: dict[str, Any]) -> None:
    if not raw.get("base"):
        raise ManifestError("kind 'aot' needs 'base': the name of another variant of this model "
                            "whose .tflite it compiles (float32, int8, ...).", field="base")
    targets = raw.get("targets")
    if not targets:
        raise ManifestError("kind 'aot' needs 'targets': a list of vendor/soc, e.g. "
                            "[intel_openvino/LNL, qualcomm/SM8650].", field="targets")
    for i, target in enumerate(targets):
        vendor, _, soc = str(target).partition("/")
        if vendor not in AOT_TARGETS:
            raise ManifestError(f"unknown AOT vendor '{vendor}' in '{target}'. Vendors: "
                                f"{', '.join(AOT_TARGETS)}.", field=f"targets[{i}]")
        if soc not in AOT_TARGETS[vendor]:
            raise ManifestError(f"unknown {vendor} SoC '{soc}'. Known: "
                                f"{', '.join(AOT_TARGETS[vendor])}.", field=f"targets[{i}]")


def _field_name(path: tuple[str, ...]) -> str | None:
    """('inputs', '0', 'name') -> 'inputs[0].name'."""
    text = ""
    for part in path:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or None


def _locate(file: str, model: str, path: tuple[str, ...], msg: str) -> tuple[str | None, ManifestError]:
    """Split an error path under a model into (variant or None, located error)."""
    variant = None
    if len(path) >= 2 and path[0] == "variants":
        variant, path = path[1], path[2:]
    field_name = _field_name(path)
    return variant, ManifestError(msg, file=file, model=model, variant=variant, field=field_name)


def _build_model(file: str, name: str, raw: Any, defaults: dict[str, Any]) -> ModelEntry:
    entry = ModelEntry(name=name)
    raw_variants = raw.get("variants") if isinstance(raw, dict) else None
    variant_names = list(raw_variants) if isinstance(raw_variants, dict) else []
    merged = deep_merge(defaults, raw) if isinstance(raw, dict) else raw
    problems = _errors(merged, "ModelSettings") + [
        (path, msg) for path, msg in _duplicate_errors(raw) if isinstance(raw, dict)
    ] + _non_finite(merged)
    model_errors: list[ManifestError] = []
    variant_errors: dict[str, list[ManifestError]] = {}
    for path, msg in problems:
        variant, err = _locate(file, name, path, msg)
        if variant is None:
            model_errors.append(err)
        else:
            variant_errors.setdefault(variant, []).append(err)
    if model_errors:
        entry.error = _combine(model_errors)
        for vname in variant_names or list(DEFAULT_VARIANTS):
            entry.variants[vname] = VariantEntry(vname, error=entry.error)
        return entry

    merged = _plain(deep_merge(BUILTIN_DEFAULTS, merged))
    variants = merged.pop("variants", None) or copy.deepcopy(DEFAULT_VARIANTS)
    entry.settings = _typed(ModelSettings, merged, file, name)
    for vname, vraw in variants.items():
        if vname in variant_errors:
            entry.variants[vname] = VariantEntry(vname, error=_combine(variant_errors[vname]))
            continue
        try:
            resolved = _resolve_variant(merged, vname, vraw)
            entry.variants[vname] = VariantEntry(vname, _typed(VariantSettings, resolved, file, name))
        except ManifestError as exc:
            exc = ManifestError(exc.detail, file=file, model=name, variant=vname, field=exc.field)
            entry.variants[vname] = VariantEntry(vname, error=exc)
    return entry


def _typed(cls: type[Settings], data: dict[str, Any], file: str, name: str) -> Any:
    """Data that passed the schema, as its typed record. Both come from the same classes, so a
    failure here is a bug in litert-build, reported as such (with the field) rather than a crash."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ManifestError(
            f"passed the schema but not its typed check ({first['msg']}); please report this as a "
            "litert-build bug.", file=file, model=name,
            field=_field_name(tuple(str(p) for p in first["loc"]))) from None


def _non_finite(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Values JSON Schema cannot rule out: YAML's .nan and .inf are numbers to it, but no
    tolerance or threshold may be one; an ``int_range`` must not be empty."""
    if isinstance(value, float) and not math.isfinite(value):
        return [(path, f"must be a finite number, got {value}.")]
    if path[-1:] == ("int_range",) and isinstance(value, list) and len(value) == 2 \
            and all(isinstance(v, int) for v in value) and value[0] >= value[1]:
        return [(path, f"{value} is empty: give [low, high) with low < high.")]
    if isinstance(value, dict):
        return [p for key, sub in value.items() for p in _non_finite(sub, path + (str(key),))]
    if isinstance(value, list):
        return [p for i, sub in enumerate(value) for p in _non_finite(sub, path + (str(i),))]
    return []


def _combine(errors: list[ManifestError]) -> ManifestError:
    if len(errors) == 1:
        return errors[0]
    first = errors[0]
    combined = ManifestError(
        "\n  ".join(["several problems:"] + [str(e) for e in errors]),
        file=None,
    )
    combined.model, combined.variant, combined.field = first.model, first.variant, first.field
    return combined


# --------------------------------------------------------------------------- load


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a models.yaml. Raises ManifestError for file-level problems; a broken
    model, variant or bundle is kept on its entry instead."""
    path = Path(path)
    file = path.name
    data = _read_mapping(path, file)
    _check_top_level(data, file)
    models_raw = data.get("models")
    if not isinstance(models_raw, dict):
        raise ManifestError(
            "must be a mapping of model name -> model settings.", file=file, field="models"
        )
    root = path.parent.resolve()
    manifest = Manifest(
        path=path.resolve(),
        root=root,
        artifacts_dir=_artifacts_dir(data, root, file),
        models={},
        cache=resolve_location(data.get("cache"), root),
    )
    defaults = data.get("defaults") or {}
    duplicates = getattr(models_raw, "duplicates", {})
    for name, raw in models_raw.items():
        name = str(name)
        error = _model_name_error(name, duplicates, file)
        if error is not None:
            manifest.models[name] = ModelEntry(
                name, error=error, variants={"float32": VariantEntry("float32", error=error)}
            )
            continue
        manifest.models[name] = _build_model(file, name, raw, defaults)
    manifest.bundles = _load_bundles(file, data.get("bundles"))
    return manifest


def _read_mapping(path: Path, file: str) -> dict[str, Any]:
    if not path.is_file():
        raise ManifestError(
            f"no manifest at {path}. Create a models.yaml (see the README) or set "
            "LITERT_BUILD_MANIFEST to its path.",
            file=file,
        )
    data = _read_yaml(path, file)
    if data is None:
        raise ManifestError("is empty. Start it with 'schema: 1' and a 'models:' mapping (see the "
                            "README, 'models.yaml reference').", file=file)
    if not isinstance(data, dict):
        raise ManifestError(f"must be a mapping with 'schema' and 'models', got a "
                            f"{type(data).__name__}.", file=file)
    return data


def _check_top_level(data: dict[str, Any], file: str) -> None:
    """Everything but ``models`` and ``bundles`` (those are checked one entry at a time)."""
    top_level = {k: v for k, v in data.items() if k not in ("models", "bundles")}
    top_level["models"] = {}
    repeated = [((str(key),), f"given {len(lines)} times (lines {lines})")
                for key, lines in getattr(data, "duplicates", {}).items()]
    problems = _errors(top_level) + repeated + _duplicate_errors(top_level) + _non_finite(top_level)
    if problems:
        p, msg = problems[0]
        raise ManifestError(msg, file=file, field=_field_name(p))


def _artifacts_dir(data: dict[str, Any], root: Path, file: str) -> Path:
    artifacts_dir = root / data.get("artifacts", "artifacts")
    if not within(root, artifacts_dir):
        raise ManifestError(
            f"'{data['artifacts']}' is outside the folder of models.yaml ({root}): artifacts are "
            "written inside the project. Give a relative path such as 'artifacts' or 'build/out'.",
            file=file, field="artifacts")
    return artifacts_dir


def _model_name_error(name: str, duplicates: dict[str, list[int]], file: str) -> ManifestError | None:
    if name in duplicates:
        return ManifestError(
            f"model name given {len(duplicates[name])} times (lines {duplicates[name]}); "
            "model names must be unique.",
            file=file, model=name,
        )
    if not MODEL_NAME.fullmatch(name):
        return ManifestError(
            "is not a valid model name: start with a letter or digit, then use letters, "
            "digits, '_', '.' or '-'.",
            file=file, model=name,
        )
    return None


def _load_bundles(file: str, raw: Any) -> dict[str, BundleEntry]:
    """``bundles:``: each checked on its own, so a broken bundle fails only its own task."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ManifestError("must be a mapping of bundle name -> bundle.", file=file, field="bundles")
    bundles = {}
    duplicates = getattr(raw, "duplicates", {})
    for name, value in raw.items():
        name = str(name)
        problems = _errors(value, "BundleSettings")
        problems += _duplicate_errors(value) if isinstance(value, dict) else []
        if name in duplicates:
            problems.append(((), f"bundle name given {len(duplicates[name])} times; names must be unique."))
        if not MODEL_NAME.fullmatch(name):
            problems.append(((), "is not a valid bundle name: letters, digits, '_', '.' or '-'."))
        if problems:
            errors = [ManifestError(msg, file=file, bundle=name, field=_field_name(path))
                      for path, msg in problems]
            bundles[name] = BundleEntry(name, error=_combine(errors))
            continue
        settings = {"format": "tar.gz", "files": [], **_plain(value)}
        bundles[name] = BundleEntry(name, _typed(BundleSettings, settings, file, name))
    return bundles
