"""What the portal shows, read from what the pipeline wrote: the upload ledger and its done records,
the feedback files, the published packs.  Read-only.

Every file the portal serves is a path this module resolved from the product's own records (an
event's archive path, a done record's feedback paths, a pack manifest's file names): a name or
path sent by a user is only ever compared with those, never joined onto a folder.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline import ledger, paths

from portal.access import DFE, LA, Denied, may_see_la

EVENT_ID = re.compile(r"^\d{8}$")
STATUS_WORDS = {"received": "Received: being checked", "processing": "Received: being checked",
                "accepted": "Accepted", "accepted_with_queries": "Accepted with queries", "rejected": "Rejected",
                "held": "Held back from publication", "not_received": "Not received"}
FINAL = {"accepted", "accepted_with_queries", "rejected"}


# ------------------------------------------------------------------ upload events
def _events() -> dict[str, ledger.Event]:
    return {e.event_id: e for e in ledger.events()}


def owner_la(ev: ledger.Event) -> str | None:
    """The LA an event belongs to: its routed LA, else (a refused or quarantined portal upload) the
    LA it was sent for."""
    if ev.la_code:
        return ev.la_code
    return (ledger.sender_of(ev.event_id) or {}).get("la_code")


def may_see_event(user: dict | None, ev: ledger.Event) -> bool:
    if user is not None and user["role"] == DFE:
        return True
    return may_see_la(user, owner_la(ev))


def event_for(user: dict | None, event_id: str) -> ledger.Event:
    """The event, if it exists and the user may see it; else Denied (the same either way)."""
    ev = _events().get(event_id) if EVENT_ID.match(event_id or "") else None
    if ev is None or not may_see_event(user, ev):
        raise Denied(f"event {event_id}", "no such event for this user")
    return ev


def status_of(event_id: str) -> str:
    done = ledger.done_record(event_id)
    return done["status"] if done else "received"


@dataclass
class Row:
    """One upload as the pages list it."""
    event: ledger.Event
    status: str
    sender: dict | None

    @property
    def status_words(self) -> str:
        return STATUS_WORDS.get(self.status, self.status)


def rows(events: list[ledger.Event]) -> list[Row]:
    return [Row(e, status_of(e.event_id), ledger.sender_of(e.event_id)) for e in events]


def uploads_of_la(la_code: str) -> list[Row]:
    """Every upload for the LA, newest first."""
    return rows([e for e in reversed(ledger.events()) if owner_la(e) == la_code])


def quarantined() -> list[Row]:
    return rows([e for e in reversed(ledger.events()) if e.route == ledger.ROUTE_QUARANTINE])


def feedback_file(ev: ledger.Event, kind: str) -> Path | None:
    """The event's feedback file (html or json) as its done record names it."""
    done = ledger.done_record(ev.event_id)
    for f in (done or {}).get("feedback", []):
        if f.endswith(f".{kind}") and Path(f).is_file():
            return Path(f)
    return None


def feedback_json(ev: ledger.Event) -> dict | None:
    path = feedback_file(ev, "json")
    return json.loads(path.read_text(encoding="utf-8")) if path else None


def published_warehouse() -> Path:
    """The analysts' read-only copy (pipeline/release.py), never the live warehouse: any connection
    to the live file, even read-only, would stop the one writer."""
    return paths.home() / "published" / "warehouse.duckdb"


# The warehouse's own list (int_latest_uploads' standing upload: a held or later rejected upload never
# replaces the accepted return whose queries are outstanding), as last published.
OUTSTANDING_SQL = """
select period, rule, sheet, cell, value, message, submission_id
from marts.outstanding_queries where la_code = ?
order by period, rule, cell
"""


def outstanding_queries(la_code: str) -> list[dict] | None:
    """Queries without a reason on each period's standing return (marts.outstanding_queries), as last
    published to the analysts' copy; None when there is no published copy yet."""
    import duckdb

    path = published_warehouse()
    if not path.is_file():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            cur = con.execute(OUTSTANDING_SQL, [la_code])
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]
    except duckdb.Error:
        return None


# ------------------------------------------------------------------ packs
def packs_root() -> Path:
    return paths.packs()


def releases_root() -> Path:
    root = packs_root()
    return root.parent / f".{root.name}-releases"


def _manifests(root: Path) -> dict[str, dict]:
    out = {}
    for m in root.glob("*/manifest.json"):
        try:
            out[m.parent.name] = json.loads(m.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def periods(root: Path | None = None) -> list[str]:
    from reports.common import period_key

    return sorted(_manifests(root or packs_root()), key=period_key, reverse=True)


@dataclass
class PackVersion:
    la_code: str
    period: str
    version: int
    issued: str
    release: str | None              # None: the current release; else an earlier release kept beside it
    files: dict[str, str]            # kind -> URL path under the period (la/<name>)


def _release_dirs() -> list[Path]:
    """Earlier releases the publisher still keeps (the one before the current)."""
    current = packs_root().resolve() if packs_root().exists() else None
    root = releases_root()
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.resolve() != current), reverse=True)


def pack_versions(la_code: str) -> list[PackVersion]:
    """Every version of the LA's packs on disk: each period of the current release, then any other
    version an earlier release still holds."""
    out, seen = [], set()
    for release, root in [(None, packs_root())] + [(p.name, p) for p in _release_dirs()]:
        if not root.exists():
            continue
        for period, man in _manifests(root).items():
            entry = man.get("packs", {}).get(la_code)
            # the current version, then those the publisher kept in <period>/la-v<n>/
            for version in ([entry] + list(entry.get("earlier", []))) if entry else []:
                if (period, version.get("version")) in seen:
                    continue
                seen.add((period, version.get("version")))
                files = {k: v for k, v in version.get("files", {}).items() if (root / period / v).is_file()}
                out.append(PackVersion(la_code, period, int(version.get("version", 1)), version.get("issued") or "",
                                       release, files))
    from reports.common import period_key
    return sorted(out, key=lambda v: (period_key(v.period), v.version), reverse=True)


def _release_root(release: str | None) -> Path:
    if release is None:
        return packs_root()
    for p in _release_dirs():
        if p.name == release:
            return p
    raise Denied(f"pack release {release}", "no such release")


def _files_of(entry: dict) -> set[str]:
    """Every file of a manifest entry: the current version's and each kept earlier version's."""
    out = set(entry.get("files", {}).values())
    for earlier in entry.get("earlier", []):
        out |= set(earlier.get("files", {}).values())
    return out


def pack_file(user: dict | None, release: str | None, period: str, folder: str, name: str) -> Path:
    """A pack file (<period>/la/<name>, or an earlier version's <period>/la-v<n>/<name>) the user may
    see, resolved through its manifest."""
    root = _release_root(release)
    man = _manifests(root).get(period)
    wanted = f"{folder}/{name}"
    for code, entry in (man or {}).get("packs", {}).items():
        if wanted in _files_of(entry):
            if not may_see_la(user, code):
                break
            path = root / period / wanted
            if path.is_file():
                return path
    raise Denied(f"pack {period}/{folder}/{name}", "no such pack file for this user")


def shared_file(user: dict | None, release: str | None, period: str, name: str) -> Path:
    """A file beside a period's packs: every LA's published values (linked from every pack; other
    LAs' small counts already suppressed), and for DfE the national overview."""
    from reports.publish import ALL_LAS_CSV, ALL_LAS_XLSX

    allowed = {ALL_LAS_CSV, ALL_LAS_XLSX} | ({"overview.html"} if user and user["role"] == DFE else set())
    root = _release_root(release)
    if period in _manifests(root) and name in allowed and (root / period / name).is_file():
        return root / period / name
    raise Denied(f"pack file {period}/{name}", "not a file this user may fetch")


def asset_file(release: str | None, name: str) -> Path:
    root = _release_root(release)
    for p in (root / "assets").glob("*"):
        if p.name == name and p.is_file():
            return p
    raise Denied(f"pack asset {name}", "no such asset")


def dfe_file(name: str) -> Path:
    """DfE's views beside the packs (index, support views): matched against the folder's listing."""
    folder = packs_root() / "dfe"
    if folder.is_dir():
        for n in os.listdir(folder):
            if n == name and n.endswith(".html") and (folder / n).is_file():
                return folder / n
    raise Denied(f"DfE file {name}", "no such file")


def dfe_views() -> list[str]:
    folder = packs_root() / "dfe"
    return sorted(n for n in os.listdir(folder) if n.endswith(".html")) if folder.is_dir() else []


def user_la_or_none(user: dict | None) -> str | None:
    return user["la_code"] if user and user["role"] == LA else None
