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
    scheduler: str | None = None  # executor.scheduler: a Dask scheduler's address, None = here
    bundles: dict[str, BundleEntry] = field(default_factory=dict)
    # (line, column), 1-based, of every key and list item, by its path of keys from the root
    positions: dict[tuple[str, ...], tuple[int, int]] = field(default_factory=dict)


# --------------------------------------------------------------------------- YAML


class _MappingWithDuplicates(dict):
    """A YAML mapping that remembers keys given more than once (PyYAML keeps the last), where
    each key is (``positions``) and where each item of a list value is (``item_positions``)."""

    duplicates: dict[str, list[int]]
    positions: dict[Any, tuple[int, int]]
    item_positions: dict[Any, list[tuple[int, int]]]


class _StrictLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    result = _MappingWithDuplicates()
    result.duplicates, result.positions, result.item_positions = {}, {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result.positions:
            result.duplicates.setdefault(key, [result.positions[key][0]]).append(line)
        result.positions[key] = (line, key_node.start_mark.column + 1)
        if isinstance(value_node, yaml.SequenceNode):
            result.item_positions[key] = [(item.start_mark.line + 1, item.start_mark.column + 1)
                                          for item in value_node.value]
        result[key] = loader.construct_object(value_node, deep=True)
    return result


def _positions(value: Any, path: tuple[str, ...] = (), found: dict | None = None) -> dict:
    """Where each key and list item is, by path from the root: ``("models", "m", "inputs", "0",
    "name")`` -> (line, column). Linear in the file's size once aliases are bounded."""
    found = {} if found is None else found
    if isinstance(value, dict):
        marks = getattr(value, "positions", {})
        items = getattr(value, "item_positions", {})
        for key, sub in value.items():
            here = path + (str(key),)
            if key in marks:
                found.setdefault(here, marks[key])
            for i, mark in enumerate(items.get(key, ())):
                found.setdefault(here + (str(i),), mark)
            _positions(sub, here, found)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            _positions(sub, path + (str(i),), found)
    return found


@dataclass
class _Where:
    """The file being loaded and where its keys are: makes located errors."""

    file: str
    positions: dict[tuple[str, ...], tuple[int, int]]

    def at(self, *paths: tuple[str, ...]) -> tuple[int | None, int | None]:
        """The position of the deepest known key along any of ``paths`` (the field itself if
        known, else the nearest enclosing key)."""
        best: tuple[int, tuple[int, int] | None] = (-1, None)
        for path in paths:
            for depth in range(len(path), -1, -1):
                if path[:depth] in self.positions:
                    if depth > best[0]:
                        best = (depth, self.positions[path[:depth]])
                    break
        return best[1] if best[1] is not None else (None, None)

    def error(self, message: str, path: tuple[str, ...], **names: Any) -> ManifestError:
        line, column = self.at(path)
        return ManifestError(message, file=self.file, line=line, column=column, **names)


def _field_path(name: str | None) -> tuple[str, ...]:
    """'inputs[0].name' -> ('inputs', '0', 'name')."""
    return tuple(re.findall(r"[^.\[\]]+", name or ""))


def locate(manifest: Manifest, error: ManifestError) -> ManifestError:
    """``error`` (found after loading, e.g. a missing source file) placed at its field in
    models.yaml: the variant's own field, else the model's, else the nearest enclosing key."""
    if error.line is not None or error.problems:
        return error
    where = _Where(manifest.path.name, manifest.positions)
    rest = _field_path(error.field)
    if error.bundle:
        paths = [("bundles", error.bundle) + rest]
    else:
        model = ("models", str(error.model))
        paths = [model + rest] + ([model + ("variants", error.variant) + rest] if error.variant else [])
    return error.located(*where.at(*paths))


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
        raise ManifestError(f"is not valid YAML: {exc}", file=file, **_yaml_error_position(exc, text)) \
            from None
    except RecursionError:
        raise ManifestError("is nested too deeply to read.", file=file) from None
    finally:
        if loader is not None:
            loader.dispose()


def _yaml_error_position(exc: yaml.YAMLError, text: str) -> dict[str, int]:
    """Where the construct PyYAML could not finish starts (1-based line and column), else where it
    stopped; the reader's errors give a character position."""
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    if mark is not None:
        return {"line": mark.line + 1, "column": mark.column + 1}
    position = getattr(exc, "position", None)  # the reader's errors (bad characters)
    if isinstance(position, int):
        before = text[:position]
        return {"line": before.count("\n") + 1, "column": position - before.rfind("\n")}
    return {}


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
) -> tuple[dict[str, Any], list[ManifestError]]:
    """A variant's settings: its kind's fields and defaults, the model's variant-scoped settings
    under the variant's own, calibration and verification resolved for the kind; and every
    problem found on the way (each naming its field), not just the first."""
    raw = dict(raw or {})
    try:
        kind = _variant_kind(name, raw.pop("kind", None))
    except ManifestError as exc:
        return {}, [exc]  # without a kind there is nothing to check the other fields against
    problems = _kind_field_errors(kind, raw)
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
        problems += _collect(_check_recipe, raw.get("recipe"))
    if kind == "aot":
        problems += _aot_errors(raw)
    if kind == "llm":
        problems += _llm_errors(raw)
    problems += _collect(_resolve_calibration, kind, raw.get("recipe"), settings)
    if settings.get("eval"):
        settings["eval"] = {"metric": "accuracy", **settings["eval"]}
    settings["verify"] = verify_settings(kind, settings.get("verify", {}), raw.get("recipe"))
    if (settings["verify"].get("metric") == "tokens") != (kind == "llm"):
        problems.append(ManifestError(
            "kind 'llm' is verified by greedy generation: its metric is 'tokens' (set "
            "min_token_agreement instead)." if kind == "llm" else
            f"metric 'tokens' (greedy generation) is kind llm's; kind '{kind}' compares outputs: "
            "use allclose, mean_abs, max_abs or sqnr.", field="verify.metric"))
    settings.update(raw)
    return settings, problems


def _collect(check: Any, *args: Any) -> list[ManifestError]:
    """The problem ``check(*args)`` raises, as a list (empty when there is none)."""
    try:
        check(*args)
    except ManifestError as exc:
        return [exc]
    return []


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


def _kind_field_errors(kind: str, raw: dict[str, Any]) -> list[ManifestError]:
    """A field that belongs to other kinds (``io`` on a float16 variant) is an error: one each."""
    problems = []
    for key in raw:
        owners = [name for name, record in KINDS.items() if key in record.fields]
        if owners and kind not in owners:
            own = ", ".join(sorted(KINDS[kind].fields)) or "none besides the common ones"
            problems.append(ManifestError(
                f"'{key}' applies to kind {' / '.join(owners)}, not to '{kind}'. "
                f"Fields of '{kind}': {own}.",
                field=key,
            ))
    return problems


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




LLM_DEFAULTS = {"prefill": [128], "kv_cache": 1024, "weight_dtype": "float32"}


def _llm_errors(raw: dict[str, Any]) -> list[ManifestError]:
    """kind llm: its defaults filled in (recorded, so they key the build), and every problem."""
    for name, value in LLM_DEFAULTS.items():
        if raw.get(name) is None:
            raw[name] = copy.deepcopy(value)
    problems = []
    cache, lengths = raw["kv_cache"], raw["prefill"]
    if isinstance(cache, int) and isinstance(lengths, list):
        too_long = [n for n in lengths if isinstance(n, int) and n > cache]
        if too_long:
            problems.append(ManifestError(
                f"prefill length(s) {too_long} exceed kv_cache {cache}: a prompt chunk must fit the "
                "cache. Lower them or raise kv_cache.", field="prefill"))
        if len(set(lengths)) != len(lengths):
            problems.append(ManifestError(
                f"prefill lists a length twice ({lengths}): give each length once.", field="prefill"))
    recipe = raw.get("recipe")
    if recipe is not None:
        problems += _collect(_check_recipe, recipe)
        if str(recipe).startswith("static_"):
            problems.append(ManifestError(
                f"recipe '{recipe}' quantizes activations with calibration data, which kind 'llm' "
                "does not take: use a weight-only or dynamic recipe (weight_only_wi8_afp32, "
                "dynamic_wi4b32_afp32, ...).", field="recipe"))
        if raw["weight_dtype"] != "float32":
            problems.append(ManifestError(
                "weight_dtype and recipe both say how weights are stored: give one of them "
                "(recipe quantizes the float32 weights).", field="weight_dtype"))
    return problems


def _aot_errors(raw: dict[str, Any]) -> list[ManifestError]:
    problems = []
    if not raw.get("base"):
        problems.append(ManifestError("kind 'aot' needs 'base': the name of another variant of this "
                                      "model whose .tflite it compiles (float32, int8, ...).", field="base"))
    targets = raw.get("targets")
    if not targets:
        return problems + [ManifestError("kind 'aot' needs 'targets': a list of vendor/soc, e.g. "
                                         "[intel_openvino/LNL, qualcomm/SM8650].", field="targets")]
    for i, target in enumerate(targets):
        vendor, _, soc = str(target).partition("/")
        if vendor not in AOT_TARGETS:
            problems.append(ManifestError(f"unknown AOT vendor '{vendor}' in '{target}'. Vendors: "
                                          f"{', '.join(AOT_TARGETS)}.", field=f"targets[{i}]"))
        elif soc not in AOT_TARGETS[vendor]:
            problems.append(ManifestError(f"unknown {vendor} SoC '{soc}'. Known: "
                                          f"{', '.join(AOT_TARGETS[vendor])}.", field=f"targets[{i}]"))
    return problems


def _field_name(path: tuple[str, ...]) -> str | None:
    """('inputs', '0', 'name') -> 'inputs[0].name'."""
    text = ""
    for part in path:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or None


def _locate(where: _Where, model: str, path: tuple[str, ...], msg: str) -> tuple[str | None, ManifestError]:
    """Split an error path under a model into (variant or None, located error)."""
    variant, rest = None, path
    if len(path) >= 2 and path[0] == "variants":
        variant, rest = path[1], path[2:]
    return variant, where.error(msg, ("models", model) + path, model=model, variant=variant,
                                field=_field_name(rest))


def _model_problems(where: _Where, name: str, raw: Any, defaults: dict[str, Any]) -> tuple[
        Any, list[ManifestError], dict[str, list[ManifestError]], set[str]]:
    """The model merged onto the defaults, its own schema errors, its variants' (by name), and
    the model's keys that have errors (left out when its variants are checked further)."""
    merged = deep_merge(defaults, raw) if isinstance(raw, dict) else raw
    problems = _errors(merged, "ModelSettings") + (
        _duplicate_errors(raw) if isinstance(raw, dict) else []) + _non_finite(merged)
    model_errors: list[ManifestError] = []
    variant_errors: dict[str, list[ManifestError]] = {}
    bad_keys: set[str] = set()
    for path, msg in problems:
        variant, err = _locate(where, name, path, msg)
        if variant is None:
            model_errors.append(err)
            bad_keys.update(path[:1])
        else:
            variant_errors.setdefault(variant, []).append(err)
    return merged, model_errors, variant_errors, bad_keys - {"variants"}


def _build_model(where: _Where, name: str, raw: Any, defaults: dict[str, Any]) -> ModelEntry:
    """A model and its variants; a model's error does not hide its variants': each variant's
    error lists the model's problems and its own, sorted by line."""
    entry = ModelEntry(name=name)
    merged, model_errors, variant_errors, bad_keys = _model_problems(where, name, raw, defaults)
    if model_errors:
        entry.error = ManifestError.combined(model_errors)
    if not isinstance(merged, dict):
        entry.variants = {v: VariantEntry(v, error=entry.error) for v in DEFAULT_VARIANTS}
        return entry
    merged = _plain(deep_merge(BUILTIN_DEFAULTS, {k: v for k, v in merged.items() if k not in bad_keys}))
    given = merged.pop("variants", None)
    variants = given if isinstance(given, dict) and given else copy.deepcopy(DEFAULT_VARIANTS)
    if not model_errors:
        entry.settings = _typed(ModelSettings, merged, where.file, name)
    for vname, vraw in variants.items():
        vname = str(vname)
        errors = model_errors + variant_errors.get(vname, [])
        if vname not in variant_errors:
            resolved, problems = _resolve_variant(merged, vname, vraw)
            at = ("models", name, "variants", vname)
            errors += [where.error(p.detail, at + _field_path(p.field), model=name, variant=vname,
                                   field=p.field) for p in problems
                       if not bad_keys.intersection(_field_path(p.field)[:1])]  # reported above
        if errors:
            entry.variants[vname] = VariantEntry(vname, error=ManifestError.combined(errors))
        else:
            entry.variants[vname] = VariantEntry(vname, _typed(VariantSettings, resolved, where.file, name))
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




# --------------------------------------------------------------------------- load


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a models.yaml. Raises ManifestError for file-level problems (all of
    them, sorted by line); a broken model, variant or bundle is kept on its entry instead."""
    path = Path(path)
    data = _read_mapping(path, path.name)
    where = _Where(path.name, _positions(data))
    root = path.parent.resolve()
    manifest = Manifest(
        path=path.resolve(),
        root=root,
        artifacts_dir=_check_top_level(data, where, root),
        models={},
        cache=resolve_location(data.get("cache"), root),
        scheduler=(data.get("executor") or {}).get("scheduler"),
        positions=where.positions,
    )
    defaults = data.get("defaults") or {}
    models_raw = data["models"]
    duplicates = getattr(models_raw, "duplicates", {})
    for name, raw in models_raw.items():
        name = str(name)
        error = _model_name_error(name, duplicates, where)
        if error is not None:
            manifest.models[name] = ModelEntry(
                name, error=error, variants={"float32": VariantEntry("float32", error=error)}
            )
            continue
        manifest.models[name] = _build_model(where, name, raw, defaults)
    manifest.bundles = _load_bundles(where, data.get("bundles"))
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




def _check_top_level(data: dict[str, Any], where: _Where, root: Path) -> Path:
    """Everything but the entries of ``models`` and ``bundles`` (those are checked one at a
    time): every problem found, in one error sorted by line; else the artifacts folder."""
    top_level = {k: v for k, v in data.items() if k not in ("models", "bundles")}
    top_level["models"] = {}
    repeated = [((str(key),), f"given {len(lines)} times (lines {lines})")
                for key, lines in getattr(data, "duplicates", {}).items()]
    problems = _errors(top_level) + repeated + _duplicate_errors(top_level) + _non_finite(top_level)
    errors = [where.error(msg, p, field=_field_name(p)) for p, msg in problems]
    if not isinstance(data.get("models"), dict):
        errors.append(where.error("must be a mapping of model name -> model settings.", ("models",),
                                  field="models"))
    if data.get("bundles") is not None and not isinstance(data["bundles"], dict):
        errors.append(where.error("must be a mapping of bundle name -> bundle.", ("bundles",),
                                  field="bundles"))
    artifacts_dir = root / "artifacts"
    if not any(p[:1] == ("artifacts",) for p, _ in problems):
        try:
            artifacts_dir = _artifacts_dir(data, root, where)
        except ManifestError as exc:
            errors.append(exc)
    if errors:
        raise ManifestError.combined(errors)
    return artifacts_dir


def _artifacts_dir(data: dict[str, Any], root: Path, where: _Where) -> Path:
    artifacts_dir = root / data.get("artifacts", "artifacts")
    if not within(root, artifacts_dir):
        raise where.error(
            f"'{data['artifacts']}' is outside the folder of models.yaml ({root}): artifacts are "
            "written inside the project. Give a relative path such as 'artifacts' or 'build/out'.",
            ("artifacts",), field="artifacts")
    return artifacts_dir


def _model_name_error(name: str, duplicates: dict[str, list[int]], where: _Where) -> ManifestError | None:
    if name in duplicates:
        return where.error(
            f"model name given {len(duplicates[name])} times (lines {duplicates[name]}); "
            "model names must be unique.",
            ("models", name), model=name,
        )
    if not MODEL_NAME.fullmatch(name):
        return where.error(
            "is not a valid model name: start with a letter or digit, then use letters, "
            "digits, '_', '.' or '-'.",
            ("models", name), model=name,
        )
    return None


def _load_bundles(where: _Where, raw: Any) -> dict[str, BundleEntry]:
    """``bundles:``: each checked on its own, so a broken bundle fails only its own task."""
    if not isinstance(raw, dict):
        return {}  # not a mapping: a file-level error (see _check_top_level)
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
            errors = [where.error(msg, ("bundles", name) + path, bundle=name, field=_field_name(path))
                      for path, msg in problems]
            bundles[name] = BundleEntry(name, error=ManifestError.combined(errors))
            continue
        settings = {"format": "tar.gz", "files": [], **_plain(value)}
        bundles[name] = BundleEntry(name, _typed(BundleSettings, settings, where.file, name))
    return bundles
