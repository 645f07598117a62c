"""Holding one LA's return back so the quarter publishes for everyone else.

Validation (contracts/) checks everything the marts assume, but if a warehouse test still fails on
an accepted return's rows (a rule the validator missed), refusing the whole publication would stop
152 LAs' packs for one LA's file.  Instead the publication (pipeline/defs/warehouse_dbt.py):

1. reads the failed tests from dbt's run_results.json;
2. runs each failed test's own compiled SQL on the build copy to get its failing rows, and maps them
   to submissions: a ``submission_id`` column names it; otherwise ``la_code`` (and the period, when
   the row has one) names the LA's newest accepted return in scope;
3. marks those submissions held in the build copy's ``raw.submissions`` (``held_at``,
   ``hold_reason``, ``hold_test``): staging then treats them as not accepted (status ``held``), so the
   LA falls back to its previous accepted return, or to DfE-held data only;
4. builds again.

A failure that no row ties to an LA (a model that could not be built, a test on reference data, or
rows without an LA) is not one LA's: the publication fails with that said, and the previous release
stands.  So does a failure that would hold more than ``max_held()`` LAs: that is a product fault,
not one LA's file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

# Row columns that say which period a failing row is about (plan_changes: change_period).
_PERIOD_COLUMNS = ("period", "change_period", "quarter_period")
_FAILED = {"fail", "error"}


@dataclass(frozen=True)
class Hold:
    submission_id: str
    la_code: str
    period: str
    test: str            # the dbt test's name
    reason: str          # for the LA and DfE: what the warehouse found


@dataclass
class Attribution:
    holds: list[Hold]
    unattributed: list[str]   # failed nodes no LA's rows explain, each with what dbt said


def max_held() -> int:
    """Most LAs one publication may hold back (LSRP_MAX_HELD, default 10): beyond that the fault is the
    product's, and publishing a quarter with many LAs missing would mislead more than it informs."""
    return int(os.environ.get("LSRP_MAX_HELD", "10"))


def failed_nodes(run_results: dict) -> list[dict]:
    """dbt's failed tests and models (status fail or error), from run_results.json."""
    return [r for r in run_results.get("results", []) if str(r.get("status", "")).lower() in _FAILED]


def test_name(node: dict) -> str:
    """A dbt node's readable name: ``assert_plan_changes_are_real_changes`` or ``primary_key_stg_x_...``."""
    return str(node.get("unique_id", "?")).split(".")[2] if node.get("unique_id", "").count(".") >= 2 \
        else str(node.get("unique_id", "?"))


def _rows(con: duckdb.DuckDBPyConnection, sql: str, limit: int = 500) -> list[dict] | None:
    """The failing rows of a test's compiled SQL (None when it cannot be run here)."""
    try:
        cur = con.execute(f"select * from ({sql.strip().rstrip(';')}) as failing limit {limit}")
        cols = [d[0].lower() for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    except duckdb.Error:
        return None


def _newest_accepted(con, la_code: str, period: str | None, quarter: str) -> tuple[str, str] | None:
    """(submission_id, period) of the LA's newest accepted, unheld return for ``period`` (or up to the
    quarter being built), the one its rows in the marts come from."""
    row = con.execute(
        """select submission_id, period from raw.submissions
           where la_code = ? and status in ('accepted', 'accepted_with_queries') and held_at is null
             and period <= ? and (? is null or period = ?)
           order by period desc, received_at desc, event_seq desc nulls last limit 1""",
        [la_code, quarter, period, period]).fetchone()
    return (row[0], row[1]) if row else None


def _submission(con, submission_id: str) -> tuple[str, str] | None:
    row = con.execute("""select la_code, period from raw.submissions where submission_id = ?
                         and la_code is not null and status <> 'rejected' and held_at is null""",
                      [submission_id]).fetchone()
    return (row[0], row[1]) if row else None


def _reason(name: str, row: dict) -> str:
    """What the LA and DfE are told: the check that failed and the row it failed on."""
    what = {k: v for k, v in row.items() if v is not None and k not in ("n_rows", "submission_id", "reason")}
    detail = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in list(what.items())[:6])
    return (f"The return passed validation, but the warehouse check '{name}' failed on its rows "
            f"({detail[:300]}). Action required: correct the return and upload it again; DfE will contact you "
            "if it is not clear what to change.")


def attribute(con: duckdb.DuckDBPyConnection, run_results: dict, quarter: str) -> Attribution:
    """Which accepted returns explain dbt's failures (see the module docstring)."""
    holds: dict[str, Hold] = {}
    unattributed: list[str] = []
    for node in failed_nodes(run_results):
        name = test_name(node)
        if not str(node.get("unique_id", "")).startswith("test.") or not node.get("compiled_code"):
            unattributed.append(f"{name}: {str(node.get('message') or 'error').splitlines()[0][:200]}")
            continue
        rows = _rows(con, node["compiled_code"])
        found = _holds_for(con, name, rows or [], quarter)
        if rows is None or not rows or found is None:
            unattributed.append(f"{name}: {str(node.get('message') or 'failed')[:200]}")
            continue
        for h in found:
            holds.setdefault(h.submission_id, h)
    return Attribution(list(holds.values()), unattributed)


def _holds_for(con, name: str, rows: list[dict], quarter: str) -> list[Hold] | None:
    """The holds that explain every failing row, or None if some row names no LA's return."""
    out = []
    for row in rows:
        hit = None
        if row.get("submission_id"):
            sub = _submission(con, str(row["submission_id"]))
            hit = (str(row["submission_id"]), *sub) if sub else None
        elif row.get("la_code"):
            period = next((str(row[c]) for c in _PERIOD_COLUMNS if row.get(c)), None)
            found = _newest_accepted(con, str(row["la_code"]), period, quarter)
            hit = (found[0], str(row["la_code"]), found[1]) if found else None
        if hit is None:
            return None
        out.append(Hold(hit[0], hit[1], hit[2], name, _reason(name, row)))
    return out


def record(con: duckdb.DuckDBPyConnection, holds: list[Hold], when: datetime | None = None) -> None:
    """Mark the submissions held (in the build copy: it becomes the live warehouse only if the
    build that follows passes)."""
    when = when or datetime.now(timezone.utc).replace(tzinfo=None)
    for h in holds:
        con.execute("update raw.submissions set held_at = ?, hold_reason = ?, hold_test = ? where submission_id = ?",
                    [when, h.reason, h.test, h.submission_id])


def describe(holds: list[Hold]) -> str:
    """One line per held LA for the console and the run log."""
    return "; ".join(f"LA {h.la_code} {h.period} (submission {h.submission_id[:12]}): {h.test}" for h in holds)


def tell(holds: list[Hold], when: datetime | None = None) -> list[str]:
    """After the publication that held them is live: each held upload's feedback says so (the
    ledger's done record names its feedback files) and DfE's alert channels are told."""
    from contracts.feedback import annotate_held
    from pipeline import ledger

    from pipeline import alerts

    stamp = (when or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    said = []
    for h in holds:
        done = ledger.done_record(h.submission_id) or {}
        annotate_held(done.get("feedback") or [], h.reason, stamp)
        try:  # DfE's alert channels (once per held submission); an alert that cannot go never undoes a publication
            sent = alerts.alert_held(h.la_code, h.period, h.reason, key=f"held:{h.submission_id}")
            said.append(f"alert for LA {h.la_code}: {sent or 'no alert channel configured'}")
        except Exception as exc:  # noqa: BLE001 - the hold stands; the overview and the marts still show it
            said.append(f"alert for LA {h.la_code} not sent: {exc}")
    return said
