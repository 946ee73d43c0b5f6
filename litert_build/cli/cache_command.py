"""``litert-build cache info | gc --max-size SIZE | verify``."""

from __future__ import annotations

from pathlib import Path


def project_cache_location() -> str | None:
    """The cache of the project in this folder, or the default one when there is no manifest."""
    from litert_build.config.cache_location import resolve_location
    from litert_build.config.models_yaml import load_manifest
    from litert_build.errors import ManifestError
    from litert_build.plan.specs import manifest_path

    try:
        return load_manifest(manifest_path()).cache
    except ManifestError:
        return resolve_location(None, Path.cwd())


def run_cache(args: list[str], max_size: str) -> int:
    from litert_build.store.artifact_cache import ArtifactCache, parse_size

    action = args[0] if len(args) == 1 else None
    if action not in ("info", "gc", "verify") or (action == "gc" and not max_size):
        print("usage: litert-build cache info | gc --max-size SIZE | verify")
        return 2
    location = project_cache_location()
    if location is None:
        print("the artifact cache is off (LITERT_BUILD_CACHE=off or 'cache: false' in models.yaml)")
        return 0 if action == "info" else 1
    cache = ArtifactCache(location)
    if action == "info":
        info = cache.info()
        print(f"location: {info['location']}\nentries:  {info['entries']}\nsize:     {info['bytes']:,} bytes")
        if info["inputs"]:
            print(f"inputs:   {info['inputs']} (uploaded by cluster builds; counted in size)")
        return 0
    if action == "gc":
        try:
            limit = parse_size(max_size)
        except ValueError as exc:
            print(f"litert-build cache gc: {exc}")
            return 2
        evicted, inputs, left = cache.gc(limit)
        also = f" and {inputs} cluster inputs" if inputs else ""
        print(f"evicted {evicted} entries{also}; {left:,} bytes left (limit {limit:,})")
        return 0
    checked, bad = cache.verify()
    print(f"checked {checked} entries: {checked - len(bad)} ok, {len(bad)} corrupted and evicted")
    return 1 if bad else 0
