"""What ingest loaded, checked against the contracts: the blocking asset check ``parsed_tables_contract``.

``contracts.validate`` already runs the pandera contracts on every parsed return (a failure there is E26,
which rejects it), so re-running them on the parsed tables could never fail.  This reads the rows back
from ``raw.return_values``, ``raw.return_baselines`` and ``raw.return_targets`` for each accepted
submission and checks them with the same contracts, and that they are exactly the rows parsed: a load
bug (rows dropped, duplicated, filed under another submission, a column shifted) fails it.
"""
from __future__ import annotations

import polars as pl

from contracts import schemas
from contracts.findings import ParsedReturn

# raw table -> (contract table, columns as the parsed table has them)
TABLES = {
    "return_values": ("values", ["item_id", "quarter", "value", "note", "cell"]),
    "return_baselines": ("baselines", ["indicator_id", "baseline_value", "baseline_period", "note", "cell"]),
    "return_targets": ("targets", ["indicator_id", "target_period", "target_value", "cell"]),
}


def _parsed(parsed: ParsedReturn, table: str) -> pl.DataFrame:
    df = {"values": parsed.values, "baselines": parsed.baselines, "targets": parsed.targets}[table]
    return df.filter(pl.col("value").is_not_null()) if table == "values" else df   # empty cells are not stored


def _sorted(df: pl.DataFrame) -> list[tuple]:
    return sorted(df.rows(), key=lambda r: tuple("" if v is None else str(v) for v in r))


def loaded_problems(con, loaded: list[tuple[str, ParsedReturn]]) -> list[str]:
    """Problems with the raw rows of each (submission_id, parsed return) just loaded; [] when whole."""
    problems: list[str] = []
    for sid, parsed in loaded:
        for raw, (table, cols) in TABLES.items():
            want = _parsed(parsed, table).select(cols)
            rows = con.execute(f"select {', '.join(cols)} from raw.{raw} where submission_id = ?", [sid]).fetchall()
            got = pl.DataFrame(rows, schema=want.schema, orient="row")
            problems += [f"{sid} raw.{raw} {f.cell or ''}: {f.message}" for f in schemas.validate_table(got, table)]
            if _sorted(got) != _sorted(want):
                problems.append(f"{sid} raw.{raw}: {got.height} rows loaded, not the {want.height} rows parsed "
                                f"from the return (or not the same rows)")
    return problems


def problems_by_submission(con, loaded: list[tuple[str, ParsedReturn]]) -> dict[str, list[str]]:
    """``loaded_problems`` for a whole batch, by submission: one query per table for all of them,
    the rows compared with what was parsed as multisets (row counts joined both ways, one polars
    join per table, not a sort per submission), and the contracts run once per table over the batch
    (``contracts.validate.ContractBatch``: a pandera call costs ~8 ms, and uniqueness stays within
    each return)."""
    from contracts.findings import FileResult
    from contracts.validate import ContractBatch

    out: dict[str, list[str]] = {sid: [] for sid, _ in loaded}
    if not loaded:
        return out
    sids = [sid for sid, _ in loaded]
    got: dict[str, list[tuple[pl.DataFrame, str]]] = {sid: [] for sid in sids}
    for raw, (table, cols) in TABLES.items():
        wants = [_parsed(parsed, table).select(cols) for _, parsed in loaded]
        schema = wants[0].schema
        want = pl.concat([w.with_columns(pl.lit(sid).alias("_sid")) for sid, w in zip(sids, wants)], how="vertical")
        rows = con.execute(f"select submission_id as _sid, {', '.join(cols)} from raw.{raw} "
                           "where submission_id in (select unnest(?))", [sids]).fetchall()
        rows = pl.DataFrame(rows, schema={"_sid": pl.String, **schema}, orient="row")
        by_sid = rows.partition_by("_sid", as_dict=True, include_key=False)
        for sid, w in zip(sids, wants):
            got[sid].append((by_sid.get((sid,), w.clear()), table))
        # the same rows, each as many times: counts per distinct row, joined both ways
        keys = ["_sid", *cols]
        counts = rows.group_by(keys).len("got").join(want.group_by(keys).len("want"), on=keys, how="full",
                                                      nulls_equal=True, coalesce=True)
        differ = set(counts.filter(pl.col("got").fill_null(0) != pl.col("want").fill_null(0))["_sid"].to_list())
        for sid, w in zip(sids, wants):
            if sid in differ:
                n = by_sid[(sid,)].height if (sid,) in by_sid else 0
                out[sid].append(f"{sid} raw.{raw}: {n} rows loaded, not the {w.height} rows parsed "
                                f"from the return (or not the same rows)")
    batch, holders = ContractBatch(), {}
    for sid in sids:
        holders[sid] = FileResult(file=sid)
        batch.add(holders[sid], got[sid])
    batch.run()
    for sid, h in holders.items():
        out[sid] += [f"{sid} {f.sheet or ''} {f.cell or ''}: {f.message}" for f in h.findings]
    return out
