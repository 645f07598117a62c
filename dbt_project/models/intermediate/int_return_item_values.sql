-- Per LA, item and quarter: the value from the newest accepted return containing that cell.
-- Per cell rather than per return, so a quarter left blank in a later return keeps its
-- earlier value instead of vanishing.
select
    s.la_code,
    v.item_id,
    v.quarter_period,
    v.year,
    v.quarter,
    v.value,
    v.submission_id,
    s.received_at
from {{ ref('stg_return_values') }} as v
join {{ ref('int_accepted_submissions') }} as s using (submission_id)
where v.quarter_period <= {{ build_quarter() }}
  and v.value is not null
qualify row_number() over (
    partition by s.la_code, v.item_id, v.quarter_period
    order by s.received_at desc, s.period desc, v.submission_id desc
) = 1
