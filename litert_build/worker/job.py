"""The job a worker process is given: one artifact to build, as the build side wrote it in
SPEC.json (:class:`litert_build.plan.specs.BuildSpec`, as JSON), with typed fields."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litert_build.config.settings import BuildSettings


@dataclass(frozen=True)
class Job:
    """One model/variant to convert (or, for ``kind: aot``, to compile for one target)."""

    model: str
    variant: str
    version: str
    settings: BuildSettings  # resolved model + variant settings (recorded in the manifest: to_json)
    source: dict[str, Any]  # the resolved source (``kind``: keras | preset | builder)
    root: Path  # the folder of models.yaml
    tflite: Path  # the artifact's target path
    manifest: Path  # its signature manifest's target path
    input_hashes: dict[str, str]  # file -> xxh3, plus "settings": the manifest's inputs_xxh3
    cache_key: str  # the manifest's build_key

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Job:
        root = Path(spec["root"])
        return cls(
            model=spec["model"], variant=spec["variant"], version=spec["version"],
            settings=BuildSettings.model_validate(spec["settings"]), source=spec.get("source") or {},
            root=root,
            tflite=root / spec["tflite"], manifest=root / spec["manifest"],
            input_hashes=spec["input_hashes"], cache_key=spec["cache_key"],
        )

    @property
    def kind(self) -> str:
        return self.settings.kind
