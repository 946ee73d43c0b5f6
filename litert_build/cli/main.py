"""``litert-build``: doit with litert-build's tasks, in any folder that holds a models.yaml.

    litert-build                 # build everything (same as `doit` with our dodo.py)
    litert-build list            # one task per model/variant
    litert-build --manifest path/to/models.yaml info convert:digits:float32
    litert-build --no-cache      # build without reading or writing the artifact cache
    litert-build verify [model[:variant] ...]   # rebuild from scratch, compare byte for byte
    litert-build cache info | gc --max-size 5G | verify
    litert-build bundle verify ARCHIVE            # checksums + every model loads
    litert-build publish ARCHIVE --to URL         # immutable release to a folder or fsspec URL

Every doit command and option works; ``--manifest`` (or LITERT_BUILD_MANIFEST)
picks the manifest, and the build runs in that manifest's folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from litert_build.build.convert_action import NO_CACHE_ENV
from litert_build.plan.specs import MANIFEST_ENV


def _take_options(argv: list[str]) -> tuple[str | None, bool, list[str]]:
    rest, manifest, no_cache = [], None, False
    args = iter(argv)
    for arg in args:
        if arg in ("--manifest", "-m"):
            manifest = next(args, None)
            if manifest is None:
                raise SystemExit("litert-build: --manifest needs a path to a models.yaml")
        elif arg.startswith("--manifest="):
            manifest = arg.split("=", 1)[1]
        elif arg == "--no-cache":
            no_cache = True
        else:
            rest.append(arg)
    return manifest, no_cache, rest


def cache_command(args: list[str]) -> int:
    from litert_build.store.artifact_cache import ArtifactCache, parse_size
    parser = argparse.ArgumentParser(prog="litert-build cache")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("info", help="where the cache is, how many entries, how many bytes")
    gc = sub.add_parser("gc", help="evict least recently used entries down to a size")
    gc.add_argument("--max-size", required=True, help="e.g. 5G, 500M, or bytes")
    sub.add_parser("verify", help="check every entry against its sha256; evict bad ones")
    options = parser.parse_args(args)
    location = project_cache_location()
    if location is None:
        print("the artifact cache is off (LITERT_BUILD_CACHE=off or 'cache: false' in models.yaml)")
        return 0 if options.action == "info" else 1
    cache = ArtifactCache(location)
    if options.action == "info":
        info = cache.info()
        print(f"location: {info['location']}\nentries:  {info['entries']}\nsize:     {info['bytes']:,} bytes")
        return 0
    if options.action == "gc":
        try:
            limit = parse_size(options.max_size)
        except ValueError as exc:
            parser.error(str(exc))
        evicted, left = cache.gc(limit)
        print(f"evicted {evicted} entries; {left:,} bytes left (limit {limit:,})")
        return 0
    checked, bad = cache.verify()
    print(f"checked {checked} entries: {checked - len(bad)} ok, {len(bad)} corrupted and evicted")
    return 1 if bad else 0


def bundle_verify_command(args: list[str]) -> int:
    from litert_build.release.bundle import verify_bundle

    if not args:
        print("usage: litert-build bundle verify ARCHIVE [ARCHIVE ...]")
        return 2
    bad = 0
    for name in args:
        path = Path(name)
        problems = verify_bundle(path) if path.is_file() else [f"no such file: {name}"]
        if problems:
            bad += 1
            print(f"{name}: FAILED")
            for problem in problems:
                print(f"  {problem}")
        else:
            print(f"{name}: OK (checksums match, every model loads in the stock interpreter)")
    return 1 if bad else 0


def publish_command(args: list[str]) -> int:
    from litert_build.release.publish import PublishError, publish

    parser = argparse.ArgumentParser(prog="litert-build publish",
                                     description="Copy a bundle and its release record to a target.")
    parser.add_argument("archive", help="a bundle built by litert-build (artifacts/bundles/...)")
    parser.add_argument("--to", required=True, help="a folder or fsspec URL (file://, s3://, gs://)")
    options = parser.parse_args(args)
    archive = Path(options.archive)
    if not archive.is_file():
        print(f"litert-build publish: no such file: {archive}")
        return 1
    try:
        outcome = publish(archive, options.to)
    except PublishError as exc:
        print(f"litert-build publish: {exc}")
        return 1
    record = outcome.record
    what = (f"{record['bundle']} {record['version']} ({record['size']:,} bytes, "
            f"sha256 {record['sha256'][:16]})")
    if outcome.status == "published":
        print(f"published {what} to {options.to}/{record['file']}")
    elif outcome.repaired:
        print(f"{what} is already published at {options.to} with these bytes; "
              f"repaired the missing {' and '.join(outcome.repaired)}")
    else:
        print(f"{what} is already published at {options.to} with these bytes: nothing to do")
    return 0


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


NO_MANIFEST_COMMANDS = ("help", "--help", "-h", "--version", "publish", "bundle", "cache")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("litert-build: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - anything else is a bug: one line, stack in a log
        from litert_build.failures import describe
        from litert_build.plan.layout import log_dir

        print(f"litert-build: {describe(exc, 'running litert-build', log_dir(Path.cwd()), 'cli')}",
              file=sys.stderr)
        return 1


def _main(argv: list[str]) -> int:
    from doit.cmd_base import ModuleTaskLoader

    from litert_build.build import tasks

    manifest, no_cache, args = _take_options(argv)
    manifest = manifest or os.environ.get(MANIFEST_ENV)
    if manifest:
        path = Path(manifest).expanduser()
        if path.is_dir():
            path = path / "models.yaml"
        if not path.is_file():
            print(f"litert-build: --manifest {manifest}: no such file. Give the path of a models.yaml "
                  "(or of the folder that holds it).", file=sys.stderr)
            return 2
        path = path.resolve()
        os.chdir(path.parent)
        os.environ[MANIFEST_ENV] = str(path)
    if no_cache:
        os.environ[NO_CACHE_ENV] = "1"
    if args[:1] == ["verify"]:
        from litert_build.build.rebuild_check import verify

        return verify(args[1:])
    if args[:1] == ["cache"]:
        return cache_command(args[1:])
    if args[:2] == ["bundle", "verify"]:
        return bundle_verify_command(args[2:])
    if args[:1] == ["publish"]:
        return publish_command(args[1:])
    check = not (args[:1] and args[0] in NO_MANIFEST_COMMANDS)
    namespace = {"task_convert": tasks.task_convert, "task_bundle": tasks.task_bundle,
                 "task_report": tasks.task_report, "DOIT_CONFIG": tasks.doit_config(check_manifest=check)}
    return _doit_main()(ModuleTaskLoader(namespace)).run(args)


def _doit_main():
    """doit's ``DoitMain`` whose commands report an unexpected exception (doit's database on a
    full disk, a bug) as one located line, with the stack in a log, instead of a traceback."""
    from doit.doit_cmd import DoitMain

    def guard(command_class):
        def execute(self, params, args):
            try:
                return command_class.execute(self, params, args)
            except Exception as exc:  # noqa: BLE001 - doit would print the whole stack
                from litert_build.failures import describe
                from litert_build.plan.layout import log_dir

                name = command_class.get_name()
                doing = "building" if name == "run" else f"running '{name}'"
                print(f"litert-build: {describe(exc, doing, log_dir(Path.cwd()), 'doit')}", file=sys.stderr)
                return 1

        return type(command_class.__name__, (command_class,), {"execute": execute})

    class LiteRTBuildMain(DoitMain):
        DOIT_CMDS = tuple(guard(cls) for cls in DoitMain.DOIT_CMDS)

    return LiteRTBuildMain


if __name__ == "__main__":
    sys.exit(main())
