"""Persistent stat cache: an unchanged file is hashed once, ever.

Maps ``path -> (inode, size, mtime_ns, ctime_ns, xxh3_128, sha256)`` in a small SQLite
database under the state folder (``.litert-build/statcache.sqlite3``). A file whose
stat fingerprint matches its row is not read again, in this run or any later one;
within a process a file is read at most once whatever the number of tasks that
depend on it. A file that was touched (new mtime, same bytes) has a new fingerprint,
so it is read once more: without reading it, a touch cannot be told apart from a
same-size edit. After that its new fingerprint is stored and it is not read again.

A file changed within :data:`RACY_WINDOW_NS` of being hashed is not stored (git's "racy
clean" rule): on a filesystem with coarse timestamps a second same-size write in the same tick
keeps the fingerprint, so only a fingerprint old enough to have been settled is trusted later.

SQLite in WAL mode with a busy timeout makes the cache safe for concurrent readers
and writers (two ``doit`` runs, the cache and the tasks of one run). A cache that
cannot be opened (read-only or corrupt) is rebuilt or skipped, never fatal: it only
saves time.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path

import xxhash

CHUNK = 1 << 20
ALGORITHMS = ("xxh3_128", "sha256")
RACY_WINDOW_NS = 2_000_000_000  # FAT keeps 2 s mtimes; ext4/APFS/NTFS are far finer

Fingerprint = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns


def fingerprint(st: os.stat_result) -> Fingerprint:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def hash_file(path: str, algorithm: str) -> str:
    """Read a file once and return its hex digest (``xxh3_128`` or ``sha256``)."""
    hasher = xxhash.xxh3_128() if algorithm == "xxh3_128" else hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            hasher.update(chunk)
    stats.files_hashed += 1
    return hasher.hexdigest()


class _Stats:
    """How many files this process actually read to hash them (for tests and benchmarks)."""

    files_hashed = 0


stats = _Stats()


class StatCache:
    """Digests of files keyed by their stat fingerprint, persisted in SQLite."""

    def __init__(self, db_path: str | os.PathLike[str] | None):
        self.db_path = Path(db_path) if db_path else None
        self._memo: dict[tuple[str, str], tuple[Fingerprint, str]] = {}
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._loaded = False
        self._lock = threading.Lock()

    # -------------------------------------------------------------- persistence
    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None and self._pid != os.getpid():
            self._conn = None  # forked (doit -n): a SQLite connection must not cross a fork
        if self._conn is not None or self.db_path is None:
            return self._conn
        self._pid = os.getpid()
        try:
            self._conn = _open(self.db_path)
        except sqlite3.DatabaseError:
            # Corrupt: start a fresh one (it only saves time), else work without persistence.
            try:
                self.db_path.unlink(missing_ok=True)
                self._conn = _open(self.db_path)
            except (OSError, sqlite3.DatabaseError):
                self.db_path = None
        except OSError:
            self.db_path = None
        return self._conn

    def _load(self) -> None:
        """Read every row once: a no-op build looks up hundreds of files."""
        if self._loaded:
            return
        self._loaded = True
        conn = self._connect()
        if conn is None:
            return
        try:
            rows = conn.execute(
                "select path, inode, size, mtime_ns, ctime_ns, xxh3, sha256 from files").fetchall()
        except sqlite3.DatabaseError:
            return
        for path, inode, size, mtime_ns, ctime_ns, xxh3, sha in rows:
            fp = (inode, size, mtime_ns, ctime_ns)
            if xxh3:
                self._memo[(path, "xxh3_128")] = (fp, xxh3)
            if sha:
                self._memo[(path, "sha256")] = (fp, sha)

    def _store(self, path: str, fp: Fingerprint) -> None:
        conn = self._connect()
        if conn is None:
            return
        digests = {algo: self._memo[(path, algo)][1] for algo in ALGORITHMS
                   if (path, algo) in self._memo and self._memo[(path, algo)][0] == fp}
        try:
            conn.execute(
                "insert or replace into files values (?, ?, ?, ?, ?, ?, ?)",
                (path, *fp, digests.get("xxh3_128"), digests.get("sha256")),
            )
        except sqlite3.DatabaseError:
            pass  # a cache that cannot be written only costs a re-hash later

    # -------------------------------------------------------------- lookups
    def digest(self, path: str | os.PathLike[str], algorithm: str = "xxh3_128") -> str:
        """The file's digest, read from disk only if its fingerprint is new."""
        key_path = os.path.abspath(os.fspath(path))
        fp = fingerprint(os.stat(key_path))
        with self._lock:
            self._load()
            known = self._memo.get((key_path, algorithm))
            if known is not None and known[0] == fp:
                return known[1]
            digest = hash_file(key_path, algorithm)
            if fingerprint(os.stat(key_path)) != fp:
                # Changed while we read it: do not remember a digest of torn bytes.
                return digest
            self._memo[(key_path, algorithm)] = (fp, digest)
            if time.time_ns() - max(fp[2], fp[3]) >= RACY_WINDOW_NS:
                self._store(key_path, fp)
            return digest

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _open(db_path: Path) -> sqlite3.Connection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    conn.execute(
        "create table if not exists files (path text primary key, inode integer, size integer, "
        "mtime_ns integer, ctime_ns integer, xxh3 text, sha256 text)"
    )
    return conn


_caches: dict[str, StatCache] = {}


def stat_cache(state_dir: str | os.PathLike[str]) -> StatCache:
    """The process-wide stat cache of a state folder."""
    key = os.path.abspath(os.fspath(state_dir))
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = StatCache(Path(key) / "statcache.sqlite3")
    return cache
