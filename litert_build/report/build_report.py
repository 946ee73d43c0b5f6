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
    """Median milliseconds of ``runs`` invocations, one thread, after 3 warm-up runs."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite.read_bytes(), num_threads=1)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(0)
    for detail in interpreter.get_input_details():
        shape, dtype = detail["shape"], detail["dtype"]
        if np.issubdtype(dtype, np.floating):
            value = rng.standard_normal(shape).astype(dtype)
        else:
            value = np.zeros(shape, dtype=dtype)
        interpreter.set_tensor(detail["index"], value)
    times = []
    for i in range(runs + 3):
        start = time.perf_counter()
        interpreter.invoke()
        if i >= 3:
            times.append((time.perf_counter() - start) * 1000)
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


# ------------------------------------------------------------------ rendering

COLUMNS = [
    ("model", "model"), ("variant", "variant"), ("kind", "kind"), ("size", "size (bytes)"),
    ("size_ratio", "vs float32"), ("max_abs_error", "max abs error"), ("eval", "eval"),
    ("eval_drop", "drop"), ("float_ops", "float ops left"), ("flex", "Flex ops"),
    ("latency_ms", "latency ms (median, 1 thread)"), ("build", "build"),
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
            str(row["float_ops"]), ", ".join(row["flex_ops"]) or "none",
            num(row["latency_ms"], ".3f"), build]


def markdown(rows: list[dict[str, Any]], changes: list[str]) -> str:
    lines = ["# litert-build report", "", f"{len(rows)} artifacts.", "",
             "| " + " | ".join(title for _, title in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    lines += ["", "## Changes since the previous report", ""]
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
    timed = [r for r in rows if r["latency_ms"] is not None]
    series = {
        "size": ("artifact size (KB)", [(label(r), r["size"] / 1024) for r in rows]),
        "eval": (f"eval: {evaluated[0]['eval_metric']}" if evaluated else "",
                 [(label(r), r["eval_value"]) for r in evaluated]),
        "latency": ("latency, ms (median, 1 thread)", [(label(r), r["latency_ms"]) for r in timed]),
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


def page(rows: list[dict[str, Any]], changes: list[str], images: dict[str, bytes]) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(title)}</th>" for _, title in COLUMNS)
    body = "".join(
        f'<tr data-task="{esc(r["task"])}">' + "".join(f"<td>{esc(c)}</td>" for c in _cells(r)) + "</tr>"
        for r in rows)
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
<p>{len(rows)} artifacts.</p>
<table id="artifacts"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<h2>Changes since the previous report</h2>
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


def build_report(spec: dict[str, Any]) -> dict[str, Any]:
    root = Path(spec["root"])
    out = root / spec["folder"]
    rows = collect_rows(spec)
    for row in rows:
        tflite = root / row["file"]
        # Flex and dispatch (AOT) artifacts do not run in the stock interpreter.
        row["latency_ms"] = measure_latency(tflite, spec["runs"]) if row["runtime"] == "builtin" else None
    data_file = out / "report.json"
    previous = json.loads(data_file.read_text())["rows"] if data_file.is_file() else []
    changes = diff(previous, rows)
    from litert_build.store.files import atomic_write_bytes, dumps_manifest

    atomic_write_bytes(out / "report.md", markdown(rows, changes).encode())
    atomic_write_bytes(out / "report.html", page(rows, changes, charts(rows)).encode())
    atomic_write_bytes(data_file, dumps_manifest({"schema": 1, "rows": rows}))
    return {"rows": len(rows), "changes": len(changes)}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    summary = build_report(spec)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main(sys.argv[1:]))
