"""Ingest core, free of Dagster: receive uploads into the ledger, validate, load the warehouse.

The Dagster assets in ``pipeline/defs/ingest.py`` are thin wrappers around these functions, so the
same code runs under the sensor, under ``lsrp run`` and in the tests.

Inbox convention: ``inbox/<period>/<file>`` (e.g. ``inbox/2026-27-Q2/lsrp-quarterly-return-...xlsx``);
DfE-held EES CSVs go in ``inbox/dfe_held/``.  Each settled return is received into the upload
ledger (``pipeline/ledger.py``): archived, recorded as an event and moved out of the inbox to
``received/``.  Runs process the archived bytes of one event, never the inbox.
"""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipeline import paths, plan_lock
from pipeline.ledger import DFE_HELD_DIR, IGNORED_PREFIXES, IGNORED_SUFFIXES, la_code_from_name  # noqa: F401
from pipeline.ledger import Upload, sha256_of  # noqa: F401  (defined beside the ledger that makes them)

PERIOD_RE = re.compile(r"^\d{4}-\d{2}-Q[1-4]$")


def is_candidate(path: Path) -> bool:
    name = path.name
    return path.is_file() and not name.startswith(IGNORED_PREFIXES) and not name.endswith(IGNORED_SUFFIXES)


def dfe_held_uploads(inbox: Path | None = None) -> list[Path]:
    folder = (inbox or paths.inbox()) / DFE_HELD_DIR
    return sorted(p for p in folder.glob("*") if is_candidate(p)) if folder.exists() else []


def archive_upload(path: Path, folder: str, archive_root: Path | None = None) -> Upload:
    """Copy ``path`` into the archive under its content hash; an existing copy is never overwritten."""
    archive_root = archive_root or paths.archive()
    digest = sha256_of(path)
    suffix = "".join(path.suffixes[-1:]).lower()
    target = archive_root / folder / f"{digest}{suffix}"
    meta = target.with_name(target.name + ".json")
    if meta.exists():  # already archived: keep the first receipt, never rewrite
        return Upload(**json.loads(meta.read_text()))
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(path, tmp)
        if sha256_of(tmp) != digest:  # changed while we copied: try again on the next tick
            tmp.unlink()
            raise RuntimeError(f"{path.name} changed while it was being archived")
        tmp.rename(target)
    received = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).replace(tzinfo=None)
    upload = Upload(path.name, str(path), digest, str(target), received.isoformat(timespec="microseconds"),
                    target.stat().st_size)
    meta.write_text(json.dumps(asdict(upload), indent=2))
    return upload


def expected_period_error(result, period: str):
    """An upload filed under one quarter whose cover reports another is rejected (rule E-PERIOD)."""
    from contracts import layout as L
    from contracts.rules import finding

    if result.content is None or result.content.period == period:
        return None
    f = finding("E-PERIOD", sheet=L.COVER, cell=L.COVER_QUARTER, value=result.content.quarter,
                found=result.content.period, period=period, quarter=period[-2:])
    f.file = result.file
    return f


def previous_accepted(con, la_code: str, year: str, before: str):
    """The parsed content of the LA's latest accepted return for the year received before ``before``.

    Used to spot revised earlier quarters.  Re-reading the archived file keeps the warehouse free of
    parser state and is cheap (calamine reads a return in milliseconds).
    """
    from contracts.isolation import validate_isolated
    from contracts.validate import ValidationContext

    row = con.execute(
        """select archive_path, file_name from raw.submissions
           where la_code = ? and year = ? and status <> 'rejected' and received_at < ?
           order by event_seq desc nulls last, received_at desc limit 1""",
        [la_code, year, before],
    ).fetchone()
    if row is None or not Path(row[0]).exists():
        return None
    return validate_isolated(Path(row[0]), ValidationContext(expected_year=year), original_name=row[1]).content


def check_upload(con, upload: Upload, la_code: str | None, period: str | None, previous=None):
    """Validate one archived upload exactly as ``lsrp validate`` does, plus the collection context,
    in a bounded child process (``contracts.isolation.validate_isolated``).

    The expected collection year is the period's own (a 2027-28 return filed under 2027-28-Q1 is
    checked as 2027-28).  ``previous`` (a ParsedReturn) overrides the warehouse lookup when an
    earlier upload in the same batch has not been recorded yet.
    """
    from contracts.isolation import validate_isolated
    from contracts.validate import ValidationContext

    year = period[:7] if period else None
    if previous is None and la_code and year:
        previous = previous_accepted(con, la_code, year, upload.received_at)
    # plan-year hook: the baselines and targets the LA's accepted initial return locked (query Q11)
    locked = plan_lock.locked_plan(con, la_code, period, upload.received_at) if la_code and period else None
    result = validate_isolated(Path(upload.archive_path),
                               ValidationContext(previous=previous, expected_year=year, locked=locked),
                               original_name=upload.original_name)
    result.sha256 = upload.sha256
    if period:
        mismatch = expected_period_error(result, period)
        if mismatch:
            result.findings.append(mismatch)
    return result


def quarantine_finding(reason: str, name: str):
    """The error that tells an uploader why their file could not be filed."""
    from contracts.findings import ERROR, Finding

    return Finding(ERROR, "E-ROUTE",
                   f"This upload could not be filed under a local authority and quarter: {reason}. "
                   "Action required: name the file as the template does (with your 3-digit LA code) and "
                   "upload it to the folder of the quarter it is for, e.g. 2026-27-Q2/.", value=name, file=name)


def feedback_stem(name: str, event_id: str) -> str:
    """A file-system-safe feedback name that still reads like the upload, unique per event."""
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", Path(name).stem).strip(" .") or "upload"
    return f"{stem[:80]}-{event_id}"


def record(con, upload: Upload, result, la_code: str | None, period: str | None,
           event=None) -> list[str]:
    """Store the findings and (if accepted) the figures, then write the feedback files; returns
    their paths.  With a ledger ``event`` the row is keyed by the event (so a retried run replaces
    its own row and nothing else) and the event is mirrored into raw.upload_ledger."""
    from contracts.feedback import write_feedback
    from pipeline import warehouse

    quarantined = event is not None and event.route == "quarantine"
    if event is None:
        folder = paths.feedback() / (period or "unfiled") / (la_code or "unidentified")
        warehouse.record_submission(con, result, upload.archive_path, upload.received_datetime,
                                    la_code=la_code, year=period[:7] if period else None,
                                    quarter=period[-2:] if period else None)
        return [str(p) for p in write_feedback(result, folder)]
    ledger_row = {k: getattr(event, k) for k in ("event_id", "seq", "name", "name_hex", "folder", "size", "sha256",
                                                 "archive_path", "route", "la_code", "period", "reason")}
    ledger_row["received_at"] = event.received_datetime
    warehouse.record_submission(
        con, result, upload.archive_path, upload.received_datetime, la_code=la_code,
        year=period[:7] if period else None, quarter=period[-2:] if period else None,
        submission_id=event.event_id, event_seq=event.seq,
        quarantine_reason=event.reason if quarantined else None, ledger_row=ledger_row)
    folder = paths.feedback() / "quarantine" if quarantined else paths.feedback() / period / la_code
    return [str(p) for p in write_feedback(result, folder, stem=feedback_stem(event.name, event.event_id))]


def process_event(con, event, previous=None):
    """Validate and record one upload event; idempotent (a retry replaces its own row).
    Returns (FileResult, feedback paths).  The caller marks the event done once the warehouse
    connection is closed (``ledger.mark_done``), so "done" means committed and released."""
    from pipeline import ledger

    upload = ledger.upload_of(event)
    result = validate_event(con, event, upload, previous)
    return result, record(con, upload, result, event.la_code, event.period, event=event)


def validate_event(con, event, upload: Upload | None = None, previous=None):
    """The checked result of one event: quarantined uploads are still checked, so the uploader
    learns everything at once, and are always rejected with the reason they could not be filed."""
    from pipeline import ledger

    upload = upload or ledger.upload_of(event)
    if event.route == "quarantine":
        result = check_upload(con, upload, None, event.period)
        result.findings.insert(0, quarantine_finding(event.reason, event.name))
        return result
    return check_upload(con, upload, event.la_code, event.period, previous=previous)


# ---------------------------------------------------------------------------------------------
# a batch of events in one run
# ---------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What became of one event in a batch.  ``error``: it could not be processed (not recorded,
    not marked done: reconciliation asks for it again); a rejection is a result, not an error."""

    event: object
    upload: Upload | None = None
    result: object = None
    feedback: list[str] | None = None
    error: str | None = None


def _warehouse_previous(con, la_code: str, year: str, before: str):
    """(seq, archive path, name) of the LA's latest accepted return for the year received before
    ``before`` in the warehouse (what ``previous_accepted`` re-reads), or None."""
    row = con.execute(
        """select event_seq, archive_path, file_name from raw.submissions
           where la_code = ? and year = ? and status <> 'rejected' and received_at < ?
           order by event_seq desc nulls last, received_at desc limit 1""",
        [la_code, year, before]).fetchone()
    if row is None or not Path(row[1]).exists():
        return None
    return (row[0] if row[0] is not None else -1), row[1], row[2]


def _waves(outcomes: list[Outcome]) -> list[list[Outcome]]:
    """Rounds of events that can be checked together: a return that revises one earlier in the
    batch (same LA and year), or that an initial return earlier in the batch locks (same LA, any
    year), waits for the round after it, so it is checked against that one."""
    from pipeline import ledger

    last_wave: dict[tuple, int] = {}   # (la, year) -> wave of its latest return; (la,) -> of its latest initial
    waves: list[list[Outcome]] = []
    for o in outcomes:
        ev = o.event
        n = 0
        if ev.route == ledger.ROUTE_RETURN:
            year_key, lock_key = (ev.la_code, ev.period[:7]), (ev.la_code,)
            n = max(last_wave.get(year_key, -1), last_wave.get(lock_key, -1)) + 1
            last_wave[year_key] = n
            if plan_lock.initial_period(ev.period):
                last_wave[lock_key] = n
        while len(waves) <= n:
            waves.append([])
        waves[n].append(o)
    return waves


def validate_batch(con, events) -> list[Outcome]:
    """Check every event of a batch, in receipt order, in one bounded child per round (a crash or
    a limit there rejects only the file it happened on: ``validate_many_isolated``).

    Each file is checked exactly as ``validate_event`` checks it alone.  A return revises the LA's
    latest accepted return for the year received before it: the newest of the warehouse's and
    this batch's (by sequence), exactly as if each event had its own run.
    """
    from contracts.findings import REJECTED
    from contracts.isolation import validate_many_isolated
    from contracts.validate import ValidationContext
    from pipeline import ledger

    outcomes = []
    for ev in sorted(events, key=lambda e: e.seq):
        out = Outcome(ev)
        try:
            out.upload = ledger.upload_of(ev)
        except Exception as exc:  # one event's problem never stops the batch
            out.error = f"{type(exc).__name__}: {exc}"
        outcomes.append(out)
    latest: dict[tuple[str, str], tuple[int, object]] = {}
    locks: dict[str, tuple[int, object]] = {}   # LA -> (seq, LockedPlan) of its accepted initial return here
    for wave in _waves([o for o in outcomes if o.error is None]):
        tasks = []
        for o in wave:
            ev = o.event
            year = ev.period[:7] if ev.period else None
            context, previous = ValidationContext(expected_year=year), None
            if ev.route == ledger.ROUTE_RETURN:
                # the baselines and targets the LA's accepted initial return locked (query Q11): the
                # newest of the warehouse's and this batch's, as if each event had its own run
                context.locked = plan_lock.newest_lock(
                    plan_lock.locked_plan_seq(con, ev.la_code, ev.period, o.upload.received_at),
                    None if plan_lock.initial_period(ev.period) else locks.get(ev.la_code))
                mine = latest.get((ev.la_code, year))
                theirs = _warehouse_previous(con, ev.la_code, year, o.upload.received_at)
                if mine is not None and (theirs is None or mine[0] >= theirs[0]):
                    context.previous = mine[1]
                elif theirs is not None:
                    previous = (theirs[1], theirs[2], year)  # parsed in the child
            tasks.append((o.upload.archive_path, context, ev.name, previous))
        try:
            results = validate_many_isolated(tasks)
        except Exception as exc:
            for o in wave:
                o.error = f"{type(exc).__name__}: {exc}"
            continue
        for o, result in zip(wave, results):
            ev = o.event
            result.sha256 = o.upload.sha256
            if ev.period:
                mismatch = expected_period_error(result, ev.period)
                if mismatch:
                    result.findings.append(mismatch)
            if ev.route == ledger.ROUTE_QUARANTINE:
                result.findings.insert(0, quarantine_finding(ev.reason, ev.name))
            elif result.status != REJECTED:
                latest[(ev.la_code, ev.period[:7])] = (ev.seq, result.content)
                if plan_lock.initial_period(ev.period) and result.content is not None:
                    locks[ev.la_code] = (ev.seq, plan_lock.lock_of(result.content, ev.period))
            o.result = result
    return outcomes


def _submission_item(out: Outcome) -> dict:
    ev, upload, result = out.event, out.upload, out.result
    quarantined = ev.route == "quarantine"
    ledger_row = {k: getattr(ev, k) for k in ("event_id", "seq", "name", "name_hex", "folder", "size", "sha256",
                                              "archive_path", "route", "la_code", "period", "reason")}
    ledger_row["received_at"] = ev.received_datetime
    period = ev.period
    return dict(result=result, archive_path=upload.archive_path, received_at=upload.received_datetime,
                la_code=ev.la_code, year=period[:7] if period else None, quarter=period[-2:] if period else None,
                submission_id=ev.event_id, event_seq=ev.seq,
                quarantine_reason=ev.reason if quarantined else None, ledger_row=ledger_row)


def _write_feedback(out: Outcome) -> list[str]:
    from contracts.feedback import write_feedback

    ev = out.event
    folder = paths.feedback() / "quarantine" if ev.route == "quarantine" else paths.feedback() / ev.period / ev.la_code
    return [str(p) for p in write_feedback(out.result, folder, stem=feedback_stem(ev.name, ev.event_id))]


def record_batch(con, outcomes: list[Outcome]) -> None:
    """Store every checked event of a batch in one transaction (bulk inserts), then write their
    feedback files.  If the bulk write fails, each event is written on its own, so one bad row
    fails only its own event.  Sets ``feedback`` (or ``error``) on each outcome."""
    from pipeline import warehouse

    ready = [o for o in outcomes if o.error is None]
    try:
        warehouse.record_submissions(con, [_submission_item(o) for o in ready])
        written = ready
    except Exception:
        written = []
        for o in ready:
            try:
                warehouse.record_submissions(con, [_submission_item(o)])
                written.append(o)
            except Exception as exc:
                o.error = f"{type(exc).__name__}: {exc}"
    for o in written:
        try:
            o.feedback = _write_feedback(o)
        except Exception as exc:
            o.error = f"{type(exc).__name__}: {exc}"


def process_batch(con, events) -> list[Outcome]:
    """Validate and record a batch of upload events; idempotent per event (a retry replaces its
    own rows).  The caller marks each answered event done once the connection is closed."""
    outcomes = validate_batch(con, events)
    record_batch(con, outcomes)
    return outcomes
