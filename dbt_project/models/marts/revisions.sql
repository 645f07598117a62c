-- Values a later accepted return changed for an earlier quarter (queries for the LA's notes).
select
    cast(r.la_code as varchar) as la_code,
    cast(l.la_name as varchar) as la_name,
    cast(r.item_id as varchar) as item_id,
    cast(r.quarter_period as varchar) as quarter_period,
    cast(r.earlier_value as double) as earlier_value,
    cast(r.later_value as double) as later_value,
    cast(r.later_value - r.earlier_value as double) as difference,
    cast(r.earlier_submission_id as varchar) as earlier_submission_id,
    cast(r.later_submission_id as varchar) as later_submission_id,
    cast(r.earlier_received_at as timestamp) as earlier_received_at,
    cast(r.later_received_at as timestamp) as later_received_at
from {{ ref('int_revisions') }} as r
left join {{ ref('stg_las') }} as l using (la_code)
