-- The accepted return whose plan parts stand for each LA and reporting period: the newest accepted
-- upload for that period that carried plan parts (a return on an earlier template carries none).
select
    s.la_code,
    s.year,
    s.period,
    s.quarter,
    s.submission_id,
    s.received_at,
    {{ quarter_index('s.period') }} as period_index
from {{ ref('int_accepted_submissions') }} as s
where exists (select 1 from {{ source('raw', 'plan_cover') }} as c where c.submission_id = s.submission_id)
qualify row_number() over (
    partition by s.la_code, s.period
    order by s.received_at desc, s.submission_id desc
) = 1
