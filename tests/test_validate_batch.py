"""Batch validation (issue 12): the pandera contracts run once per table over many files, and
every file still gets exactly the findings it gets on its own."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from contracts import schemas
from contracts.validate import ContractBatch, _stage_file, validate_file, validate_files
from pipeline import paths

SHEET = "Quarterly Return Template"


def _files(n=None):
    return sorted((paths.SAMPLE_DIR / "2026-27-Q2").glob("*.xlsx"))[:n] + sorted(
        (paths.SAMPLE_DIR / "broken").glob("*"))


def test_batch_gives_each_file_its_own_findings():
    files = _files()
    assert [r.to_dict() for r in validate_files(files)] == [validate_file(f).to_dict() for f in files]


def _plain(findings):
    return [{**f.to_dict(), "file": None} for f in findings]


def test_contract_failures_in_a_batch_land_on_their_own_file():
    """Files whose parsed tables break a contract (unknown items, bad cells, a duplicate that only
    a per-file uniqueness rule catches) get the per-file findings; the clean ones get none."""
    files = sorted((paths.SAMPLE_DIR / "2026-27-Q2").glob("*.xlsx"))[:4]
    batch = ContractBatch()
    results = [_stage_file(f, batch=batch) for f in files]
    main = [e for e in batch._queued if e[3] == SHEET]
    v = main[1][2][0][0]
    main[1][2][0] = (v.with_columns(pl.when(pl.int_range(pl.len()) < 3).then(pl.lit("bogus"))
                                    .otherwise(pl.col("item_id")).alias("item_id")), "values")
    b = main[2][2][1][0]
    main[2][2][1] = (b.with_columns(pl.lit("ZZ").alias("cell")), "baselines")
    b = main[3][2][1][0]
    main[3][2][1] = (pl.concat([b, b.head(1)]), "baselines")  # indicator_id unique within a file
    frames = [[df for df, _ in e[2]] for e in main]
    batch.run()
    for i, r in enumerate(results):
        expected = [f for df, t in zip(frames[i], ("values", "baselines", "targets"))
                    for f in schemas.validate_table(df, t, SHEET)]
        assert _plain(f for f in r.findings if f.rule == "E26") == _plain(expected)
        assert bool(expected) == (i > 0)


class _KillsTheChild:
    """A context that kills the process checking it (as a reader abort would), only in the child."""

    def __getattr__(self, name):
        import os
        import signal

        if name.startswith("__"):
            raise AttributeError(name)
        os.kill(os.getpid(), signal.SIGKILL)


def test_one_child_checks_many_files_and_a_crash_rejects_only_its_file():
    from contracts.isolation import validate_isolated, validate_many_isolated

    files = _files(3)
    tasks = [(f, None, None) for f in files]
    tasks.insert(1, (files[0], _KillsTheChild(), "crashing.xlsx"))
    results = validate_many_isolated(tasks)
    alone = [validate_isolated(f).to_dict() for f in files]
    assert [r.to_dict() for i, r in enumerate(results) if i != 1] == alone
    crashed = results[1]
    assert crashed.status == "rejected" and crashed.errors[0].rule == "E25" and "signal 9" in crashed.errors[0].message
    assert crashed.file == "crashing.xlsx"
    assert validate_isolated(files[0], _KillsTheChild(), "crashing.xlsx").to_dict() == crashed.to_dict()  # a batch of one



def test_shares_checked_side_by_side_give_each_file_its_own_result(monkeypatch):
    """A batch cut across children (one per core) answers in the batch's order, each file as it is
    alone; a crash in one child's share rejects only its file and never touches the other share."""
    from contracts import isolation

    monkeypatch.setattr(isolation, "MIN_CHUNK", 2)
    files = _files(3)
    tasks = [(f, None, None) for f in files]
    tasks.insert(8, (files[0], _KillsTheChild(), "crashing.xlsx"))  # 11 tasks: shares 0-5 and 6-10
    results = isolation.validate_many_isolated(tasks, workers=2)
    alone = [r.to_dict() for r in isolation.validate_many_isolated([(f, None, None) for f in files], workers=1)]
    assert [r.to_dict() for i, r in enumerate(results) if i != 8] == alone
    assert results[8].file == "crashing.xlsx" and results[8].errors[0].rule == "E25"

def test_clean_files_cost_one_pandera_call_per_table(monkeypatch):
    """The batch call really is the path taken: a file is checked on its own only when the batch
    shows it failing (the batch once fell back to per-file calls for every file, silently)."""
    calls = []
    real = schemas.validate_table
    monkeypatch.setattr(schemas, "validate_table", lambda df, table, sheet=None: calls.append(table) or real(df, table, sheet))
    batch_calls = []
    real_batch = schemas.pa.DataFrameSchema.validate
    monkeypatch.setattr(schemas.pa.DataFrameSchema, "validate",
                        lambda self, *a, **k: batch_calls.append(self.name) or real_batch(self, *a, **k))
    files = sorted((paths.SAMPLE_DIR / "2026-27-Q2").glob("*.xlsx"))
    results = validate_files(files)
    failing = [r for r in results if any(f.rule == "E26" for f in r.findings)]
    assert len(calls) <= 7 * len(failing)
    assert len(batch_calls) - len(calls) <= 7
