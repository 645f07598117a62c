select
    submission_id,
    la_code,
    year,
    quarter,
    coalesce(period, year || '-' || quarter) as period,
    file_name,
    archive_path,
    cast(received_at as timestamp) as received_at,
    status,
    status in ('accepted', 'accepted_with_queries') as is_accepted,
    cast(n_errors as integer) as n_errors,
    cast(n_queries as integer) as n_queries,
    cast(n_unresolved_queries as integer) as n_unresolved_queries
from {{ source('raw', 'submissions') }}
