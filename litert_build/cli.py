"""``litert-build``: doit with litert-build's tasks, in any folder that holds a models.yaml.

    litert-build                 # build everything (same as `doit` with our dodo.py)
    litert-build list            # one task per model/variant
    litert-build --manifest path/to/models.yaml info convert:digits:float32

Every doit command and option works; ``--manifest`` (or LITERT_BUILD_MANIFEST)
picks the manifest, and the build runs in that manifest's folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .plan import MANIFEST_ENV


def _take_manifest_option(argv: list[str]) -> tuple[str | None, list[str]]:
    rest, manifest = [], None
    args = iter(argv)
    for arg in args:
        if arg in ("--manifest", "-m"):
            manifest = next(args, None)
            if manifest is None:
                raise SystemExit("litert-build: --manifest needs a path to a models.yaml")
        elif arg.startswith("--manifest="):
            manifest = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return manifest, rest


def main(argv: list[str] | None = None) -> int:
    from doit.cmd_base import ModuleTaskLoader
    from doit.doit_cmd import DoitMain

    from . import tasks

    manifest, doit_args = _take_manifest_option(list(sys.argv[1:] if argv is None else argv))
    manifest = manifest or os.environ.get(MANIFEST_ENV)
    if manifest:
        path = Path(manifest).resolve()
        os.chdir(path.parent)
        os.environ[MANIFEST_ENV] = str(path)
    namespace = {"task_convert": tasks.task_convert, "DOIT_CONFIG": tasks.doit_config()}
    return DoitMain(ModuleTaskLoader(namespace)).run(doit_args)


if __name__ == "__main__":
    sys.exit(main())
