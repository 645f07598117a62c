"""The upload ledger: one durable, append-only record per upload event, kept in the archive.

Receiving a file (``receive``) is the hand-off between an uploader and the pipeline:

1. the settled file is copied into the archive under its SHA-256 (temp file, fsync, rename; the
   hash only avoids storing the same bytes twice);
2. an event is appended: a sequence number and the server's receipt time (both strictly
   increasing), the name as uploaded (whatever its bytes), folder, size, hash, and where it is
   routed (LA and period) or why it is quarantined;
3. the inbox file is moved to ``received/<event>/`` so it is never received twice; the same name
   uploaded again later is a new event.

Events live as JSON files in ``archive/ledger/events/`` (they survive a lost warehouse) and are
mirrored into ``raw.upload_ledger`` by the run that processes them.  A run marks its event done
(``archive/ledger/done/``) only after the warehouse commit and the feedback files, so
reconciliation can tell what still needs processing.  The newest accepted return is the one with
the highest sequence number, never the file's own modification time.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline import paths

PERIOD_RE = re.compile(r"^\d{4}-\d{2}-Q[1-4]$")
LA_CODE_IN_NAME = re.compile(r"-(\d{3})-")
IGNORED_PREFIXES = ("~$", ".")                          # Excel lock files, hidden files
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload")      # uploads still in progress
ZIP_SUFFIXES = (".xlsx", ".xlsm", ".zip")
DFE_HELD_DIR = "dfe_held"
EOCD = b"PK\x05\x06"                                     # zip end-of-central-directory record
EOCD_SCAN = 22 + 65535                                   # the record plus the longest zip comment
DEFAULT_INCOMPLETE_SECONDS = 3600                        # env LSRP_INCOMPLETE_SECONDS

ROUTE_RETURN, ROUTE_QUARANTINE = "return", "quarantine"


@dataclass(frozen=True)
class Event:
    """One upload as received.  ``name``/``folder`` are printable; ``*_hex`` keep the exact bytes."""

    event_id: str
    seq: int
    received_at: str              # server receipt time, ISO UTC (naive), strictly increasing with seq
    name: str
    name_hex: str
    folder: str
    folder_hex: str
    size: int
    sha256: str
    archive_path: str
    route: str                    # "return" or "quarantine"
    la_code: str | None
    period: str | None
    reason: str | None            # why it was quarantined
    inbox_key: str                # identity of the inbox file (path, inode, mtime, size)
    received_path: str            # where the inbox file was moved

    @property
    def received_datetime(self) -> datetime:
        return datetime.fromisoformat(self.received_at)


_EVENT_FIELDS = {f.name for f in fields(Event)}


# ---------------------------------------------------------------------------------------------
# places
# ---------------------------------------------------------------------------------------------
def ledger_dir() -> Path:
    return paths.archive() / "ledger"


def events_dir() -> Path:
    return ledger_dir() / "events"


def done_dir() -> Path:
    return ledger_dir() / "done"


def claims_dir() -> Path:
    return ledger_dir() / "runs"


def blobs_dir() -> Path:
    return paths.archive() / "files"


def received_dir() -> Path:
    return paths.home() / "received"


# ---------------------------------------------------------------------------------------------
# names and routing
# ---------------------------------------------------------------------------------------------
def printable(name: str) -> tuple[str, str, bool]:
    """(printable text, hex of the exact bytes, whether the bytes are valid UTF-8)."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8"), raw.hex(), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), raw.hex(), False


def la_code_from_name(name: str) -> str | None:
    m = LA_CODE_IN_NAME.search(name)
    return m.group(1) if m else None


def is_candidate(path: Path) -> bool:
    name = path.name
    return not name.startswith(IGNORED_PREFIXES) and not name.endswith(IGNORED_SUFFIXES) and path.is_file()


def route(folder: str, name: str) -> tuple[str, str | None, str | None, str | None]:
    """(route, la_code, period, reason) for a file uploaded as ``inbox/<folder>/<name>``."""
    from pipeline.defs.partitions import QUARTERS_COLLECTED, la_codes

    text, _, ok = printable(name)
    period = folder if folder in QUARTERS_COLLECTED else None
    if not ok:
        return ROUTE_QUARANTINE, None, period, (
            "the file name is not valid UTF-8 text, so it cannot be matched to a local authority")
    if not folder:
        return ROUTE_QUARANTINE, None, None, (
            "it was uploaded to the top of the inbox, not to a quarter's folder such as 2026-27-Q2/")
    if period is None:
        return ROUTE_QUARANTINE, None, None, (
            f"it was uploaded to the folder '{printable(folder)[0]}', which is not a collection quarter "
            f"(expected one of {QUARTERS_COLLECTED[0]} to {QUARTERS_COLLECTED[-1]})")
    code = la_code_from_name(text)
    if code is None:
        return ROUTE_QUARANTINE, None, period, "the file name carries no 3-digit LA code"
    if code not in set(la_codes()):
        return ROUTE_QUARANTINE, None, period, (
            f"the LA code '{code}' in the file name is not the code of an English local authority")
    return ROUTE_RETURN, code, period, None


# ---------------------------------------------------------------------------------------------
# settled and complete
# ---------------------------------------------------------------------------------------------
def incomplete_seconds() -> float:
    return float(os.environ.get("LSRP_INCOMPLETE_SECONDS", DEFAULT_INCOMPLETE_SECONDS))


def empty_seconds() -> float:
    """How long a 0-byte upload must stay empty before it is answered as an empty file (rule E03):
    env LSRP_EMPTY_SECONDS, else ``empty_upload_seconds`` in the collection calendar (60 s).  Never
    less than the settle time."""
    from pipeline import calendar

    return float(os.environ.get("LSRP_EMPTY_SECONDS") or calendar.empty_upload_seconds())


def is_complete(path: Path) -> bool:
    """A zip (xlsx) is complete once its end-of-central-directory record is written; other files
    have no such marker and count as complete."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
        looks_zip = head == b"PK\x03\x04" or path.name.lower().endswith(ZIP_SUFFIXES)
        if not looks_zip:
            return True
        if size < 22:
            return False
        f.seek(max(0, size - EOCD_SCAN))
        return EOCD in f.read()


def settle_state(path: Path, settle: float, now: float) -> str:
    """'ready', 'waiting' (changed recently, or an incomplete zip not yet given up on) or 'stale'
    (incomplete for longer than LSRP_INCOMPLETE_SECONDS: received and rejected as damaged).  A
    0-byte file is ready once it has been empty for ``empty_seconds()`` (then rejected as empty)."""
    st = path.stat()
    age = now - st.st_mtime
    if age < settle:
        return "waiting"
    if st.st_size == 0:  # complete as it is: an empty upload is answered (E03), not awaited for an hour
        return "ready" if age >= max(empty_seconds(), settle) else "waiting"
    if is_complete(path):
        return "ready"
    return "stale" if age >= max(incomplete_seconds(), settle) else "waiting"


def inbox_files(inbox: Path | None = None) -> list[tuple[str, Path]]:
    """Every candidate upload as (folder relative to the inbox, path), DfE-held CSVs excluded.
    Folder is '' for the inbox root; any depth is found, so nothing dropped in goes unseen."""
    inbox = inbox or paths.inbox()
    found = []
    if not inbox.exists():
        return found
    for root, dirs, files in os.walk(inbox):
        rel = os.path.relpath(root, inbox)
        rel = "" if rel == "." else rel
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not (rel == "" and d == DFE_HELD_DIR))
        for name in sorted(files):
            p = Path(root) / name
            try:
                if is_candidate(p):
                    found.append((rel, p))
            except OSError:
                continue
    return found


# ---------------------------------------------------------------------------------------------
# durable writes
# ---------------------------------------------------------------------------------------------
def fsync(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a folder: so a rename in it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict) -> None:
    write_json_atomic_many([(path, data)])


def write_json_atomic_many(items: list[tuple[Path, dict]]) -> None:
    """Write each file whole (temp file, fsync, rename), then fsync each folder once: all are
    durable when this returns, at one folder fsync per folder instead of one per file."""
    folders = {}
    for path, data in items:
        if path.parent not in folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            folders[path.parent] = None
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    for folder in folders:
        fsync(folder)


@contextmanager
def _locked():
    ledger_dir().mkdir(parents=True, exist_ok=True)
    with open(ledger_dir() / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _safe_suffix(name: str) -> str:
    suffix = Path(printable(name)[0]).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


def snapshot(path: Path, sync_folder: bool = True) -> tuple[str, str, int] | None:
    """Copy ``path`` into the archive under its hash: (sha256, archive path, size), or None when
    the file changed while it was copied (it is still being written: try again later).  With
    ``sync_folder`` False the caller fsyncs ``blobs_dir()`` (once for many snapshots)."""
    before = path.stat()
    blobs_dir().mkdir(parents=True, exist_ok=True)
    tmp = blobs_dir() / f".incoming-{uuid.uuid4().hex}"
    h, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                dst.write(chunk)
                size += len(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or size != after.st_size:
            return None
        digest = h.hexdigest()
        target = blobs_dir() / f"{digest}{_safe_suffix(path.name)}"
        if target.exists() and target.stat().st_size == size:
            return digest, str(target), size  # the same bytes are already archived
        os.replace(tmp, target)
        if sync_folder:
            fsync(target.parent)
        return digest, str(target), size
    finally:
        tmp.unlink(missing_ok=True)


def _inbox_key(rel_path: str, st: os.stat_result) -> str:
    return f"{printable(rel_path)[1]}|{st.st_ino}|{st.st_mtime_ns}|{st.st_size}"


# Event and batch files are written once and never changed, so a process parses each only once:
# with ten years of history (~6,000 events) a tick, or `lsrp run`, reads only what is new.
_parsed: dict[Path, object] = {}


def _read_once(path: Path, parse):
    if path not in _parsed:
        _parsed[path] = parse(json.loads(path.read_text(encoding="utf-8")))
    return _parsed[path]


def _event_from(data: dict) -> Event:
    return Event(**{k: v for k, v in data.items() if k in _EVENT_FIELDS})


def events() -> list[Event]:
    """Every event, in sequence order."""
    folder = events_dir()
    if not folder.exists():
        return []
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
    return [_read_once(folder / n, _event_from) for n in names]


def event(event_id: str) -> Event:
    return _read_once(events_dir() / f"{event_id}.json", _event_from)


def sender_of(event_id: str) -> dict | None:
    """Who sent an event through the portal (``receive``'s ``sender``); None for inbox uploads."""
    path = events_dir() / f"{event_id}.json"
    if path not in _senders:  # written once, never changed: read once per process
        _senders[path] = json.loads(path.read_text(encoding="utf-8")).get("sender")
    return _senders[path]


_senders: dict[Path, dict | None] = {}


def _move_out(path: Path, event_id: str) -> Path:
    """Move the received inbox file out of the inbox, keeping its name's exact bytes."""
    target_dir = received_dir() / event_id
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    try:
        os.rename(path, target)
    except OSError:  # another file system
        shutil.move(str(path), str(target))
    return target


def receive(path: Path, folder: str, known: dict[str, Event] | None = None, *,
            sender: dict | None = None, refusal: str | None = None) -> Event | None:
    """Snapshot one settled inbox file, append its event and move it out of the inbox.

    ``known``: inbox_key -> event of events already recorded; a file whose event exists but which
    is still in the inbox (the process died between the two steps) is only moved, never recorded
    twice.  Returns None when the file changed while being copied.

    ``sender`` (the portal: who uploaded it, and for which LA) is kept in the event's JSON
    (``sender_of``); ``refusal`` quarantines the upload with that reason whatever its name says
    (the portal refuses a return for another LA, and the refusal is still an event, checked and
    answered like any quarantined upload).
    """
    out = receive_many([(folder, path)], known, senders=[sender], refusals=[refusal])[0]
    if isinstance(out, Exception):
        raise out
    return out


def receive_many(files: list[tuple[str, Path]], known: dict[str, Event] | None = None, *,
                 senders: list[dict | None] | None = None, refusals: list[str | None] | None = None
                 ) -> list[Event | None | Exception]:
    """``receive`` for many settled inbox files ((folder, path) pairs), with the same guarantees
    at fewer fsyncs: every snapshot, then one fsync of the archive folder; every event (each file
    fsynced), then one fsync of the events folder; only then is any file moved out of the inbox, so
    a file leaves the inbox only once its bytes and its event are durable.  One answer per file, in
    order: its event, None (it changed while being copied), or the exception that stopped it (one
    file never stops the others)."""
    known = {} if known is None else known
    answers: list = [None] * len(files)
    snaps = {}
    for i, (folder, path) in enumerate(files):
        try:
            rel = os.path.join(folder, path.name) if folder else path.name
            key = _inbox_key(rel, path.stat())
            if key in known:  # recorded, but the process died before it was moved
                answers[i] = known[key]
                continue
            snap = snapshot(path, sync_folder=False)
            if snap is not None:
                snaps[i] = (key, snap)
        except Exception as exc:
            answers[i] = exc
    if snaps:
        fsync(blobs_dir())
    new = {}
    with _locked():
        existing = sorted(n for n in os.listdir(events_dir()) if n.endswith(".json") and not n.startswith(".")) \
            if events_dir().exists() else []
        last = event(existing[-1][:-5]) if existing else None
        seq = last.seq if last else 0
        prev = last.received_datetime if last else None
        writes = []
        for i, (key, (digest, archive_path, size)) in sorted(snaps.items()):
            folder, path = files[i]
            try:
                kind, la, period, reason = route(folder, path.name)
                if refusals and refusals[i]:
                    kind, la, reason = ROUTE_QUARANTINE, None, refusals[i]
                name, name_hex, _ = printable(path.name)
                folder_text, folder_hex, _ = printable(folder)
            except Exception as exc:
                answers[i] = exc
                continue
            seq += 1
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            if prev and now <= prev:  # a clock step back (or a fast batch) never reorders receipts
                now = prev + timedelta(microseconds=1)
            prev = now
            event_id = f"{seq:08d}"
            ev = Event(event_id=event_id, seq=seq, received_at=now.isoformat(timespec="microseconds"),
                       name=name, name_hex=name_hex, folder=folder_text, folder_hex=folder_hex, size=size,
                       sha256=digest, archive_path=archive_path, route=kind, la_code=la, period=period,
                       reason=reason, inbox_key=key,
                       received_path=str(received_dir() / event_id / path.name.encode("utf-8", "surrogateescape")
                                         .decode("utf-8", "replace")))
            record = asdict(ev)
            if senders and senders[i]:  # not an Event field: the warehouse mirror stays as it is
                record["sender"] = senders[i]
            writes.append((events_dir() / f"{event_id}.json", record))
            new[i] = ev
        write_json_atomic_many(writes)  # durable before any file leaves the inbox
    for i, (folder, path) in enumerate(files):
        ev = new.get(i) or (answers[i] if isinstance(answers[i], Event) else None)
        if ev is None:
            continue
        try:
            _move_out(path, ev.event_id)
            answers[i] = ev
        except Exception as exc:
            answers[i] = exc
    return answers


# ---------------------------------------------------------------------------------------------
# processing state
# ---------------------------------------------------------------------------------------------
def mark_done(ev: Event, status: str, feedback: list[str]) -> None:
    """Written by the run after its warehouse commit and feedback files: the event is answered."""
    mark_done_many([(ev, status, feedback)])


def mark_done_many(answers: list[tuple[Event, str, list[str]]]) -> None:
    """``mark_done`` for many events: every record durable when this returns (one folder fsync)."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json_atomic_many([(done_dir() / f"{ev.event_id}.json",
                             {"event_id": ev.event_id, "status": status, "feedback": feedback, "done_at": now})
                            for ev, status, feedback in answers])


def done_ids() -> set[str]:
    return {n[:-5] for n in os.listdir(done_dir()) if n.endswith(".json")} if done_dir().exists() else set()


def done_record(event_id: str) -> dict | None:
    p = done_dir() / f"{event_id}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def batches_dir() -> Path:
    return ledger_dir() / "batches"


def new_batch(attempts: dict[str, int]) -> str:
    """Record a batch of events to process in one run (event id -> its attempt number); returns
    its id.  Batches are append-only: a retried event is named again by a later batch."""
    with _locked():
        batches_dir().mkdir(parents=True, exist_ok=True)
        existing = [n for n in os.listdir(batches_dir()) if n.endswith(".json")]
        batch_id = f"b{len(existing) + 1:07d}"
        while (batches_dir() / f"{batch_id}.json").exists():
            batch_id = f"b{int(batch_id[1:]) + 1:07d}"
        write_json_atomic(batches_dir() / f"{batch_id}.json",
                          {"batch_id": batch_id, "events": sorted(attempts), "attempts": attempts,
                           "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    return batch_id


def batch(batch_id: str) -> dict:
    return _read_once(batches_dir() / f"{batch_id}.json", lambda data: data)


def batch_attempts() -> dict[str, int]:
    """Event id -> how many batches have named it (its attempts so far)."""
    out: dict[str, int] = {}
    if batches_dir().exists():
        for n in os.listdir(batches_dir()):
            if n.endswith(".json") and not n.startswith("."):
                for e in _read_once(batches_dir() / n, lambda data: data)["events"]:
                    out[e] = out.get(e, 0) + 1
    return out


def claim(run_id: str, event_ids: list[str]) -> None:
    """The run worker's pid, so reconciliation can tell a run that died from one still working."""
    write_json_atomic(claims_dir() / f"{run_id}.json", {"pid": os.getpid(), "events": event_ids})


def claimed_pid(run_id: str) -> int | None:
    p = claims_dir() / f"{run_id}.json"
    return json.loads(p.read_text(encoding="utf-8"))["pid"] if p.exists() else None


def pid_alive(pid: int) -> bool:
    """Whether a local process is still running (a killed child not yet reaped is a zombie: dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


@dataclass(frozen=True)
class Upload:
    """One file as received, and where its byte-identical copy lives in the archive."""

    original_name: str
    inbox_path: str
    sha256: str
    archive_path: str
    received_at: str  # ISO timestamp: the server's receipt time (ledger), strictly increasing
    size: int
    event_id: str | None = None  # the upload event (ledger); None for loads outside the ledger
    seq: int | None = None

    @property
    def received_datetime(self) -> datetime:
        return datetime.fromisoformat(self.received_at)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def upload_of(ev: Event):
    """The archived bytes of an event as an ``Upload``, checked against the ledger's hash."""
    path = Path(ev.archive_path)
    if sha256_of(path) != ev.sha256:
        raise RuntimeError(f"archive copy of event {ev.event_id} does not match its SHA-256")
    return Upload(original_name=ev.name, inbox_path=ev.received_path, sha256=ev.sha256,
                  archive_path=ev.archive_path, received_at=ev.received_at, size=ev.size,
                  event_id=ev.event_id, seq=ev.seq)


# ---------------------------------------------------------------------------------------------
# the invariant
# ---------------------------------------------------------------------------------------------
def invariant_problems(settle: float | None = None) -> list[str]:
    """Violations of: every file that entered the inbox has one ledger event per upload, an archive
    copy and a feedback file, and a ``raw.submissions`` row if it was routable.  Empty when whole.

    Checks: no settled upload left in the inbox (settled as the inbox sensor judges it,
    ``settle_state``: an incomplete zip is awaited for LSRP_INCOMPLETE_SECONDS); one event per
    inbox file (no two events for the same inbox file), its received copy, its archived bytes (hash verified), its done record and
    feedback files; exactly one ``raw.submissions`` row per event (routable or quarantined), no
    row without an event, and each event mirrored in ``raw.upload_ledger``.
    """
    import time

    import duckdb

    from pipeline import calendar

    problems = []
    settle = calendar.settle_seconds() if settle is None else settle
    now = time.time()
    for folder, p in inbox_files():
        try:  # judged as the inbox sensor judges it: an incomplete upload is still awaited
            state = settle_state(p, settle, now)
        except FileNotFoundError:  # received (moved out) while we looked
            continue
        if state != "waiting":
            problems.append(f"inbox/{printable(os.path.join(folder, p.name))[0]}: settled but not received")
    evs = events()
    seen_keys: dict[str, str] = {}
    for ev in evs:
        if ev.inbox_key in seen_keys:
            problems.append(f"event {ev.event_id}: the same inbox file as event {seen_keys[ev.inbox_key]}")
        seen_keys[ev.inbox_key] = ev.event_id
        if not Path(ev.archive_path).exists() or sha256_of(Path(ev.archive_path)) != ev.sha256:
            problems.append(f"event {ev.event_id}: no archive copy with its SHA-256")
        if not (received_dir() / ev.event_id).exists() or not any((received_dir() / ev.event_id).iterdir()):
            problems.append(f"event {ev.event_id}: the received file is missing")
        done = done_record(ev.event_id)
        if done is None:
            problems.append(f"event {ev.event_id}: not processed (no done record)")
        elif not done["feedback"] or not all(Path(f).exists() for f in done["feedback"]):
            problems.append(f"event {ev.event_id}: feedback file missing")
    if received_dir().exists():
        ids = {ev.event_id for ev in evs}
        for d in received_dir().iterdir():
            if d.name not in ids:
                problems.append(f"received/{d.name}: no ledger event")
    wh = paths.warehouse()
    if not wh.exists():
        return problems + ([f"no warehouse at {wh}"] if evs else [])
    con = None
    for _ in range(50):  # a run may hold the writer's lock for a moment
        try:
            con = duckdb.connect(str(wh), read_only=True)
            break
        except duckdb.IOException:
            time.sleep(0.2)
    if con is None:
        return problems + [f"the warehouse {wh} stayed locked"]
    try:
        rows = dict(con.execute("select submission_id, count(*) from raw.submissions group by 1").fetchall())
        mirrored = {r[0] for r in con.execute("select event_id from raw.upload_ledger").fetchall()} \
            if con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                           "and table_name = 'upload_ledger'").fetchone()[0] else set()
    finally:
        con.close()
    for ev in evs:
        n = rows.pop(ev.event_id, 0)
        if n != 1:
            problems.append(f"event {ev.event_id} ({ev.route}): {n} raw.submissions rows, expected 1")
        if ev.event_id not in mirrored:
            problems.append(f"event {ev.event_id}: not in raw.upload_ledger")
    for sid in rows:
        if re.fullmatch(r"\d{8}", str(sid)):
            problems.append(f"raw.submissions {sid}: no ledger event")
    return problems
