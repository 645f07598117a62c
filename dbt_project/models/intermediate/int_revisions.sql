-- A revision: a later accepted return changed a value an earlier accepted return gave for the
-- same LA, item and quarter.  Consecutive pairs only, so each change is listed once.
with vals as (
    select
        s.la_code,
        v.item_id,
        v.quarter_period,
        v.value,
        v.submission_id,
        s.received_at,
        s.period
    from {{ ref('stg_return_values') }} as v
    join {{ ref('int_accepted_submissions') }} as s using (submission_id)
    where v.quarter_period <= {{ build_quarter() }}
),

-- Cells whose returns do not all give the same value (NULL counts as a value, as `is distinct from`
-- does below): only they can hold a revision, so only they are put in order.  With years of history
-- nearly every cell is given once or unchanged, and sorting them all was most of the model's cost.
revised as (
    select la_code, item_id, quarter_period
    from vals
    group by all
    having min(value) <> max(value) or (count(value) > 0 and count(value) < count(*))
),

paired as (
    select
        *,
        lag(value) over w as earlier_value,
        lag(submission_id) over w as earlier_submission_id,
        lag(received_at) over w as earlier_received_at
    from vals
    semi join revised as r
        on r.la_code is not distinct from vals.la_code and r.item_id is not distinct from vals.item_id
       and r.quarter_period is not distinct from vals.quarter_period
    window w as (partition by la_code, item_id, quarter_period order by received_at, period, submission_id)
)

select
    la_code,
    item_id,
    quarter_period,
    earlier_value,
    value as later_value,
    earlier_submission_id,
    submission_id as later_submission_id,
    earlier_received_at,
    received_at as later_received_at
from paired
where earlier_submission_id is not null
  and value is distinct from earlier_value
