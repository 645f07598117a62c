"""The lock: baselines and targets fixed by an LA's accepted initial return (issue 10).

The initial return (collection kind ``initial`` in config/collection_calendar.yaml, period 2026-27-Q0)
sets the plan's baselines and targets.  Once it is accepted they are locked: validation of any later
return compares its baselines and targets with these (query Q11 on a change), and the warehouse keeps
them (dbt ``int_plan_statements``; every change is a row in ``marts.plan_changes``).
"""
from __future__ import annotations

from contracts.catalogue import INITIAL
from contracts.validate import LockedPlan


def initial_period(period: str) -> bool:
    return period.endswith(f"-{INITIAL}")


def locked_plan(con, la_code: str, period: str, before=None) -> LockedPlan | None:
    """The LA's locked baselines and targets for a return filed under ``period``: those of its newest
    accepted initial return received before ``before`` (None: any); None if there is none yet, or if
    ``period`` is the initial collection itself (a resubmitted initial return may still change them)."""
    found = locked_plan_seq(con, la_code, period, before)
    return found[1] if found else None


def lock_of(parsed, period: str) -> LockedPlan:
    """The lock an accepted initial return sets, from its parsed tables (a batch's initial return,
    not yet in the warehouse): the same values ``locked_plan`` reads back once it is loaded."""
    b = parsed.baselines.filter(parsed.baselines["baseline_value"].is_not_null())
    t = parsed.targets.filter(parsed.targets["target_value"].is_not_null())
    return LockedPlan(period=period, baselines=dict(zip(b["indicator_id"], b["baseline_value"])),
                      targets={(i, p): v for i, p, v in t.select("indicator_id", "target_period", "target_value").rows()})


def newest_lock(*found):
    """The lock of the newest initial return among ``(event seq, LockedPlan)`` pairs (None ignored)."""
    found = [f for f in found if f is not None]
    return max(found, key=lambda f: -1 if f[0] is None else f[0])[1] if found else None


def locked_plan_seq(con, la_code: str, period: str, before=None) -> tuple[int | None, LockedPlan] | None:
    """``locked_plan`` with the event sequence of the initial return that set it."""
    if initial_period(period):
        return None
    row = con.execute(
        f"""select submission_id, period, event_seq from raw.submissions
            where la_code = ? and period like '%-{INITIAL}' and status <> 'rejected'
              and (cast(? as timestamp) is null or received_at < cast(? as timestamp))
            order by event_seq desc nulls last, received_at desc limit 1""",
        [la_code, before, before]).fetchone()
    if row is None:
        return None
    sid, initial, seq = row
    baselines = dict(con.execute(
        "select indicator_id, baseline_value from raw.return_baselines "
        "where submission_id = ? and baseline_value is not null", [sid]).fetchall())
    targets = {(i, p): v for i, p, v in con.execute(
        "select indicator_id, target_period, target_value from raw.return_targets "
        "where submission_id = ? and target_value is not null", [sid]).fetchall()}
    return seq, LockedPlan(period=initial, baselines=baselines, targets=targets)
