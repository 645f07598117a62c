-- Per LA, item and quarter: the value from the newest accepted return containing that cell.
-- Per cell rather than per return, so a quarter left blank in a later return keeps its
-- earlier value instead of vanishing.
-- One hash aggregate, not a window: with years of history every cell of every return would be sorted.
-- The newest is that of `order by received_at desc, period desc, submission_id desc` (a NULL receipt
-- time last, as there); a return gives a cell once (stg_return_values' key), so it is one row.
select
    la_code,
    item_id,
    quarter_period,
    newest.year,
    newest.quarter,
    newest.value,
    newest.submission_id,
    newest.received_at
from (
    select
        s.la_code,
        v.item_id,
        v.quarter_period,
        arg_max(
            {'year': v.year, 'quarter': v.quarter, 'value': v.value, 'submission_id': v.submission_id,
             'received_at': s.received_at},
            (s.received_at is not null, coalesce(s.received_at, timestamp '-infinity'), s.period, v.submission_id)
        ) as newest
    from {{ ref('stg_return_values') }} as v
    join {{ ref('int_accepted_submissions') }} as s using (submission_id)
    where v.quarter_period <= {{ build_quarter() }}
      and v.value is not null
    group by s.la_code, v.item_id, v.quarter_period
)
