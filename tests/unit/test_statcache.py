"""The persistent stat cache: a file is read once per fingerprint, ever, however many tasks
depend on it; touching it costs one read, and only one, and rebuilds nothing."""

from __future__ import annotations

import os
import threading

import pytest
import xxhash
from shared.project import write

from litert_build.plan import keys as hashing
from litert_build.store import statcache
from litert_build.store.statcache import StatCache


def reads() -> int:
    return statcache.stats.files_hashed


@pytest.fixture(autouse=True)
def settled_at_once(monkeypatch):
    """These tests write a file and hash it at once: trust fresh fingerprints here (the racy
    window has its own test below)."""
    monkeypatch.setattr(statcache, "RACY_WINDOW_NS", 0)


def test_a_file_hashed_in_the_tick_it_changed_is_not_trusted_later(tmp_path, monkeypatch):
    """git's racy-clean rule: with coarse timestamps a same-size rewrite in the same tick keeps the
    fingerprint, so a digest taken that soon after a change is not persisted: the next run reads
    the file again, and stores it once its fingerprint has settled."""
    import sqlite3

    data = tmp_path / "d.bin"
    data.write_bytes(b"a" * 1000)
    db = tmp_path / "statcache.sqlite3"

    def rows() -> int:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from files").fetchone()[0]

    monkeypatch.setattr(statcache, "RACY_WINDOW_NS", 3600 * 10**9)  # changed "just now"
    before = reads()
    StatCache(db).digest(data)
    StatCache(db).digest(data)
    assert (reads() - before, rows()) == (2, 0)
    monkeypatch.setattr(statcache, "RACY_WINDOW_NS", 0)  # settled
    StatCache(db).digest(data)
    StatCache(db).digest(data)
    assert (reads() - before, rows()) == (3, 1)


def test_digest_is_read_once_and_persisted(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(os.urandom(3 << 20))
    db = tmp_path / "state" / "statcache.sqlite3"
    cache = StatCache(db)
    before = reads()
    digest = cache.digest(weights)
    assert digest == xxhash.xxh3_128_hexdigest(weights.read_bytes())
    for _ in range(5):  # five tasks depending on it
        assert cache.digest(weights) == digest
    assert reads() - before == 1
    cache.close()

    later = StatCache(db)  # a later run: a new process reads the database
    assert later.digest(weights) == digest
    assert reads() - before == 1


def test_touch_costs_one_read_then_none(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"x" * 10_000)
    db = tmp_path / "statcache.sqlite3"
    StatCache(db).digest(weights)
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns - 5_000_000_000))  # `touch` (to an earlier time)
    before = reads()
    run = StatCache(db)
    digest = run.digest(weights)
    assert run.digest(weights) == digest  # same run, other tasks
    assert reads() - before == 1
    assert StatCache(db).digest(weights) == digest  # next run: the new fingerprint is stored
    assert reads() - before == 1


def test_edit_is_seen_even_with_same_size(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 4096)
    db = tmp_path / "statcache.sqlite3"
    first = StatCache(db).digest(weights)
    weights.write_bytes(b"b" * 4096)  # same size, new bytes (new mtime and ctime)
    assert StatCache(db).digest(weights) != first


def test_sha256_is_cached_beside_xxh3(tmp_path):
    import hashlib

    weights = tmp_path / "w.bin"
    weights.write_bytes(b"payload")
    cache = StatCache(tmp_path / "s.sqlite3")
    before = reads()
    assert cache.digest(weights, "sha256") == hashlib.sha256(b"payload").hexdigest()
    cache.digest(weights, "sha256")
    cache.digest(weights)
    assert reads() - before == 2  # one read per algorithm, not per call
    assert StatCache(tmp_path / "s.sqlite3").digest(weights, "sha256") == hashlib.sha256(
        b"payload").hexdigest()
    assert reads() - before == 2


def test_corrupt_database_is_replaced_not_fatal(tmp_path):
    db = tmp_path / "statcache.sqlite3"
    db.write_bytes(b"this is not sqlite" * 100)
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"abc")
    assert StatCache(db).digest(weights) == xxhash.xxh3_128_hexdigest(b"abc")


def test_concurrent_writers_do_not_corrupt(tmp_path):
    db = tmp_path / "statcache.sqlite3"
    files = []
    for i in range(40):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(os.urandom(1000))
        files.append(path)
    errors = []

    def worker():
        try:
            cache = StatCache(db)  # own connection, like another process
            for path in files:
                cache.digest(path)
            cache.close()
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    before = reads()
    fresh = StatCache(db)
    for path in files:
        assert fresh.digest(path) == xxhash.xxh3_128_hexdigest(path.read_bytes())
    assert reads() == before  # every row was written and is readable


MANIFEST = """
schema: 1
models:
{models}
"""


def test_plan_reads_a_shared_weights_file_once(tmp_path, monkeypatch):
    """Many tasks over one big weights file: the plan hashes it once, the next plan never."""
    from litert_build.plan.specs import make_plan

    write(tmp_path / "zoo.py", "def m():\n    pass\n")
    (tmp_path / "w.bin").write_bytes(os.urandom(1 << 20))
    models = "\n".join(
        f"  m{i}:\n    version: '1'\n    source: {{builder: zoo:m, weights: w.bin}}\n"
        f"    variants: {{float32: {{}}, float16: {{}}}}" for i in range(10))
    write(tmp_path / "models.yaml", MANIFEST.format(models=models))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(statcache, "_caches", {})
    before = reads()
    plan = make_plan(tmp_path / "models.yaml")
    assert len(plan.specs) == 20 and all(s.error is None for s in plan.specs)
    assert reads() - before == 2  # w.bin and zoo.py, once each for 20 tasks
    monkeypatch.setattr(statcache, "_caches", {})  # a new run
    make_plan(tmp_path / "models.yaml")
    assert reads() - before == 2
    assert (tmp_path / hashing.STATE_DIR / "statcache.sqlite3").is_file()
