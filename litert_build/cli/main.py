"""``litert-build``: doit with litert-build's tasks and commands, in any folder that holds a
models.yaml.

    litert-build                 # build everything (same as `doit` with our dodo.py)
    litert-build help            # every command, with a line each; help COMMAND for its usage
    litert-build status          # every task and why it would be built
    litert-build list            # one task per model/variant
    litert-build --manifest path/to/models.yaml info convert:digits:float32
    litert-build --no-cache      # build without reading or writing the artifact cache
    litert-build -n 4 --memory 16G   # 4 at once, workers together within 16 GB
    litert-build --scheduler tcp://10.0.0.5:8786 -n 32   # conversions on a Dask cluster
    litert-build verify [model[:variant] ...]   # rebuild from scratch, compare byte for byte
    litert-build cache info | gc --max-size 5G | verify
    litert-build bundle verify ARCHIVE            # checksums + every model loads
    litert-build publish ARCHIVE --to URL         # immutable release to a folder or fsspec URL

Our commands are doit ``Command`` classes (:mod:`litert_build.cli.commands`) added to doit's
own (``run``, ``list``, ``info``, ``clean``, ...). ``--manifest`` (or LITERT_BUILD_MANIFEST) picks
the manifest and the build runs in that manifest's folder; paths given to our commands stay
relative to where they were typed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from litert_build.build.cluster.connect import SCHEDULER_ENV
from litert_build.build.convert_action import NO_CACHE_ENV
from litert_build.build.events import EVENTS_ENV
from litert_build.build.memory import MEMORY_ENV, parse_size
from litert_build.build.tasks import BASELINE_ENV
from litert_build.cli.commands import COMMANDS, OUTSIDE_DOIT, USER_CWD_ENV
from litert_build.plan.specs import MANIFEST_ENV


def _take_options(argv: list[str]) -> tuple[str | None, bool, list[str]]:
    """litert-build's global options (anywhere on the line); the rest goes to doit."""
    rest, manifest, no_cache = [], None, False
    args = iter(argv)
    for arg in args:
        if arg in ("--manifest", "-m"):
            manifest = next(args, None)
            if manifest is None:
                raise SystemExit("litert-build: --manifest needs a path to a models.yaml")
        elif arg.startswith("--manifest="):
            manifest = arg.split("=", 1)[1]
        elif arg == "--baseline" or arg.startswith("--baseline="):
            baseline = arg.split("=", 1)[1] if "=" in arg else next(args, None)
            if not baseline:
                raise SystemExit("litert-build: --baseline needs a report.json (a path or a URL)")
            local = "://" not in baseline
            os.environ[BASELINE_ENV] = str(Path(baseline).expanduser().resolve()) if local else baseline
        elif arg == "--events" or arg.startswith("--events="):
            events = arg.split("=", 1)[1] if "=" in arg else next(args, None)
            if not events:
                raise SystemExit("litert-build: --events needs a file name")
            os.environ[EVENTS_ENV] = str(Path(events).expanduser().resolve())
        elif arg == "--memory" or arg.startswith("--memory="):
            budget = arg.split("=", 1)[1] if "=" in arg else next(args, None)
            try:
                parse_size(budget or "")
            except ValueError as exc:
                raise SystemExit(f"litert-build: --memory: {exc}") from None
            os.environ[MEMORY_ENV] = budget
        elif arg == "--scheduler" or arg.startswith("--scheduler="):
            address = arg.split("=", 1)[1] if "=" in arg else next(args, None)
            if not address:
                raise SystemExit("litert-build: --scheduler needs a Dask scheduler's address "
                                 "(tcp://host:8786), or 'off' to build here")
            os.environ[SCHEDULER_ENV] = address
        elif arg == "--no-cache":
            no_cache = True
        else:
            rest.append(arg)
    return manifest, no_cache, rest


NO_MANIFEST_COMMANDS = ("help", "--help", "-h", "--version", "publish", "bundle", "cache", "status",
                        "verify", "export", "init")


def main(argv: list[str] | None = None, user_cwd: str | None = None) -> int:
    """The command line. ``user_cwd``: where paths the user typed are relative to (default: the
    working folder now; ``export`` passes its caller's when it builds the folder it wrote)."""
    os.environ[USER_CWD_ENV] = user_cwd or os.getcwd()  # never an inherited one
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
    if args[:1] == ["bundle"] and args[1:2] in ([], ["verify"], ["-h"], ["--help"]):
        return _outside_doit("bundle", args[1:])
    light = bool(args[:1]) and args[0] in NO_MANIFEST_COMMANDS
    config = tasks.doit_config(check_manifest=not light, create_state=not light)
    namespace = {"task_convert": tasks.task_convert, "task_bundle": tasks.task_bundle,
                 "task_report": tasks.task_report, "DOIT_CONFIG": config}
    return _doit_main()(ModuleTaskLoader(namespace)).run(_help_aliases(args))


def _outside_doit(name: str, args: list[str]) -> int:
    command = OUTSIDE_DOIT[name](bin_name="litert-build")
    if args in ([], ["-h"], ["--help"]):
        print(command.help())
        return 0 if args else 2
    return command.parse_execute(args)


def _help_aliases(args: list[str]) -> list[str]:
    """``-h``/``--help`` alone, and ``COMMAND --help``/``-h``, as doit's ``help [COMMAND]``."""
    if args[:1] in (["-h"], ["--help"]):
        return ["help"]
    if len(args) >= 2 and args[1] in ("-h", "--help"):
        return ["help", args[0]]
    return args


def print_version() -> None:
    """litert-build's version and the versions of the tools that shape artifacts."""
    from litert_build.versions import tool_versions

    for name, version in tool_versions().items():
        print(f"{name} {version}")


def _doit_main():
    """doit's ``DoitMain`` whose commands report an unexpected exception (doit's database on a
    full disk, a bug) as one located line, with the stack in a log, instead of a traceback."""
    from doit.doit_cmd import DoitMain

    LiteRTBuildHelp = _help_class()  # noqa: N806 - a class

    def guard(command_class):
        def execute(self, params, args):
            from doit.exceptions import InvalidCommand

            try:
                return command_class.execute(self, params, args)
            except InvalidCommand as exc:  # the user's: a task name that does not exist
                first = (str(exc).splitlines() or [""])[0].rstrip(".")
                print(f"litert-build: {first}.{_task_name_hint(args)}", file=sys.stderr)
                return 2
            except Exception as exc:  # noqa: BLE001 - doit would print the whole stack
                from litert_build.failures import describe
                from litert_build.plan.layout import log_dir

                name = command_class.get_name()
                doing = "building" if name == "run" else f"running '{name}'"
                print(f"litert-build: {describe(exc, doing, log_dir(Path.cwd()), 'doit')}", file=sys.stderr)
                return 1

        return type(command_class.__name__, (command_class,), {"execute": execute})

    class LiteRTBuildMain(DoitMain):
        BIN_NAME = "litert-build"
        DOIT_CMDS = tuple(guard(cls) for cls in (*DoitMain.DOIT_CMDS, *COMMANDS)
                          if cls.get_name() != "help") + (LiteRTBuildHelp,)

        @staticmethod
        def print_version():
            print_version()

    return LiteRTBuildMain


def _task_name_hint(args: list[str]) -> str:
    """What to type instead, for names given without their task prefix (``digits:int8``)."""
    bare = [a for a in args if not a.startswith(("convert:", "bundle:", "-")) and a not in ("report",)]
    hint = f" Did you mean convert:{bare[0]}?" if bare else ""
    return (f"{hint} Tasks are convert:<model>:<variant>, bundle:<name> and report; "
            "`litert-build list` lists them.")


def _help_class():
    from doit.cmd_help import Help

    class LiteRTBuildHelp(Help):
        name = "help"

        def execute(self, params, args):
            if args[:1] and args[0] in OUTSIDE_DOIT:
                print(OUTSIDE_DOIT[args[0]](bin_name="litert-build").help())
                return 0
            return super().execute(params, args)

        def print_usage(self, cmds):
            cmds = {**cmds, **OUTSIDE_DOIT}
            print("litert-build -- Keras and KerasHub models to verified, versioned LiteRT artifacts")
            print("(doit's commands and litert-build's own; with no command: build everything)\n")
            print("Commands")
            for name in sorted(cmds):
                print(f"  litert-build {name:14s}  {cmds[name].doc_purpose}")
            print("\n  litert-build help COMMAND   (or COMMAND --help): options and usage")
            print("  litert-build help TASK      a task's parameters (e.g. convert:digits:float32)")
            print("  litert-build --version      litert-build and the tool versions that shape artifacts")
            print("  global options: --manifest PATH (a models.yaml or its folder), --no-cache,")
            print("                  --events FILE (one JSON line per task outcome),")
            print("                  --memory SIZE (workers start only while their expected peaks")
            print("                  fit in SIZE, e.g. 16G; default: the memory available),")
            print("                  --baseline REPORT.json|URL (the report compares with that build)")

    return LiteRTBuildHelp


if __name__ == "__main__":
    sys.exit(main())
