-- Accepted returns in scope for the quarter being built: a build for 2026-27-Q1 ignores the
-- Q2 return even if it has arrived, so any quarter's marts can be rebuilt as they were.
select *
from {{ ref('stg_submissions') }}
where is_accepted
  and la_code is not null
  and period <= {{ build_quarter() }}
