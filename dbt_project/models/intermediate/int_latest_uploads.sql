-- Each LA's latest upload for each quarter up to the quarter being built, whatever became of it
-- (accepted, accepted with queries or rejected): the newest received_at, then the highest
-- submission_id.  The one definition of "latest upload": marts.collection_status reports its
-- status and marts.outstanding_queries lists its unanswered queries.
select *
from {{ ref('stg_submissions') }}
where la_code is not null
  and period is not null
  and period <= {{ build_quarter() }}
qualify row_number() over (partition by la_code, period order by received_at desc, submission_id desc) = 1
