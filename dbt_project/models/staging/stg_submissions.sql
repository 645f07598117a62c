-- One row per upload.  `status` is the upload's standing: the validator's verdict, except that an
-- accepted return a publication held back (a warehouse test failed on its rows: pipeline/holds.py)
-- is 'held' and not accepted, so the LA's marts fall back to its previous accepted return.
-- `validation_status` keeps what the validator said.
select
    submission_id,
    la_code,
    year,
    quarter,
    coalesce(period, year || '-' || quarter) as period,
    file_name,
    archive_path,
    cast(received_at as timestamp) as received_at,
    case when held_at is not null then 'held' else status end as status,
    status as validation_status,
    held_at is null and status in ('accepted', 'accepted_with_queries') as is_accepted,
    cast(held_at as timestamp) as held_at,
    hold_reason,
    hold_test,
    cast(n_errors as integer) as n_errors,
    cast(n_queries as integer) as n_queries,
    cast(n_unresolved_queries as integer) as n_unresolved_queries
from {{ source('raw', 'submissions') }}
