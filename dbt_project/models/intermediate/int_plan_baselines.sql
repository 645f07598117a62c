-- Baselines from the LA's newest latest-per-year accepted return.
select
    b.la_code,
    b.indicator_id,
    b.baseline_value,
    b.baseline_period,
    b.submission_id
from {{ ref('stg_return_baselines') }} as b
join {{ ref('int_latest_submissions') }} as s using (submission_id)
where b.baseline_value is not null
qualify row_number() over (
    partition by b.la_code, b.indicator_id order by s.received_at desc, s.submission_id desc
) = 1
