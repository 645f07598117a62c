-- The latest accepted return per LA and year: the newest received wins, so a later quarter's
-- return (which carries the earlier quarters too) supersedes.  Earlier ones stay in raw.
select
    la_code,
    year,
    submission_id,
    period,
    quarter,
    received_at,
    status,
    n_queries,
    n_unresolved_queries
from {{ ref('int_accepted_submissions') }}
qualify row_number() over (
    partition by la_code, year
    order by received_at desc, period desc, submission_id desc
) = 1
