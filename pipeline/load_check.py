"""What ingest loaded, checked against the contracts: the blocking asset check ``parsed_tables_contract``.

``contracts.validate`` already runs the pandera contracts on every parsed return (a failure there is E26,
which rejects it), so re-running them on the parsed tables could never fail.  This reads the rows back
from ``raw.return_values``, ``raw.return_baselines`` and ``raw.return_targets`` for each accepted
submission and checks them with the same contracts, and that they are exactly the rows parsed: a load
bug (rows dropped, duplicated, filed under another submission, a column shifted) fails it.
"""
from __future__ import annotations

import polars as pl

from contracts import layout, metadata
from contracts.findings import ParsedReturn

# the return's own parts of a ParsedReturn (this check does not read the plan parts back):
# raw table -> (contract table, columns as the parsed table has them), from the raw tables' metadata
RETURN_PARTS = ("values", "baselines", "targets")
TABLES = {t.name: (part, [c.name for c in t.columns if c.parsed is not None])
          for part, t in metadata.parsed_tables().items() if part in RETURN_PARTS}


def _parsed(parsed: ParsedReturn, table: str) -> pl.DataFrame:
    df = getattr(parsed, table)
    return df.filter(pl.col("value").is_not_null()) if table == "values" else df   # empty cells are not stored


def _where(raw: str, cell: str | None) -> str:
    """Where a finding points: the raw table, and the sheet and cell of the return it came from."""
    return f"raw.{raw}, {layout.RETURN}!{cell}" if cell else f"raw.{raw}, {layout.RETURN}"


def loaded_problems(con, loaded: list[tuple[str, ParsedReturn]]) -> list[str]:
    """Problems with the raw rows of each (submission_id, parsed return) just loaded; [] when whole.
    ``problems_by_submission``, flattened."""
    return [p for found in problems_by_submission(con, loaded).values() for p in found]


def problems_by_submission(con, loaded: list[tuple[str, ParsedReturn]]) -> dict[str, list[str]]:
    """Problems with the raw rows of each (submission_id, parsed return) just loaded, by submission
    ([] each when whole): one query per table for all of them, the rows compared with what was
    parsed as multisets (row counts joined both ways, one polars join per table, not a sort per
    submission), and the contracts run once per table over the batch
    (``contracts.validate.ContractBatch``: a pandera call costs ~8 ms, and uniqueness stays within
    each return)."""
    from contracts.findings import FileResult
    from contracts.validate import ContractBatch

    out: dict[str, list[str]] = {sid: [] for sid, _ in loaded}
    if not loaded:
        return out
    sids = [sid for sid, _ in loaded]
    batch, holders = ContractBatch(), []
    for raw, (table, cols) in TABLES.items():
        wants = [_parsed(parsed, table).select(cols) for _, parsed in loaded]
        schema = wants[0].schema
        want = pl.concat([w.with_columns(pl.lit(sid).alias("_sid")) for sid, w in zip(sids, wants)], how="vertical")
        rows = con.execute(f"select submission_id as _sid, {', '.join(cols)} from raw.{raw} "
                           "where submission_id in (select unnest(?))", [sids]).fetchall()
        rows = pl.DataFrame(rows, schema={"_sid": pl.String, **schema}, orient="row")
        by_sid = rows.partition_by("_sid", as_dict=True, include_key=False)
        for sid, w in zip(sids, wants):  # each return's rows as loaded, under its own contract
            holders.append((sid, raw, FileResult(file=sid)))
            batch.add(holders[-1][2], [(by_sid.get((sid,), w.clear()), table)])
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
    batch.run()
    for sid, raw, h in holders:
        out[sid] += [f"{sid} {_where(raw, f.cell)}: {f.message}" for f in h.findings]
    return out
