"""litert-build's own commands, as doit ``Command`` classes: listed by ``litert-build help``, each
with ``litert-build help <command>`` / ``<command> --help``, parsed by doit's option parser."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from doit.cmd_base import Command

USER_CWD_ENV = "LITERT_BUILD_USER_CWD"  # where the user typed the command (before --manifest)


def user_path(name: str) -> Path:
    """A path the user typed, relative to where they typed it (``--manifest`` changes the
    working folder to the manifest's)."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else Path(os.environ.get(USER_CWD_ENV, ".")) / path


def _option(name: str, help_text: str, kind: type = str, default: Any = None, short: str = "") -> dict:
    option = {"name": name.replace("-", "_"), "long": name, "type": kind, "help": help_text,
              "default": default if default is not None else ("" if kind is str else False)}
    if short:
        option["short"] = short
    return option


class LiteRTBuildCommand(Command):
    """A doit command whose options may come after its arguments (``publish A --to B``), as in
    GNU tools; doit's parser stops at the first argument."""

    def parse_execute(self, in_args):
        import getopt

        parser = self.cmdparser
        try:
            opts, args = getopt.gnu_getopt(list(in_args), parser.get_short(), parser.get_long())
        except getopt.GetoptError:
            return super().parse_execute(in_args)  # doit words the error
        flat = [part for opt in opts for part in ((opt[0], opt[1]) if opt[1] else (opt[0],))]
        return super().parse_execute(flat + ["--", *args] if args else flat)


class Status(LiteRTBuildCommand):
    name = "status"
    doc_purpose = "every task, up to date or not, and why (changed file, setting, tool version)"
    doc_usage = "[MODEL[:VARIANT] ...] [--json]"
    doc_description = ("Compares models.yaml and the input files with what each artifact's manifest "
                       "recorded at its last build. Converts nothing, imports no TensorFlow.")
    cmd_options = (_option("json", "print JSON (one object per task) for scripts", bool),)

    def execute(self, opt_values, pos_args):
        from litert_build.build.status import UP_TO_DATE, statuses
        from litert_build.build.tasks import current_plan
        from litert_build.errors import ManifestError

        try:
            plan = current_plan()
        except ManifestError as exc:
            print(f"litert-build status: {exc}")
            return 2
        found = statuses(plan.specs, pos_args)
        if opt_values["json"]:
            print(json.dumps([s.to_json() for s in found], indent=2))
            return 0
        for status in found:
            print(f"{status.task}: {status.state}")
            for reason in status.reasons:
                print(f"    {reason}")
        stale = sum(s.state != UP_TO_DATE for s in found)
        print(f"{len(found) - stale} up to date, {stale} to build")
        return 0


class Verify(LiteRTBuildCommand):
    name = "verify"
    doc_purpose = "rebuild artifacts from scratch in a temporary folder and compare byte for byte"
    doc_usage = "[MODEL[:VARIANT] ...]"

    def execute(self, opt_values, pos_args):
        from litert_build.build.rebuild_check import verify

        return verify(pos_args)


class Cache(LiteRTBuildCommand):
    name = "cache"
    doc_purpose = "the artifact cache: where and how big (info), shrink it (gc), check it (verify)"
    doc_usage = "info | gc --max-size SIZE | verify"
    cmd_options = (_option("max-size", "gc: evict least recently used entries down to this size "
                           "(5G, 500M, or bytes)"),)

    def execute(self, opt_values, pos_args):
        from litert_build.cli.cache_command import run_cache

        return run_cache(pos_args, opt_values["max_size"])


class Bundle(LiteRTBuildCommand):
    name = "bundle"
    doc_purpose = "check release bundles: checksums, and every model loads in the stock interpreter"
    doc_usage = "verify ARCHIVE [ARCHIVE ...]"

    def execute(self, opt_values, pos_args):
        from litert_build.release.bundle import verify_bundle

        if pos_args[:1] != ["verify"] or len(pos_args) < 2:
            print(f"usage: litert-build bundle {self.doc_usage}")
            return 2
        bad = 0
        for name in pos_args[1:]:
            path = user_path(name)
            problems = verify_bundle(path) if path.is_file() else [f"no such file: {name}"]
            bad += bool(problems)
            print(f"{name}: FAILED" if problems else
                  f"{name}: OK (checksums match, every model loads in the stock interpreter)")
            for problem in problems:
                print(f"  {problem}")
        return 1 if bad else 0


class Publish(LiteRTBuildCommand):
    name = "publish"
    doc_purpose = "copy a bundle and its release record to a folder or fsspec URL, immutably"
    doc_usage = "ARCHIVE --to URL"
    cmd_options = (_option("to", "a folder or fsspec URL (file://, s3://, gs://)"),)

    def execute(self, opt_values, pos_args):
        from litert_build.cli.publish_command import run_publish

        target = opt_values["to"]
        if len(pos_args) != 1 or not target:
            print(f"usage: litert-build publish {self.doc_usage}")
            return 2
        if "://" not in target:
            target = str(user_path(target))
        return run_publish(user_path(pos_args[0]), target)


class Export(LiteRTBuildCommand):
    name = "export"
    doc_purpose = "convert one model without writing a models.yaml first (.keras, builder, preset)"
    doc_usage = "SOURCE -o OUT [--variant KIND ...] [--task T] [--calibration FILE.npz]"
    doc_description = (
        "SOURCE is a .keras/.h5 file, a package.module:function builder (importable from here) or "
        "a local KerasHub preset folder. OUT becomes a litert-build project: its models.yaml says "
        "what was asked, artifacts/ holds the verified .tflite files and their manifests; run "
        "`litert-build --manifest OUT` later to rebuild only what changed.")
    cmd_options = (
        _option("output", "the output folder (a litert-build project)", short="o"),
        _option("variant", "a variant kind (float32, float16, dynamic_range, int8, int16x8); "
                "repeat for several (default float32)", list, []),
        _option("task", "KerasHub task class for a preset (default: the preset's own)"),
        _option("calibration", ".npz of representative inputs (int8, int16x8)"),
        _option("name", "model name (default: from SOURCE)"),
        _option("model-version", "model version in the artifact path (default 1)", default="1"),
        _option("save-manifest", "also write the equivalent models.yaml here (paths relative to it)"),
    )

    def execute(self, opt_values, pos_args):
        from litert_build.cli.export_command import run_export

        if len(pos_args) != 1 or not opt_values["output"]:
            print(f"usage: litert-build export {self.doc_usage}")
            return 2
        return run_export(pos_args[0], opt_values, user_path)


class Init(LiteRTBuildCommand):
    name = "init"
    doc_purpose = "write a commented starter models.yaml in this folder"
    doc_usage = "[--force]"
    cmd_options = (_option("force", "replace an existing models.yaml", bool),)

    def execute(self, opt_values, pos_args):
        from litert_build.cli.export_command import write_starter

        return write_starter(user_path("."), opt_values["force"])


COMMANDS = (Status, Verify, Cache, Publish, Export, Init)  # registered with doit
# Not registered: doit forbids a command named like a task, and `bundle:<name>` are tasks. The CLI
# dispatches `bundle verify ...` (and `bundle` alone, to its usage) itself.
OUTSIDE_DOIT = {"bundle": Bundle}
