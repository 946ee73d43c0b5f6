"""Zero-config sweep of keras-hub: every tiny task and bare backbone of ``bench/hub_zoo/``, built
by litert-build with nothing in models.yaml beyond the source.

    python bench/hub_sweep.py [-n 2] [--zoo text,vision,multimodal] [--json out.json] [builder ...]

A builder is named by its function (``bert_masked_lm``) or its target
(``hub_zoo.text:bert_masked_lm``). All of them go into one project (``source: {builder: ...}``,
``variants: {float32: {}}``) and one ``litert-build --no-cache`` run that keeps going past failures;
the run's event log gives each model's outcome, seconds and message, its manifest whether every input
is static, the Flex ops and the verification error. Prints the README's table (family, task, built,
static, Flex-free, max abs error, seconds, size) and the zero-config rate.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ZOO_DIR = REPO / "bench" / "hub_zoo"
ZOO_MODULES = ("text", "vision", "multimodal")


def load_zoo(modules: list[str]) -> dict[str, tuple[str, str, str]]:
    sys.path.insert(0, str(REPO / "bench"))
    from hub_zoo import ZOO

    for name in modules:
        if (ZOO_DIR / f"{name}.py").is_file():
            importlib.import_module(f"hub_zoo.{name}")
    return dict(ZOO)


def select(zoo: dict[str, tuple[str, str, str]], names: list[str]) -> dict[str, tuple[str, str, str]]:
    if not names:
        return zoo
    picked = {t: v for t, v in zoo.items() if t in names or t.rsplit(":", 1)[1] in names}
    missing = set(names) - set(picked) - {t.rsplit(":", 1)[1] for t in picked}
    if missing:
        sys.exit(f"no such builder: {', '.join(sorted(missing))}")
    return picked


def manifest(targets: list[str]) -> str:
    lines = ["schema: 1", "models:"]
    for target in targets:
        lines += [f"  {model_name(target)}:", '    version: "1"',
                  f'    source: {{builder: "{target}", deps: ["hub_zoo/*.py"]}}']
    return "\n".join(lines) + "\n"


def model_name(target: str) -> str:
    return target.rsplit(":", 1)[1]


def run(project: Path, workers: int, events: Path) -> float:
    env = {**os.environ, "LITERT_BUILD_EVENTS": str(events)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "litert_build.cli.main", "--no-cache", "-n", str(workers),
                    "convert"], cwd=project, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def results(project: Path, events: Path, zoo: dict[str, tuple[str, str, str]]) -> list[dict]:
    by_task = {}
    for line in events.read_text().splitlines():
        event = json.loads(line)
        by_task[event["task"]] = event
    rows = []
    for target, (family, task_class, note) in zoo.items():
        name = model_name(target)
        event = by_task.get(f"convert:{name}:float32", {"outcome": "not run"})
        meta_file = project / "artifacts" / name / "1" / f"{name}.float32.json"
        meta = json.loads(meta_file.read_text()) if meta_file.is_file() else None
        row = {"builder": target, "family": family, "task": task_class, "note": note,
               "built": event["outcome"] == "converted" and meta is not None,
               "seconds": event.get("seconds"), "message": event.get("message")}
        if meta is not None:
            shapes = [i["shape"] for sig in meta["signatures"].values() for i in sig["inputs"]]
            verification = meta.get("verification") or {}
            row.update(static=all(isinstance(d, int) and d > 0 for s in shapes for d in s),
                       flex_free=not meta.get("flex_ops"), size=meta["artifact"]["size"],
                       verified=verification.get("status"),
                       max_abs_error=(event.get("verification") or {}).get("max_abs_error"))
        rows.append(row)
    return rows


def _cell(value, fmt="{}") -> str:
    return "–" if value is None else fmt.format(value)


def first_line(message: str | None) -> str:
    """The failure's first line without the ``model:variant:`` prefix, shortened for a table cell."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", message or "no event").strip().splitlines()
    line = re.sub(r"^[\w.-]+:float32: ", "", lines[0] if lines else "no message")
    return (line[:200] + ("..." if len(line) > 200 else "")).replace("|", "\\|")


def table(rows: list[dict]) -> str:
    out = ["| family | task | built | static | Flex-free | max abs error | s | size KB | note |",
           "|---|---|---|---|---|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: (r["family"].lower(), r["task"])):
        built = "yes" if row["built"] and row.get("verified") == "passed" else "no"
        note = row["note"]
        if not row["built"]:
            note = first_line(row["message"])
        out.append(
            f"| {row['family']} | {row['task']} | {built} | {_cell(row.get('static'))} | "
            f"{_cell(row.get('flex_free'))} | {_cell(row.get('max_abs_error'), '{:.1e}')} | "
            f"{_cell(row['seconds'], '{:.0f}')} | {_cell(row.get('size') and row['size'] / 1024, '{:.0f}')} "
            f"| {note} |")
    ok = [r for r in rows if r["built"] and r.get("verified") == "passed"]
    families = {r["family"] for r in rows}
    whole = families - {r["family"] for r in rows if r not in ok}
    out.append("")
    out.append(f"Zero-config: {len(ok)} of {len(rows)} models built, static, Flex-free and verified "
               f"({100 * len(ok) / max(len(rows), 1):.1f}%); {len(whole)} of {len(families)} families "
               f"with every model built ({100 * len(whole) / max(len(families), 1):.1f}%).")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("builders", nargs="*")
    parser.add_argument("-n", type=int, default=2, help="conversion processes (default 2)")
    parser.add_argument("--zoo", default=",".join(ZOO_MODULES), help="zoo modules to sweep")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args()
    zoo = select(load_zoo(args.zoo.split(",")), args.builders)
    with tempfile.TemporaryDirectory(prefix="hub-sweep-") as tmp:
        project = args.keep or Path(tmp)
        project.mkdir(parents=True, exist_ok=True)
        shutil.copytree(ZOO_DIR, project / "hub_zoo", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
        (project / "models.yaml").write_text(manifest(list(zoo)))
        events = project / "events.jsonl"
        wall = run(project, args.n, events)
        rows = results(project, events, zoo)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    print(f"\nOne run, -n {args.n}: {wall:.0f} s wall.")


if __name__ == "__main__":
    main()
