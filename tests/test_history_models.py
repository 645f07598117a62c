"""Models written so their cost does not grow with years of history (issue 12) give exactly the rows of
their plain definitions: the newest statement or cell by a sorted window (row_number() = 1), every
consecutive pair of returns by lag() over every chain.  The aggregates and "only chains that vary"
filters they use instead are checked here against those definitions, run on the same built warehouse
(the committed sample: 301 and 330 revise a Q1 figure, Q1 and Q2 both state every target)."""
from __future__ import annotations

import duckdb
import pytest

BUILD_QUARTER = "2026-27-Q2"

NEWEST_TARGET = """
    select la_code, indicator_id, target_period, value as target_value, submission_id, is_initial as is_locked
    from intermediate.int_plan_statements
    where kind = 'target'
    qualify row_number() over (partition by la_code, indicator_id, target_period
                               order by is_initial desc, received_at desc, submission_id desc) = 1"""

NEWEST_CELL = f"""
    select s.la_code, v.item_id, v.quarter_period, v.year, v.quarter, v.value, v.submission_id, s.received_at
    from staging.stg_return_values as v
    join intermediate.int_accepted_submissions as s using (submission_id)
    where v.quarter_period <= '{BUILD_QUARTER}' and v.value is not null
    qualify row_number() over (partition by s.la_code, v.item_id, v.quarter_period
                               order by s.received_at desc, s.period desc, v.submission_id desc) = 1"""

EVERY_REVISION = f"""
    select la_code, item_id, quarter_period, earlier_value, value as later_value, earlier_submission_id,
           submission_id as later_submission_id, earlier_received_at, received_at as later_received_at
    from (select *, lag(value) over w as earlier_value, lag(submission_id) over w as earlier_submission_id,
                 lag(received_at) over w as earlier_received_at
          from (select s.la_code, v.item_id, v.quarter_period, v.value, v.submission_id, s.received_at, s.period
                from staging.stg_return_values as v
                join intermediate.int_accepted_submissions as s using (submission_id)
                where v.quarter_period <= '{BUILD_QUARTER}')
          window w as (partition by la_code, item_id, quarter_period order by received_at, period, submission_id))
    where earlier_submission_id is not null and value is distinct from earlier_value"""

# each reference, the model it defines, and a query showing the case is not trivial in the sample
CASES = [
    (NEWEST_TARGET, "intermediate.int_plan_targets",
     "select count(*) from intermediate.int_plan_statements where kind = 'target' "
     "group by la_code, indicator_id, target_period having count(*) > 1"),
    (NEWEST_CELL, "intermediate.int_return_item_values",
     "select count(*) from staging.stg_return_values v join intermediate.int_accepted_submissions s using "
     "(submission_id) where v.value is not null group by s.la_code, v.item_id, v.quarter_period having count(*) > 1"),
    (EVERY_REVISION, "intermediate.int_revisions", "select * from intermediate.int_revisions"),
]


@pytest.fixture(scope="module")
def con(sample_warehouse):
    c = duckdb.connect(str(sample_warehouse), read_only=True)
    yield c
    c.close()


@pytest.mark.parametrize("reference, model, nontrivial", CASES, ids=[c[1].split(".")[1] for c in CASES])
def test_model_gives_the_rows_of_its_plain_definition(con, reference, model, nontrivial):
    assert con.execute(nontrivial).fetchall(), f"the sample has no case that tells {model} apart"
    built = f"select * from {model}"
    missing = con.execute(f"select * from ({reference}) except all {built}").fetchall()
    extra = con.execute(f"{built} except all select * from ({reference})").fetchall()
    assert not missing and not extra, (missing[:3], extra[:3])
