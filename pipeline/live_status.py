"""The live collection status: who is in, for every LA and open or recent quarter, current within a
minute of any upload, without a publication or a dbt build.

Written from the upload ledger (events and their answers; never the live warehouse, so it takes no
lock; holds come from the analysts' published copy) after every ingest batch, to ``$LSRP_HOME/published/``:

- ``collection_status_live.json``: ``{"generated_at", "quarters": [{"period", "opens", "deadline",
  "publish", "window", "received", "missing": [LA codes], "las": [{"la_code", "la_name", "status",
  "latest_upload_at", "latest_upload_status", "uploads", "late"}]}]}``;
- ``collection_status_live.parquet``: the same LA rows, one per LA and quarter, with the quarter's
  deadline beside each, for analysts (``pl.read_parquet``, ``duckdb``).

Each file is written under a temporary name, fsynced and renamed over the old one.  ``status`` is that
of the upload that stands, by the warehouse's rule (``int_latest_uploads``): the newest accepted one not
held back by a publication, else the newest: ``accepted``, ``accepted_with_queries``, ``rejected``,
``held``, ``processing`` (received, not answered yet) or ``not_received``.  ``latest_upload_status`` is
the newest upload's own answer, so a later rejected upload shows beside the accepted return it did not
undo.  The quarters are every quarter whose window has opened, newest first.
"""
from __future__ import annotations

import json
import os
from datetime import date, datetime, timezone
from pathlib import Path

from pipeline import calendar, ledger, paths

JSON_NAME, PARQUET_NAME = "collection_status_live.json", "collection_status_live.parquet"
NOT_RECEIVED, PROCESSING = "not_received", "processing"


def json_path() -> Path:
    return paths.home() / "published" / JSON_NAME


def parquet_path() -> Path:
    return paths.home() / "published" / PARQUET_NAME


def _statuses(event_ids) -> dict[str, str]:
    """event id -> the status its answer recorded (only the events asked for)."""
    out = {}
    for event_id in event_ids:
        record = ledger.done_record(event_id)
        if record:
            out[event_id] = record.get("status")
    return out


def _held_ids() -> set[str]:
    """Submissions a publication held back, from the analysts' published copy (never the live file);
    empty before the first publication."""
    import duckdb

    copy = paths.home() / "published" / "warehouse.duckdb"
    if not copy.exists():
        return set()
    try:
        with duckdb.connect(str(copy), read_only=True) as con:
            return {r[0] for r in con.execute("select submission_id from raw.submissions where held_at is not null")
                    .fetchall()}
    except duckdb.Error:  # a copy from before holds existed
        return set()


def _standing(events: list, answers: dict[str, str], held: set[str]):
    """The warehouse's rule (int_latest_uploads): the newest accepted, not held, upload stands; else the newest."""
    accepted = [e for e in events if answers.get(e.event_id, "").startswith("accepted") and e.event_id not in held]
    return max(accepted or events, key=lambda e: e.seq)


def _answer(event, answers: dict[str, str], held: set[str]) -> str:
    return "held" if event.event_id in held else answers.get(event.event_id) or PROCESSING


def _uploads_by_key() -> dict[tuple[str, str], list[ledger.Event]]:
    by_key: dict[tuple[str, str], list[ledger.Event]] = {}
    for e in ledger.events():
        if e.route == ledger.ROUTE_RETURN and e.la_code and e.period:
            by_key.setdefault((e.la_code, e.period), []).append(e)
    return by_key


def _rows(period: str, names: dict[str, str], by_key: dict, answers: dict[str, str], held: set[str],
          deadline: date | None) -> list[dict]:
    """One row per LA for the quarter: the standing upload's status beside the newest upload's own."""
    rows = []
    for code in sorted(names):
        events = by_key.get((code, period))
        if not events:
            rows.append({"la_code": code, "la_name": names[code], "status": NOT_RECEIVED, "latest_upload_at": None,
                         "latest_upload_status": None, "uploads": 0, "late": False,
                         "standing_event_id": None, "latest_event_id": None})
            continue
        newest = max(events, key=lambda e: e.seq)
        stands = _standing(events, answers, held)
        rows.append({"la_code": code, "la_name": names[code], "status": _answer(stands, answers, held),
                     "latest_upload_at": newest.received_at, "latest_upload_status": _answer(newest, answers, held),
                     "uploads": len(events), "late": bool(deadline and newest.received_datetime.date() > deadline),
                     "standing_event_id": stands.event_id, "latest_event_id": newest.event_id})
    return rows


def quarter(period: str) -> list[dict]:
    """Every LA's row for one quarter (what the status document holds for it), from the ledger now: the
    portal's DfE page shows this, so it follows the same standing rule as the file and the warehouse."""
    from contracts import reference

    by_key = {k: v for k, v in _uploads_by_key().items() if k[1] == period}
    answers = _statuses(e.event_id for v in by_key.values() for e in v)
    c = next((c for c in calendar.collections() if c.period == period), None)
    return _rows(period, reference.la_names(), by_key, answers, _held_ids(), c and c.deadline)


def build(today: date | None = None) -> dict:
    """The status document (see the module docstring)."""
    from contracts import reference

    today = today or date.today()
    names = reference.la_names()
    by_key = _uploads_by_key()
    answers = _statuses(e.event_id for v in by_key.values() for e in v)
    held = _held_ids()
    collections = {c.period: c for c in calendar.collections()}
    periods = {c.period for c in collections.values() if c.opens <= today} | {p for _, p in by_key}
    quarters = []
    for period in sorted(periods, reverse=True):
        c = collections.get(period)
        rows = [{k: v for k, v in r.items() if not k.endswith("_event_id")}
                for r in _rows(period, names, by_key, answers, held, c and c.deadline)]
        missing = [r["la_code"] for r in rows if r["status"] == NOT_RECEIVED]
        window = "unknown" if c is None else ("not open" if today < c.opens else
                                             "open" if today <= c.deadline else "closed")
        quarters.append({"period": period, "opens": c and c.opens.isoformat(),
                         "deadline": c and c.deadline.isoformat(),
                         "publish": c and c.publish and c.publish.isoformat(), "window": window,
                         "received": len(names) - len(missing), "missing": missing, "las": rows})
    return {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "today": today.isoformat(),
            "quarters": quarters}


def _replace(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write(today: date | None = None) -> Path:
    """Write both files; returns the JSON's path."""
    import polars as pl

    doc = build(today)
    _replace(json_path(), lambda p: p.write_text(json.dumps(doc, indent=1), encoding="utf-8"))
    rows = [{"period": q["period"], "deadline": q["deadline"], "window": q["window"], **r}
            for q in doc["quarters"] for r in q["las"]]
    schema = {"period": pl.Utf8, "deadline": pl.Utf8, "window": pl.Utf8, "la_code": pl.Utf8, "la_name": pl.Utf8,
              "status": pl.Utf8, "latest_upload_at": pl.Utf8, "latest_upload_status": pl.Utf8, "uploads": pl.Int64,
              "late": pl.Boolean}
    _replace(parquet_path(), lambda p: pl.DataFrame(rows, schema=schema).write_parquet(p))
    return json_path()


def read() -> dict | None:
    try:
        return json.loads(json_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def missing(period: str, today: date | None = None) -> list[str]:
    """LA codes with no upload for ``period`` (from the ledger itself, not the file)."""
    doc = build(today)
    return next((q["missing"] for q in doc["quarters"] if q["period"] == period), [])
