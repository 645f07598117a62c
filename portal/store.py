"""The portal's own records: users, sessions, sign-in attempts, upload checks and the audit trail.

One small layer over a database URL (``sqlite:///path``; env ``LSRP_PORTAL_DB``, default
``$LSRP_HOME/portal/portal.db``).  Each call opens its own connection: the portal's handlers run
in a thread pool, and SQLite connections must not cross threads.  WAL mode lets the pages read
while a sign-in writes.

The audit trail is append-only twice over: triggers refuse UPDATE and DELETE on the table, and
every entry is also appended to ``$LSRP_HOME/portal/audit.jsonl``, which the warehouse loads
(``raw.portal_audit``) the way it loads ``run_failures.jsonl``.
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from pipeline import paths

SCHEMA = """
create table if not exists users (
    id integer primary key autoincrement,
    email text not null unique collate nocase,
    role text not null check (role in ('la', 'dfe', 'admin')),
    la_code text,
    password_hash text,
    oidc_subject text unique,
    disabled integer not null default 0,
    created_at text not null
);
create table if not exists set_password_tokens (
    token_hash text primary key,
    user_id integer not null references users(id),
    expires_at text not null,
    used integer not null default 0
);
create table if not exists sessions (
    id_hash text primary key,
    user_id integer references users(id),
    csrf text not null,
    data text not null default '{}',
    created_at text not null,
    last_seen text not null
);
create table if not exists sign_in_failures (
    at text not null,
    email text not null collate nocase,
    address text not null
);
create index if not exists sign_in_failures_at on sign_in_failures(at);
create table if not exists upload_checks (
    event_id text primary key,
    result text not null,
    checked_at text not null
);
create table if not exists audit (
    seq integer primary key autoincrement,
    at text not null,
    actor text,
    role text,
    la_code text,
    address text,
    action text not null,
    outcome text not null,
    object text,
    detail text not null default '{}'
);
create trigger if not exists audit_no_update before update on audit
    begin select raise(abort, 'the audit trail is append-only'); end;
create trigger if not exists audit_no_delete before delete on audit
    begin select raise(abort, 'the audit trail is append-only'); end;
"""


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def now_text() -> str:
    return now().isoformat(timespec="microseconds")


def portal_dir() -> Path:
    return paths.home() / "portal"


def default_url() -> str:
    return os.environ.get("LSRP_PORTAL_DB") or f"sqlite:///{portal_dir() / 'portal.db'}"


def audit_log() -> Path:
    """The audit trail as JSON lines, where the warehouse's loader reads it (raw.portal_audit)."""
    from pipeline.release import portal_audit_log

    return portal_audit_log()


class Store:
    """Users, sessions, attempts, checks and audit entries in one SQLite database."""

    def __init__(self, url: str | None = None):
        url = url or default_url()
        if not url.startswith("sqlite:///"):
            raise ValueError(f"unsupported database URL {url!r}: use sqlite:///path")
        self.path = Path(url[len("sqlite:///"):])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("pragma journal_mode=wal")
            con.executescript(SCHEMA)

    @contextmanager
    def _connect(self):
        con = sqlite3.connect(self.path, timeout=10)
        con.row_factory = sqlite3.Row
        try:
            with con:  # one transaction: committed on success, rolled back on error
                yield con
        finally:
            con.close()

    def one(self, sql: str, args: tuple = ()) -> dict | None:
        with self._connect() as con:
            row = con.execute(sql, args).fetchone()
        return dict(row) if row else None

    def all(self, sql: str, args: tuple = ()) -> list[dict]:
        with self._connect() as con:
            return [dict(r) for r in con.execute(sql, args).fetchall()]

    def run(self, sql: str, args: tuple = ()) -> int:
        """Execute one statement; returns the last row id."""
        with self._connect() as con:
            return con.execute(sql, args).lastrowid

    # -------------------------------------------------------------- audit
    def audit(self, action: str, outcome: str, *, user: dict | None = None, address: str | None = None,
              obj: str | None = None, **detail) -> None:
        """Append one entry (database, then the JSONL export the warehouse loads)."""
        entry = {"at": now_text(), "actor": (user or {}).get("email"), "role": (user or {}).get("role"),
                 "la_code": (user or {}).get("la_code"), "address": address, "action": action,
                 "outcome": outcome, "object": obj, "detail": json.dumps(detail, sort_keys=True, default=str)}
        with self._connect() as con:
            entry["seq"] = con.execute(
                "insert into audit (at, actor, role, la_code, address, action, outcome, object, detail) "
                "values (:at, :actor, :role, :la_code, :address, :action, :outcome, :object, :detail)",
                entry).lastrowid
        _append_jsonl(audit_log(), entry)

    def audit_entries(self, limit: int = 500) -> list[dict]:
        return self.all("select * from audit order by seq desc limit ?", (limit,))


def _append_jsonl(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # one whole line per writer
        f.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        f.flush()
        os.fsync(f.fileno())
