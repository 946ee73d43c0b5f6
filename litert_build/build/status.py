"""``litert-build status``: every task and why it would (or would not) be built.

The reasons come from comparing the plan with what the last build recorded in each signature
manifest (``inputs_xxh3``, ``settings``, ``tools``, ``build_key``) and with the files on disk:
an input file whose content changed (by path), a setting that changed (dotted path, old -> new),
a tool whose version changed, an artifact missing or edited since, or never built. Nothing is
converted and TensorFlow is not imported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from litert_build.plan.keys import file_digest
from litert_build.plan.layout import targets
from litert_build.plan.specs import BuildSpec, matches
from litert_build.versions import tool_versions

UP_TO_DATE, OUT_OF_DATE, NEVER_BUILT, INVALID = "up to date", "out of date", "never built", "invalid"


@dataclass
class TaskStatus:
    task: str
    state: str
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def statuses(specs: list[BuildSpec], patterns: list[str]) -> list[TaskStatus]:
    """The status of every spec matching ``patterns`` (all when none)."""
    chosen = [s for s in specs if not patterns or any(matches(s, p) for p in patterns)]
    return [status_of(spec) for spec in chosen]


def status_of(spec: BuildSpec) -> TaskStatus:
    name = f"convert:{spec.task_name}"
    if spec.error is not None:
        return TaskStatus(name, INVALID, [spec.error])
    tflite, manifest, provenance = targets(spec.to_json())
    if not manifest.is_file():
        return TaskStatus(name, NEVER_BUILT, [f"{_rel(spec, manifest)} does not exist"])
    try:
        recorded = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return TaskStatus(name, OUT_OF_DATE, [f"{_rel(spec, manifest)} cannot be read"])
    reasons = _input_changes(spec, recorded) + _setting_changes(spec, recorded)
    reasons += _tool_changes(recorded)
    if not reasons and recorded.get("build_key") != spec.cache_key:
        reasons.append("the build key changed (litert-build's key format)")
    reasons += _target_changes(spec, recorded, tflite, provenance)
    return TaskStatus(name, OUT_OF_DATE if reasons else UP_TO_DATE, reasons)


def _rel(spec: BuildSpec, path: Path) -> str:
    try:
        return path.relative_to(spec.root).as_posix()
    except ValueError:
        return str(path)


def _input_changes(spec: BuildSpec, recorded: dict[str, Any]) -> list[str]:
    before = {k: v for k, v in (recorded.get("inputs_xxh3") or {}).items() if k != "settings"}
    now = {k: v for k, v in spec.input_hashes.items() if k != "settings"}
    reasons = [f"input {path} changed" for path in now if path in before and before[path] != now[path]]
    reasons += [f"input {path} is new" for path in now if path not in before]
    reasons += [f"input {path} is no longer used" for path in before if path not in now]
    return reasons


def _setting_changes(spec: BuildSpec, recorded: dict[str, Any]) -> list[str]:
    now = spec.settings.key_json() if spec.settings is not None else {}
    return [f"setting {path}: {_show(old)} -> {_show(new)}"
            for path, old, new in diff(recorded.get("settings") or {}, now)]


def _tool_changes(recorded: dict[str, Any]) -> list[str]:
    before, now = recorded.get("tools") or {}, tool_versions()
    return [f"{tool} {before.get(tool, 'absent')} -> {now.get(tool, 'absent')}"
            for tool in sorted(set(before) | set(now)) if before.get(tool) != now.get(tool)]


def _target_changes(spec: BuildSpec, recorded: dict[str, Any], tflite: Path,
                    provenance: Path) -> list[str]:
    if not tflite.is_file():
        return [f"{_rel(spec, tflite)} is missing"]
    expected = (recorded.get("artifact") or {}).get("sha256")
    if expected and file_digest(tflite, "sha256") != expected:
        return [f"{_rel(spec, tflite)} was changed after it was built"]
    if not provenance.is_file():
        return [f"{_rel(spec, provenance)} is missing"]
    return []


def diff(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted path, old, new) of every leaf that differs (a side that lacks the key: ``<unset>``);
    lists are compared whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in sorted(set(before) | set(after)):
            sub = f"{path}.{key}" if path else str(key)
            changes += diff(before.get(key, _UNSET), after.get(key, _UNSET), sub)
        return changes
    return [] if before == after else [(path, before, after)]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET = _Unset()


def _show(value: Any) -> str:
    return repr(value) if value is _UNSET else json.dumps(value)
