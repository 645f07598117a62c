"""Publication on disk, all or nothing: the warehouse dbt built, the analysts' copy, the packs.

- dbt never builds in the live warehouse.  ``stage_build`` copies it to ``warehouse.build.duckdb``;
  dbt builds and tests there; ``swap_in`` renames the copy over the live file only when dbt
  succeeded.  A failed or killed build leaves the live file (previous marts) untouched.  A file
  copy rather than a staging schema because a DuckDB schema swap is not one statement (dbt
  rebuilds views and tables one by one), while ``os.replace`` is one atomic rename; it is safe
  because every writer runs in the one-writer pool, so nothing writes raw.* during the build.
- Analysts never open the live file (any connection to it, even read-only, blocks the writer).
  ``publish_copy`` puts a read-only copy in ``$LSRP_HOME/published/warehouse.duckdb`` and one
  Parquet file per mart in ``$LSRP_HOME/published/parquet/``, each written under a temporary
  name, fsynced and renamed over the old one.  A reader holding the old copy open keeps reading
  it; the next connection gets the new one.
- Packs: ``packs_release`` gives the publisher a fresh folder holding the current packs (so the
  manifest, and with it the re-issue-only-when-changed versioning, carries over) and, on success,
  points the ``$LSRP_HOME/packs`` symlink at it with one ``os.replace``.  The pack files
  (``<period>/la/``) are hard links to the previous release's, not copies: a re-issue costs the
  packs that changed, not 150 MB of copying.  That is safe because the publisher never rewrites a
  pack file in place: it writes a temporary file and renames it over the link, which leaves the
  previous release's file as it was.  Everything else (index, overview, manifest, DfE views) is small
  and copied, so a writer that rewrites one of those in place cannot reach the live release.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipeline import paths
from pipeline.ledger import fsync as _fsync

MART_SCHEMA = "marts"
PACK_DIR = "la"  # <period>/la/ holds the packs' files, <period>/la-v<n>/ earlier versions (reports/publish.py)
PARQUET_WRITERS = 2


def _wal(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


def build_path(live: Path | None = None) -> Path:
    live = Path(live or paths.warehouse())
    return live.with_name(live.stem + ".build.duckdb")


def published_dir() -> Path:
    return paths.home() / "published"


def stage_build(live: Path | None = None) -> Path:
    """A fresh copy of the live warehouse for dbt to build into (a stale one from a killed run is
    discarded)."""
    from pipeline import warehouse

    live = Path(live or paths.warehouse())
    build = build_path(live)
    for stale in (build, _wal(build)):
        stale.unlink(missing_ok=True)
    with warehouse.session(live) as con:  # also replays a WAL left by a writer that was killed
        con.execute("CHECKPOINT")
    if _wal(live).exists():
        raise RuntimeError(f"{_wal(live)} still exists after a checkpoint: another process has the warehouse open")
    shutil.copyfile(live, build)
    return build


def discard_build(live: Path | None = None) -> None:
    build = build_path(live)
    for f in (build, _wal(build)):
        f.unlink(missing_ok=True)


def swap_in(build: Path, live: Path | None = None) -> None:
    """Make the built copy the live warehouse in one rename, and refresh the analysts' copy."""
    live = Path(live or paths.warehouse())
    if _wal(build).exists():  # dbt closes its connection (checkpoint) before exiting
        with duckdb.connect(str(build)) as con:
            con.execute("CHECKPOINT")
    _fsync(build)
    publish_copy(build)
    os.replace(build, live)
    _fsync(live.parent)


def publish_copy(source: Path, out: Path | None = None) -> Path:
    """The analysts' read-only copy of ``source`` (a closed, checkpointed DuckDB file) plus Parquet
    for every mart, each replaced atomically."""
    out = Path(out or published_dir())
    parquet = out / "parquet"
    parquet.mkdir(parents=True, exist_ok=True)
    tmp = out / f".warehouse.duckdb.tmp-{os.getpid()}"
    shutil.copyfile(source, tmp)
    with duckdb.connect(str(tmp), read_only=True) as con:
        marts = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE'",
            [MART_SCHEMA]).fetchall()]
        # two at a time: a mart of fewer than ~120,000 rows is one Parquet row group, which DuckDB writes
        # on one thread, so one COPY after another left a core idle (with 10 years of history, the marts'
        # export went from 0.3 to 1 s of the publication)
        with ThreadPoolExecutor(max_workers=PARQUET_WRITERS) as pool:
            written = set(pool.map(lambda mart: _export_mart(con, mart, parquet), marts))
    for old in parquet.glob("*.parquet"):  # a mart that no longer exists
        if old.name not in written:
            old.unlink()
    os.chmod(tmp, 0o444)
    _fsync(tmp)
    os.replace(tmp, out / "warehouse.duckdb")
    _fsync(out)
    return out / "warehouse.duckdb"


def _export_mart(con, mart: str, parquet: Path) -> str:
    """One mart to ``parquet``/<mart>.parquet, written under a temporary name, fsynced and renamed."""
    part = parquet / f".{mart}.parquet.tmp"
    with con.cursor() as cur:  # a cursor per thread: DuckDB runs each on its own connection to the one database
        cur.execute(f"COPY (SELECT * FROM {MART_SCHEMA}.\"{mart}\") TO '{part}' (FORMAT parquet)")
    _fsync(part)
    os.replace(part, parquet / f"{mart}.parquet")
    return f"{mart}.parquet"


# ------------------------------------------------------------------ packs
def _releases_dir(link: Path) -> Path:
    return link.parent / f".{link.name}-releases"


@contextmanager
def packs_release(link: Path | None = None):
    """Yield a new folder to publish into, pre-filled with a copy of the current packs; on success
    ``link`` (``$LSRP_HOME/packs``) is switched to it in one rename, on failure it is deleted."""
    link = Path(link or paths.packs())
    releases = _releases_dir(link)
    releases.mkdir(parents=True, exist_ok=True)
    new = releases / f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    if link.exists():
        shutil.copytree(link.resolve(), new, symlinks=True, copy_function=_link_pack_or_copy)
    else:
        new.mkdir()
    try:
        yield new
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    previous = _switch(link, new)
    _prune(link, keep={new.resolve(), previous})


def _link_pack_or_copy(src: str, dst: str) -> str:
    """copytree's copy function: hard-link a pack file (replaced, never rewritten, by the publisher),
    copy anything else."""
    folder = Path(dst).parent.name
    if folder == PACK_DIR or folder.startswith(f"{PACK_DIR}-v"):   # la-v<n>/: earlier versions, never rewritten
        try:
            os.link(src, dst)
            return dst
        except OSError:  # another file system, or links not supported: a copy is always right
            pass
    return shutil.copy2(src, dst)


def _switch(link: Path, target: Path) -> Path | None:
    """Point ``link`` at ``target``; returns the release it pointed at before."""
    previous = link.resolve() if link.is_symlink() else None
    tmp_link = link.with_name(f".{link.name}.link-{os.getpid()}")
    tmp_link.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), tmp_link)
    if link.is_dir() and not link.is_symlink():  # the first release after packs/ was a plain folder
        previous = _releases_dir(link) / f"legacy-{time.strftime('%Y%m%dT%H%M%S')}"
        link.rename(previous)
    os.replace(tmp_link, link)
    _fsync(link.parent)
    return previous


def _prune(link: Path, keep: set) -> None:
    """Keep the new release and the one before it (a reader may still be in it); older ones and
    any left by a killed run go."""
    for p in _releases_dir(link).iterdir():
        if p.is_dir() and p.resolve() not in keep:
            shutil.rmtree(p, ignore_errors=True)


# ------------------------------------------------------------------ run failures
def failures_log() -> Path:
    """Run failures recorded by the run-failure sensor, one JSON object a line.  A file, not the
    warehouse, because the sensor is not in the one-writer pool: the warehouse may be locked (or be
    swapped) when a run fails.  The pooled ``raw/run_failures`` asset loads it into the warehouse."""
    return paths.home() / "run_failures.jsonl"


def record_run_failure(entry: dict) -> None:
    log = failures_log()
    log.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, sort_keys=True, default=str) + "\n"
    with open(log, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(log: Path) -> list[dict]:
    """The entries of an append-only JSON-lines log (none if it is absent); a line cut short by a crash
    is skipped."""
    if not log.exists():
        return []
    rows = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def read_run_failures() -> list[dict]:
    return read_jsonl(failures_log())


# ------------------------------------------------------------------ the portal's audit trail
def portal_audit_log() -> Path:
    """The portal's append-only audit trail as JSON lines (written by portal/store.py, which looks
    down on this function for its place; env LSRP_PORTAL_AUDIT_LOG).  The pooled ``raw/portal_audit``
    asset loads it into the warehouse, as ``raw/run_failures`` loads the run-failure log."""
    return Path(os.environ.get("LSRP_PORTAL_AUDIT_LOG", paths.home() / "portal" / "audit.jsonl"))


def read_portal_audit() -> list[dict]:
    return read_jsonl(portal_audit_log())
