-- Targets from each LA's latest accepted return per year; where two years' returns give a
-- target for the same period, the newer return wins.
select
    t.la_code,
    t.indicator_id,
    t.target_period,
    t.target_value,
    t.submission_id
from {{ ref('stg_return_targets') }} as t
join {{ ref('int_latest_submissions') }} as s using (submission_id)
where t.target_value is not null
qualify row_number() over (
    partition by t.la_code, t.indicator_id, t.target_period order by s.received_at desc, s.submission_id desc
) = 1
