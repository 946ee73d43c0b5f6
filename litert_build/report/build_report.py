"""The build report: ``artifacts/report.md`` and a self-contained ``artifacts/report.html``.

One row per model/variant: size, size ratio vs float32, verification error, eval metric
and drop, float ops left, Flex ops, latency (median of N single-thread invocations in
the stock interpreter, measured here), conversion time and how the artifact came to be
(converted, restored from cache, reused). A "changes" section compares with the previous
report (``artifacts/report.json``): which artifacts are new, gone or changed, and which
inputs' hashes changed. Charts (size, accuracy, latency per variant) are drawn with
matplotlib and embedded as PNG data, so the HTML is one file.

    python -m litert_build.report.build_report SPEC.json     # run by the doit task `report`

Runs in a child process: it imports the LiteRT interpreter and matplotlib.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from litert_build.records import max_abs_error

LATENCY_RUNS = 50


def collect_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A row per built model/variant, from its signature manifest and build record."""
    root = Path(spec["root"])
    rows = []
    for member in spec["members"]:
        manifest = root / member["manifest"]
        if not manifest.is_file():
            continue
        meta = json.loads(manifest.read_text())
        record_file = root / member["record"]
        record = json.loads(record_file.read_text()) if record_file.is_file() else {}
        verification = meta.get("verification") or {}
        quant = meta.get("quantization") or {}
        evaluation = meta.get("eval") or {}
        rows.append({
            "task": member["task"],
            "model": meta["model"],
            "variant": meta["variant"],
            "kind": meta["kind"],
            "file": member["tflite"],
            "size": meta["artifact"]["size"],
            "sha256": meta["artifact"]["sha256"],
            "size_ratio": quant.get("size_ratio_vs_float32"),
            "verification": verification.get("status"),
            "max_abs_error": max_abs_error(verification),
            "eval_metric": evaluation.get("metric"),
            "eval_value": evaluation.get("variant"),
            "eval_drop": evaluation.get("drop"),
            "float_ops": sum((quant.get("float_op_counts") or {}).values()),
            "flex_ops": meta.get("flex_ops", []),
            "runtime": meta.get("runtime"),
            "outcome": record.get("outcome", "unknown"),
            "build_seconds": record.get("seconds"),
            "inputs": meta.get("inputs_xxh3", {}),
            "tools": meta.get("tools", {}),
        })
    return rows


def measure_latency(tflite: Path, runs: int) -> float | None:
    """Median microseconds of ``runs`` invocations, one thread, after 3 warm-up runs."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite.read_bytes(), num_threads=1)
    if "decode" in interpreter.get_signature_list():  # kind llm: one decode step
        return _decode_latency(interpreter, runs)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(0)
    for detail in interpreter.get_input_details():
        shape, dtype = detail["shape"], detail["dtype"]
        if np.issubdtype(dtype, np.floating):
            value = rng.standard_normal(shape).astype(dtype)
        else:
            value = np.zeros(shape, dtype=dtype)
        interpreter.set_tensor(detail["index"], value)
    return _median_us(interpreter.invoke, runs)


def _decode_latency(interpreter, runs: int) -> float:
    """Median microseconds of the ``decode`` signature (token 0 at position 0, zero caches)."""
    import numpy as np

    runner = interpreter.get_signature_runner("decode")
    inputs = {name: np.zeros(detail["shape"], detail["dtype"])
              for name, detail in runner.get_input_details().items()}
    return _median_us(lambda: runner(**inputs), runs)


def _median_us(call, runs: int) -> float:
    """Median microseconds of ``runs`` calls, after 3 warm-up calls."""
    times = []
    for i in range(runs + 3):
        start = time.perf_counter()
        call()
        if i >= 3:
            times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def diff(previous: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[str]:
    """What changed since the previous report, and why (which inputs' hashes changed)."""
    before = {r["task"]: r for r in previous}
    after = {r["task"]: r for r in current}
    lines = []
    for task in sorted(set(after) - set(before)):
        lines.append(f"{task}: new")
    for task in sorted(set(before) - set(after)):
        lines.append(f"{task}: removed")
    for task in sorted(set(before) & set(after)):
        old, new = before[task], after[task]
        if old["sha256"] == new["sha256"]:
            continue
        changed = sorted(k for k in set(old["inputs"]) | set(new["inputs"])
                         if old["inputs"].get(k) != new["inputs"].get(k))
        tools = sorted(k for k in set(old["tools"]) | set(new["tools"])
                       if old["tools"].get(k) != new["tools"].get(k))
        why = [f"inputs changed: {', '.join(changed)}"] if changed else []
        why += [f"tool versions changed: {', '.join(tools)}"] if tools else []
        size = f"{old['size']:,} -> {new['size']:,} bytes"
        lines.append(f"{task}: rebuilt ({size}); {'; '.join(why) or 'same inputs (not reproducible?)'}")
    return lines


def deltas(baseline: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[str]:
    """Per task in both: size, latency and eval metric against the baseline build."""
    before = {r["task"]: r for r in baseline}
    lines = []
    for row in current:
        old = before.get(row["task"])
        if old is None:
            continue
        parts = [f"size {_pct(old.get('size'), row['size'])}"]
        if old.get("latency_us") and row.get("latency_us"):
            parts.append(f"latency {_pct(old['latency_us'], row['latency_us'])}")
        if old.get("eval_value") is not None and row.get("eval_value") is not None:
            parts.append(f"{row['eval_metric']} {row['eval_value'] - old['eval_value']:+.4f}")
        lines.append(f"{row['task']}: " + ", ".join(parts))
    return lines


def _pct(old: float | None, new: float) -> str:
    if not old:
        return "new"
    return f"{(new - old) / old * 100:+.1f}% ({old:,.6g} -> {new:,.6g})"


def load_baseline(where: str) -> list[dict[str, Any]]:
    """The rows of another build's ``report.json``: a path or an fsspec URL (a release, main)."""
    import fsspec

    with fsspec.open(where, "rt") as fh:
        return json.load(fh)["rows"]


def add_float32_deltas(rows: list[dict[str, Any]]) -> None:
    """``eval_vs_float32``: each variant's eval metric minus its model's float32 variant's."""
    float32 = {r["model"]: r.get("eval_value") for r in rows if r["kind"] == "float32"}
    for row in rows:
        reference = float32.get(row["model"])
        value = row.get("eval_value")
        row["eval_vs_float32"] = None if value is None or reference is None else value - reference


# ------------------------------------------------------------------ rendering

COLUMNS = [
    ("model", "model"), ("variant", "variant"), ("kind", "kind"), ("size", "size (bytes)"),
    ("size_ratio", "vs float32"), ("max_abs_error", "max abs error"), ("eval", "eval"),
    ("eval_drop", "drop vs Keras"),
    ("eval_vs_float32", "eval vs float32"), ("float_ops", "float ops left"), ("flex", "Flex ops"),
    ("latency_us", "latency µs (median, 1 thread)"), ("build", "build"),
]


def _cells(row: dict[str, Any]) -> list[str]:
    def num(value, fmt):
        return "—" if value is None else format(value, fmt)

    evaluation = "—" if row["eval_value"] is None else f"{row['eval_metric']} {row['eval_value']:.4f}"
    build = row["outcome"]
    if row["build_seconds"] is not None:
        build += f" in {row['build_seconds']:.1f} s"
    return [row["model"], row["variant"], row["kind"], f"{row['size']:,}", num(row["size_ratio"], ".2f"),
            num(row["max_abs_error"], ".2g"), evaluation, num(row["eval_drop"], ".4f"),
            num(row.get("eval_vs_float32"), "+.4f"),
            str(row["float_ops"]), ", ".join(row["flex_ops"]) or "none",
            num(row["latency_us"], ".1f"), build]


def status_line(rows: list[dict[str, Any]], failed: dict[str, str]) -> str:
    """``FAILED: 1 of 3 tasks failed; 1 converted, 1 restored from cache`` (or ``OK: ...``)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
    built = ", ".join(f"{n} {'restored from cache' if o == 'restored' else o}"
                      for o, n in sorted(counts.items())) or "nothing built"
    if failed:
        return f"FAILED: {len(failed)} of {len(rows) + len(failed)} artifacts failed; {built}"
    return f"OK: {len(rows)} artifacts; {built}"


def about(rows: list[dict[str, Any]], spec: dict[str, Any]) -> list[str]:
    """When, from which commit, with which tools, on which CPU."""
    import datetime
    import platform
    import subprocess

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=spec["root"], text=True,
                                capture_output=True, timeout=10).stdout.strip() or "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    tools = rows[0]["tools"] if rows else {}
    cpu = _cpu_name() or platform.machine()
    return [f"built {when}, commit {commit}, on {cpu} ({os.cpu_count()} CPUs)",
            "tools: " + (", ".join(f"{k} {v}" for k, v in tools.items()) or "unknown")]


def _cpu_name() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def markdown(rows: list[dict[str, Any]], changes: list[str], failed: dict[str, str] | None = None,
             header: list[str] | None = None,
             changes_title: str = "Changes since the previous report") -> str:
    failed = failed or {}
    lines = ["# litert-build report", "", f"**{status_line(rows, failed)}**", ""]
    lines += [f"{line}  " for line in header or []] + [""]
    if failed:
        lines += ["## Failed", ""] + [f"- `{task}`: {message.splitlines()[0] if message else ''}"
                                      for task, message in sorted(failed.items())] + [""]
    lines += ["| " + " | ".join(title for _, title in COLUMNS) + " |",
              "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    lines += ["", f"## {changes_title}", ""]
    lines += [f"- {line}" for line in changes] or ["- none"]
    return "\n".join(lines) + "\n"


def charts(rows: list[dict[str, Any]]) -> dict[str, bytes]:
    """PNG charts: size, eval metric and latency per model/variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def label(row: dict[str, Any]) -> str:
        return f"{row['model']}:{row['variant']}"

    evaluated = [r for r in rows if r["eval_value"] is not None]
    if len({round(r["eval_value"], 6) for r in evaluated}) == 1:
        evaluated = []  # identical bars say nothing: the table (and eval_note) says it
    timed = [r for r in rows if r["latency_us"] is not None]
    series = {
        "size": ("artifact size (KB)", [(label(r), r["size"] / 1024) for r in rows]),
        "eval": (f"eval: {evaluated[0]['eval_metric']}" if evaluated else "",
                 [(label(r), r["eval_value"]) for r in evaluated]),
        "latency": ("latency, µs (median, 1 thread)", [(label(r), r["latency_us"]) for r in timed]),
    }
    images = {}
    for name, (title, points) in series.items():
        if not points:
            continue
        labels, values = zip(*points, strict=True)
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(points) + 1.2), dpi=90)
        ax.barh(labels, values, color="#3b7dd8")
        ax.invert_yaxis()
        ax.set_title(title)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", metadata={"Software": None})
        plt.close(fig)
        images[name] = buffer.getvalue()
    return images


def _row_html(row: dict[str, Any], folder: str) -> str:
    """One table row; the model cell links to the artifact and its signature manifest."""
    esc = html.escape
    cells = [f"<td>{esc(c)}</td>" for c in _cells(row)]
    if not row.get("file"):
        return f'<tr data-task="{esc(row["task"])}">' + "".join(cells) + "</tr>"
    tflite = os.path.relpath(row["file"], folder)
    cells[0] = (f'<td>{esc(row["model"])} <a href="{esc(tflite)}">.tflite</a> '
                f'<a href="{esc(tflite[:-len(".tflite")] + ".json")}">.json</a></td>')
    return f'<tr data-task="{esc(row["task"])}">' + "".join(cells) + "</tr>"


def page(rows: list[dict[str, Any]], changes: list[str], images: dict[str, bytes],
         failed: dict[str, str] | None = None, header: list[str] | None = None, folder: str = ".",
         changes_title: str = "Changes since the previous report") -> str:
    esc = html.escape
    failed = failed or {}
    head = "".join(f"<th>{esc(title)}</th>" for _, title in COLUMNS)
    body = "".join(_row_html(r, folder) for r in rows)
    failures = "".join(f'<li data-failed="{esc(task)}"><code>{esc(task)}</code>: '
                       f"<pre>{esc(message)}</pre></li>" for task, message in sorted(failed.items()))
    failed_html = f'<h2>Failed</h2><ul id="failed">{failures}</ul>' if failed else ""
    status = esc(status_line(rows, failed))
    about_html = "".join(f"<p class=about>{esc(line)}</p>" for line in header or [])
    figures = "".join(
        f'<figure><img alt="{esc(name)} chart" src="data:image/png;base64,'
        f'{base64.b64encode(data).decode()}"><figcaption>{esc(name)}</figcaption></figure>'
        for name, data in images.items())
    change_items = "".join(f"<li>{esc(line)}</li>" for line in changes) or "<li>none</li>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>litert-build report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 14px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f0f3f8; }} td:nth-child(-n+3) {{ text-align: left; }}
figure {{ display: inline-block; margin: 1em; }}
</style></head>
<body>
<h1>litert-build report</h1>
<p id="status"><strong>{status}</strong></p>
{about_html}
{failed_html}
<table id="artifacts"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h2>{esc(changes_title)}</h2>
<ul id="changes">{change_items}</ul>
<h2>Charts</h2>
<div id="charts">{figures}</div>
<script>
// Set when the page has loaded: how many images decoded (read by the browser test).
window.addEventListener("load", () => {{
  const images = [...document.images];
  document.body.dataset.imagesLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.images = images.length;
}});
</script>
</body></html>
"""


def eval_note(rows: list[dict[str, Any]]) -> str | None:
    """One line instead of a chart when every evaluated variant scored the same."""
    values = {round(r["eval_value"], 6) for r in rows if r["eval_value"] is not None}
    if len(values) != 1:
        return None
    evaluated = [r for r in rows if r["eval_value"] is not None]
    return (f"eval: every evaluated variant ({len(evaluated)}) scored {evaluated[0]['eval_metric']} "
            f"{evaluated[0]['eval_value']:.4f}; no chart")


def build_report(spec: dict[str, Any]) -> dict[str, Any]:
    """Measure, compare and write the report. ``spec["failures"]`` (task -> message), when the
    run had failures: those tasks get a "Failed" section and no row (their targets were removed)."""
    root = Path(spec["root"])
    out = root / spec["folder"]
    failed = spec.get("failures") or {}
    rows = [row for row in collect_rows(spec) if row["task"] not in failed]
    for row in rows:
        tflite = root / row["file"]
        # Flex and dispatch (AOT) artifacts do not run in the stock interpreter.
        row["latency_us"] = measure_latency(tflite, spec["runs"]) if row["runtime"] == "builtin" else None
    add_float32_deltas(rows)
    data_file = out / "report.json"
    title = "Changes since the previous report"
    if spec.get("baseline"):
        previous = load_baseline(spec["baseline"])
        title = f"Against the baseline {spec['baseline']}"
        changes = diff(previous, rows) + deltas(previous, rows)
    else:
        previous = json.loads(data_file.read_text())["rows"] if data_file.is_file() else []
        changes = diff(previous, rows)
    from litert_build.store.files import atomic_write_bytes, dumps_manifest

    header = about(rows, spec) + ([eval_note(rows)] if eval_note(rows) else [])
    folder = os.path.relpath(out, root)
    atomic_write_bytes(out / "report.md", markdown(rows, changes, failed, header, title).encode())
    atomic_write_bytes(out / "report.html",
                       page(rows, changes, charts(rows), failed, header, folder, title).encode())
    atomic_write_bytes(data_file, dumps_manifest({"schema": 1, "rows": rows, "failed": failed,
                                                  "status": status_line(rows, failed)}))
    return {"rows": len(rows), "changes": len(changes), "failed": len(failed)}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    summary = build_report(spec)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main(sys.argv[1:]))
