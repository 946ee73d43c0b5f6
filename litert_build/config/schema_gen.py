"""Generate ``schema.json`` from the typed settings (:mod:`litert_build.config.settings`).

Run ``python -m litert_build.config.schema_gen`` after changing a settings class; a unit test
fails while the committed file differs from what this prints.

Pydantic's JSON Schema is reshaped into the plain Draft 2020-12 an editor (and
:mod:`litert_build.config.models_yaml`'s error messages) expect: no titles; ``X | None`` as
``type: [x, "null"]``; a union of simple types as one ``type`` list; a literal as ``const`` or a
bare ``enum``; a dict with constrained keys as ``propertyNames`` + ``additionalProperties``
(pydantic writes ``patternProperties``, which lets every other key through).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from litert_build.config.settings import ModelsFile

HEADER = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://litert-build.dev/schema/models-1.json",
    "title": "litert-build models.yaml (schema 1)",
}
SCHEMA_FILE = Path(__file__).with_name("schema.json")
_SIMPLE = {"type", "minimum", "maximum"}  # keywords a merged type list can carry


class _PlainSchema(GenerateJsonSchema):
    def get_default_value(self, schema: Any) -> Any:
        """Also show defaults made by a factory (lists, mappings, blocks) as their value."""
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            value = factory()
            return value.to_json() if hasattr(value, "to_json") else value
        return super().get_default_value(schema)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def nullable_schema(self, schema: Any) -> dict[str, Any]:
        inner = self.generate_inner(schema["schema"])
        if isinstance(inner.get("type"), str) and set(inner) <= _SIMPLE | {"items", "minItems",
                                                                           "maxItems", "pattern",
                                                                           "minLength"}:
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}

    def union_schema(self, schema: Any) -> dict[str, Any]:
        result = super().union_schema(schema)
        choices = result.get("anyOf", [])
        if choices and all(set(c) == {"type"} and isinstance(c["type"], str) for c in choices):
            types = [c["type"] for c in choices]
            if "number" in types and "integer" in types:
                types.remove("integer")
            return {"type": types if len(types) > 1 else types[0]}
        return result

    def literal_schema(self, schema: Any) -> dict[str, Any]:
        values = list(schema["expected"])
        return {"const": values[0]} if len(values) == 1 else {"enum": values}

    def dict_schema(self, schema: Any) -> dict[str, Any]:
        result = super().dict_schema(schema)
        patterns = result.pop("patternProperties", None)
        if patterns:
            (pattern, values), = patterns.items()
            result["propertyNames"] = {"pattern": pattern}
            result["additionalProperties"] = values
        return result


def _drop_titles(value: Any, under_properties: bool = False) -> Any:
    if isinstance(value, dict):
        return {key: _drop_titles(sub, key == "properties" and not under_properties)
                for key, sub in value.items() if under_properties or key != "title"}
    if isinstance(value, list):
        return [_drop_titles(sub) for sub in value]
    return value


def generate() -> dict[str, Any]:
    """The JSON Schema of models.yaml, as committed in ``schema.json``."""
    body = _drop_titles(ModelsFile.model_json_schema(by_alias=True, schema_generator=_PlainSchema))
    return {**HEADER, **body}


def text() -> str:
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the schema, or with ``--write`` replace the committed file."""
    args = sys.argv[1:] if argv is None else argv
    if "--write" in args:
        SCHEMA_FILE.write_text(text())
    else:
        sys.stdout.write(text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
