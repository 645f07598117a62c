-- Pipeline runs that failed, newest first, for DfE analysts beside the collection status:
-- which job, which LA and quarter it was working on, why, and whether Dagster will retry it.
select
    run_id,
    job_name,
    period,
    la_code,
    failed_at,
    message,
    retry_number,
    max_retries,
    coalesce(retry_number, 0) < coalesce(max_retries, 0) as will_retry,
    coalesce(root_run_id, run_id) as root_run_id
from {{ source('raw', 'run_failures') }}
order by failed_at desc
