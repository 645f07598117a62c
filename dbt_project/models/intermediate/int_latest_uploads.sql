-- The upload that stands for each LA and quarter, up to the quarter being built: the newest
-- *accepted* one when there is one, so a later rejected, damaged or held upload never undoes an
-- accepted return (its figures, status and queries); else the newest upload, whatever became of it.
-- Newest = the latest received_at, then the highest submission_id.  The one definition of the
-- standing upload: marts.collection_status reports its status (and says when a later upload was
-- rejected or held) and marts.outstanding_queries lists its unanswered queries.
select *
from {{ ref('stg_submissions') }}
where la_code is not null
  and period is not null
  and period <= {{ build_quarter() }}
qualify row_number() over (partition by la_code, period
                           order by is_accepted desc, received_at desc, submission_id desc) = 1
