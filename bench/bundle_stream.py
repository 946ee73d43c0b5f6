"""Peak memory of `bundle verify` and `publish` on a large bundle: both stream the archive.

    python bench/bundle_stream.py [--gb 1] [--format tar.gz] [--baseline-src DIR] [--keep DIR]

Writes a bundle of about ``--gb`` GB with litert_build.release.archive.write_archive: two files of
random (incompressible) bytes listed as extra files, one tiny real model (y = x + x, written
with the LiteRT flatbuffer schema, so the stock interpreter is imported and loads it), and
index.json / SHA256SUMS laid out as bundle_contents lays them out. Then runs, each in its own
process, ``litert-build bundle verify`` and ``litert-build publish`` (to a fresh folder) on it,
and prints each one's peak RSS (``ru_maxrss`` of that child, from os.wait4) and wall time
against the archive's size. ``litert-build publish --help`` is the floor: Python and imports.

``--baseline-src DIR`` runs the same commands with another litert_build on PYTHONPATH, e.g.
an older commit: ``git archive f5383b2 litert_build | tar -x -C /tmp/old``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from litert_build.release.archive import CHUNK, write_archive
from litert_build.store.files import dumps_manifest
from litert_build.store.statcache import hash_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from shared.tiny_tflite import tiny_model  # noqa: E402 - the tests' one-op model

MIB = 1 << 20


def random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as out:
        left = size
        while left:
            out.write(os.urandom(min(CHUNK, left)))
            left -= min(CHUNK, left)
    return path


def make_bundle(folder: Path, total: int, fmt: str) -> Path:
    """A ~``total``-byte bundle named big-1: two random extra files and one tiny model."""
    top = "big-1"
    model_path = f"{top}/models/tiny/1/tiny.float32.tflite"
    model = tiny_model()
    files: dict[str, bytes | Path] = {
        f"{top}/README.md": b"A large bundle for bench/bundle_stream.py\n",
        f"{top}/data/part-0.bin": random_file(folder / "part-0.bin", total // 2),
        f"{top}/data/part-1.bin": random_file(folder / "part-1.bin", total - total // 2),
        model_path: model,
    }
    digests = {name: hashlib.sha256(c).hexdigest() if isinstance(c, bytes) else hash_file(str(c), "sha256")
               for name, c in files.items()}
    sizes = {name: len(c) if isinstance(c, bytes) else c.stat().st_size for name, c in files.items()}
    variant = {"kind": "float32", "file": model_path, "size": len(model), "sha256": digests[model_path],
               "runtime": "builtin"}
    index = {"schema": 1, "bundle": "big", "version": "1", "format": fmt,
             "files": [{"path": p, "size": sizes[p], "sha256": digests[p]} for p in sorted(files)],
             "models": {"tiny": {"version": "1", "variants": {"float32": variant}}}}
    files[f"{top}/index.json"] = dumps_manifest(index)
    digests[f"{top}/index.json"] = hashlib.sha256(files[f"{top}/index.json"]).hexdigest()
    sums = "".join(f"{digests[p]}  {p[len(top) + 1:]}\n" for p in sorted(files))
    files[f"{top}/SHA256SUMS"] = sums.encode()
    archive = folder / f"big-1.{fmt}"
    with open(archive, "wb") as out:
        write_archive(out, files, fmt)
    for name in ("part-0.bin", "part-1.bin"):
        (folder / name).unlink()
    return archive


def measure(args: list[str], cwd: Path, pythonpath: str | None) -> tuple[int, float, int, str]:
    """(peak RSS in bytes, seconds, exit code, output) of ``litert-build ARGS`` in a child."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "litert_build.cli.main", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss * 1024, time.perf_counter() - start, proc.returncode, output


def report(label: str, archive: Path, folder: Path, pythonpath: str | None) -> None:
    size = archive.stat().st_size
    target = folder / f"releases-{label}"
    shutil.rmtree(target, ignore_errors=True)
    runs = [("floor: publish --help", ["publish", "--help"]),
            ("bundle verify", ["bundle", "verify", str(archive)]),
            ("publish", ["publish", str(archive), "--to", f"file://{target}"])]
    print(f"\n{label}:")
    print(f"  {'command':<24}{'peak RSS':>12}{'of archive':>12}{'time':>9}  exit")
    for name, args in runs:
        rss, seconds, code, output = measure(args, folder, pythonpath)
        print(f"  {name:<24}{rss / MIB:>8,.0f} MiB{rss / size:>11.1%}{seconds:>8.1f}s  {code}")
        if code != 0:
            print("    " + output.strip().replace("\n", "\n    "))
    shutil.rmtree(target, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0, help="archive size in GB (10^9 bytes)")
    parser.add_argument("--format", default="tar.gz", choices=("tar.gz", "zip"))
    parser.add_argument("--baseline-src", help="a folder holding another litert_build to compare with")
    parser.add_argument("--keep", help="build the bundle in this folder and keep it")
    options = parser.parse_args()
    folder = Path(options.keep or tempfile.mkdtemp(prefix="bundle-stream-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        archive = folder / f"big-1.{options.format}"
        if not archive.exists():
            start = time.perf_counter()
            archive = make_bundle(folder, int(options.gb * 1e9), options.format)
            print(f"wrote {archive.name} in {time.perf_counter() - start:.0f}s")
        print(f"archive: {archive.stat().st_size:,} bytes ({archive.stat().st_size / MIB:,.0f} MiB), "
              f"{options.format}; machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        report("this checkout", archive, folder, None)
        if options.baseline_src:
            report(f"baseline {options.baseline_src}", archive, folder, options.baseline_src)
    finally:
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
