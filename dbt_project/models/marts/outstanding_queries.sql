-- Queries still without a reason on each LA's latest upload for a quarter, up to the quarter being
-- built: what the pack's data-quality section and DfE's support view list.  "Latest" is
-- int_latest_uploads, the upload marts.collection_status reports; a query on an older upload that a
-- resubmission replaced is no longer outstanding.
select
    cast(f.la_code as varchar) as la_code,
    cast(l.la_name as varchar) as la_name,
    cast(l.region_name as varchar) as region_name,
    cast(f.period as varchar) as period,
    cast(f.submission_id as varchar) as submission_id,
    cast(f.rule as varchar) as rule,
    cast(f.sheet as varchar) as sheet,
    cast(f.cell as varchar) as cell,
    cast(f.value as varchar) as value,
    cast(f.message as varchar) as message
from {{ ref('stg_findings') }} as f
join {{ ref('int_latest_uploads') }} as s on s.submission_id = f.submission_id
join {{ ref('stg_las') }} as l on l.la_code = f.la_code
where f.level = 'query'
  and not coalesce(f.resolved, false)
