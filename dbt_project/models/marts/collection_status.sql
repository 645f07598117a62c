-- Every one of the 153 LAs for every quarter of the collection up to the quarter being built,
-- whether or not it sent a return.  Status, counts and ids are those of the upload that stands
-- (int_latest_uploads: the newest accepted, else the newest); `accepted` is true if an upload for
-- the period is accepted and not held.  An LA that sent nothing has status 'not_received' and zero
-- counts.  When a newer upload than the standing one was rejected or held, `later_upload_*` say
-- when, what became of it and why (error rule ids, or the hold's reason), so every view can say
-- "a later upload on <date> was rejected (E02)" beside the accepted figures.
-- The rule for a quarter without an accepted return (issue 20, one rule every view follows):
-- no verdict for the quarter (marts.verdicts: status NULL, verdict 'no accepted return'); the
-- standing upload's errors are `rejection_reasons` ("E22 Sheet!B5: message", one a line), and
-- `last_accepted_period` names the latest quarter up to this one with an accepted return, whose
-- figures (labelled with that quarter) are the latest the LA has in the warehouse.
with subs as (
    select *
    from {{ ref('stg_submissions') }}
    where la_code is not null
      and period is not null
      and period <= {{ build_quarter() }}
),

bounds as (
    select
        coalesce(min({{ quarter_index('target_period') }}), {{ quarter_index(build_quarter()) }}) as first_index,
        {{ quarter_index(build_quarter()) }} as last_index
    from {{ ref('stg_catalogue_target_periods') }}
    where period_type = 'quarter'
),

periods as (
    select {{ quarter_from_index('i') }} as period
    from (select unnest(generate_series(first_index, last_index)) as i from bounds)
    union
    select distinct period from subs
),

agg as (
    select
        la_code,
        period,
        count(*) as n_submissions,
        bool_or(is_accepted) as accepted
    from subs
    group by all
),

latest as (
    select * from {{ ref('int_latest_uploads') }}
),

-- the newest upload of each LA and quarter, when it is newer than the standing one
newest as (
    select *
    from subs
    qualify row_number() over (partition by la_code, period order by received_at desc, submission_id desc) = 1
),

later as (
    select
        n.la_code, n.period, n.received_at, n.status,
        coalesce(n.hold_reason,
                 (select string_agg(distinct f.rule, ', ' order by f.rule)
                  from {{ ref('stg_findings') }} as f
                  where f.submission_id = n.submission_id and f.level = 'error')) as why
    from newest as n
    join latest as s on s.la_code = n.la_code and s.period = n.period
    where n.submission_id <> s.submission_id
),

-- the errors of the standing upload when it was not accepted, in words (rule, cell, message)
reasons as (
    select
        s.la_code, s.period,
        string_agg(f.rule || coalesce(' ' || f.sheet || '!' || f.cell, '') || ': ' || coalesce(f.message, ''),
                   chr(10) order by f.rule, f.sheet, f.cell) as why
    from latest as s
    join {{ ref('stg_findings') }} as f on f.submission_id = s.submission_id and f.level = 'error'
    where s.status = 'rejected'
    group by all
)

select
    cast(l.la_code as varchar) as la_code,
    cast(l.la_name as varchar) as la_name,
    cast(l.region_name as varchar) as region_name,
    cast(p.period as varchar) as period,
    coalesce(a.n_submissions, 0) > 0 as received,
    coalesce(a.accepted, false) as accepted,
    cast(coalesce(s.status, 'not_received') as varchar) as status,
    cast(coalesce(s.n_errors, 0) as integer) as n_errors,
    cast(coalesce(s.n_queries, 0) as integer) as n_queries,
    cast(coalesce(s.n_unresolved_queries, 0) as integer) as n_unresolved_queries,
    cast(coalesce(a.n_submissions, 0) as integer) as n_submissions,
    cast(greatest(coalesce(a.n_submissions, 0) - 1, 0) as integer) as n_resubmissions,
    cast(s.received_at as timestamp) as latest_submission_at,
    cast(s.submission_id as varchar) as latest_submission_id,
    cast(s.hold_reason as varchar) as hold_reason,
    cast(lt.received_at as timestamp) as later_upload_at,
    cast(lt.status as varchar) as later_upload_status,
    cast(lt.why as varchar) as later_upload_reason,
    cast(rs.why as varchar) as rejection_reasons,
    cast(max(case when coalesce(a.accepted, false) then p.period end)
         over (partition by l.la_code order by p.period rows between unbounded preceding and current row)
         as varchar) as last_accepted_period
from {{ ref('stg_las') }} as l
cross join periods as p
left join agg as a on a.la_code = l.la_code and a.period = p.period
left join latest as s on s.la_code = l.la_code and s.period = p.period
left join later as lt on lt.la_code = l.la_code and lt.period = p.period
left join reasons as rs on rs.la_code = l.la_code and rs.period = p.period
