"""Ingest core, free of Dagster: find uploads in the inbox, archive them, validate, load the warehouse.

The Dagster assets in ``pipeline/defs/ingest.py`` are thin wrappers around these functions, so the
same code runs under the sensor, under ``lsrp run`` and in the tests.

Inbox convention: ``inbox/<period>/<file>`` (e.g. ``inbox/2026-27-Q2/lsrp-quarterly-return-...xlsx``);
DfE-held EES CSVs go in ``inbox/dfe_held/``.  The inbox is never modified: an LA's resubmission
replaces its file there, while every version ever received stays in the archive.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipeline import paths

PERIOD_RE = re.compile(r"^\d{4}-\d{2}-Q[1-4]$")
LA_CODE_IN_NAME = re.compile(r"-(\d{3})-")
IGNORED_PREFIXES = ("~$", ".")  # Excel lock files, hidden and partial copies
IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload")
DFE_HELD_DIR = "dfe_held"


@dataclass(frozen=True)
class Upload:
    """One file as received, and where its byte-identical copy lives in the archive."""

    original_name: str
    inbox_path: str
    sha256: str
    archive_path: str
    received_at: str  # ISO timestamp (the upload's modification time)
    size: int

    @property
    def received_datetime(self) -> datetime:
        return datetime.fromisoformat(self.received_at)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_candidate(path: Path) -> bool:
    name = path.name
    return path.is_file() and not name.startswith(IGNORED_PREFIXES) and not name.endswith(IGNORED_SUFFIXES)


def la_code_from_name(name: str) -> str | None:
    """The 3-digit LA code in a file name, if the name has one (even if the name is otherwise wrong)."""
    m = LA_CODE_IN_NAME.search(name)
    return m.group(1) if m else None


def return_uploads(inbox: Path | None = None) -> list[tuple[str, str | None, Path]]:
    """Every LA return in the inbox as (period, la_code or None, path)."""
    inbox = inbox or paths.inbox()
    found = []
    if not inbox.exists():
        return found
    for period_dir in sorted(p for p in inbox.iterdir() if p.is_dir() and PERIOD_RE.match(p.name)):
        for f in sorted(period_dir.iterdir()):
            if is_candidate(f):
                found.append((period_dir.name, la_code_from_name(f.name), f))
    return found


def uploads_for(la_code: str, period: str, inbox: Path | None = None) -> list[Path]:
    return [p for per, code, p in return_uploads(inbox) if per == period and code == la_code]


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
    """An upload filed under one quarter whose cover reports another is rejected."""
    from contracts.findings import ERROR, Finding
    from contracts import layout as L

    if result.content is None or result.content.period == period:
        return None
    return Finding(
        ERROR, "E-PERIOD",
        f"The cover says this return is for {result.content.period}, but it was uploaded to the "
        f"{period} collection. Action required: set the quarter on the Cover sheet to "
        f"{period[-2:]} or upload the file to the right collection.",
        sheet=L.COVER, cell=L.COVER_QUARTER, value=result.content.quarter, file=result.file)


def previous_accepted(con, la_code: str, year: str, before: str):
    """The parsed content of the LA's latest accepted return for the year received before ``before``.

    Used to spot revised earlier quarters.  Re-reading the archived file keeps the warehouse free of
    parser state and is cheap (calamine reads a return in milliseconds).
    """
    from contracts.validate import validate_file

    row = con.execute(
        """select archive_path, file_name from raw.submissions
           where la_code = ? and year = ? and status <> 'rejected' and received_at < ?
           order by received_at desc limit 1""",
        [la_code, year, before],
    ).fetchone()
    if row is None or not Path(row[0]).exists():
        return None
    return validate_file(Path(row[0]), original_name=row[1]).content


def check_upload(con, upload: Upload, la_code: str | None, period: str, previous=None):
    """Validate one archived upload exactly as ``lsrp validate`` does, plus the collection context.

    ``previous`` (a ParsedReturn) overrides the warehouse lookup when an earlier upload in the same
    batch has not been recorded yet.
    """
    from contracts.validate import ValidationContext, validate_file

    year = period[:7]
    if previous is None and la_code:
        previous = previous_accepted(con, la_code, year, upload.received_at)
    result = validate_file(Path(upload.archive_path), ValidationContext(previous=previous),
                           original_name=upload.original_name)
    result.sha256 = upload.sha256
    mismatch = expected_period_error(result, period)
    if mismatch:
        result.findings.append(mismatch)
    return result


def record(con, upload: Upload, result, la_code: str | None, period: str) -> None:
    """Store the findings and (if accepted) the figures, and write the LA's feedback files."""
    from contracts.feedback import write_feedback
    from pipeline import warehouse

    write_feedback(result, paths.feedback() / period / (la_code or "unidentified"))
    warehouse.record_submission(con, result, upload.archive_path, upload.received_datetime,
                                la_code=la_code, year=period[:7], quarter=period[-2:])
