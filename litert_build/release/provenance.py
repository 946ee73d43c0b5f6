"""in-toto / SLSA v1 provenance statement beside every artifact (``<model>.<variant>.intoto.json``).

Subjects are the artifact, its signature manifest and its runtime assets, each with its
sha256. The build definition holds the resolved model + variant settings
(``externalParameters``) and every input file with its digests
(``resolvedDependencies``). Deterministic: no hostnames, absolute paths or clock
times; ``SOURCE_DATE_EPOCH``, when set, is the only time written. A conversion on a Dask
cluster is the exception: ``runDetails.metadata.executor`` names its scheduler, worker and host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litert_build import __version__
from litert_build.plan.keys import file_digest
from litert_build.release.dates import iso_utc, source_date_epoch

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:litert-build:buildtype:convert:v1"
BUILDER_ID = f"pkg:pypi/litert-build@{__version__}"


def statement(spec: dict[str, Any], subjects: dict[str, Path], tools: dict[str, str],
              executor: dict[str, Any] | None = None) -> dict[str, Any]:
    """The statement for one built artifact; ``subjects`` maps names to files on disk;
    ``executor``: the Dask scheduler, worker and host that converted it (a cluster build: the
    only case where the statement names a machine)."""
    root = Path(spec["root"])
    dependencies = []
    # The input files, and the built files this one was made from (an AOT artifact's base).
    for rel in spec["deps"] + [r for r in spec.get("after", []) if r not in spec["deps"]]:
        dependencies.append({
            "name": rel,
            "uri": f"file:{rel}",
            "digest": {"sha256": file_digest(root / rel, "sha256"),
                       "xxh3_128": spec["input_hashes"].get(rel) or file_digest(root / rel)},
        })
    run_details: dict[str, Any] = {
        "builder": {"id": BUILDER_ID, "version": dict(sorted(tools.items()))},
        "metadata": {"invocationId": f"{spec['model']}:{spec['variant']}:{spec['cache_key']}"},
    }
    if executor:
        run_details["metadata"]["executor"] = {"kind": "dask", **{k: str(v) for k, v in executor.items()}}
    epoch = source_date_epoch()
    if epoch is not None:
        when = iso_utc(epoch)
        run_details["metadata"].update(startedOn=when, finishedOn=when)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": file_digest(path, "sha256")}}
            for name, path in sorted(subjects.items())
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "model": spec["model"],
                    "variant": spec["variant"],
                    "settings": spec["settings"],
                },
                "internalParameters": {"cacheKey": spec["cache_key"],
                                       "settingsXxh3": spec["settings_hash"]},
                "resolvedDependencies": dependencies,
            },
            "runDetails": run_details,
        },
    }

