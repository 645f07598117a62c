-- Every milestone of every LA's delivery plan as reported each quarter, with slippage against the
-- date first given for it: the anticipated date in the earliest accepted return of the year that
-- listed the same workstream (by name) and milestone quarter.
with reported as (
    select
        p.la_code,
        p.period,
        p.year,
        p.quarter as reported_quarter,
        p.submission_id,
        m.workstream_no,
        m.workstream,
        m.workstream_key,
        m.building_block,
        m.outcome,
        m.success_measures,
        m.lead,
        m.milestone_quarter,
        m.milestone,
        m.due_date,
        m.status,
        m.trajectory,
        m.note,
        {{ quarter_end_date('p.period') }} as as_of_date,
        p.period_index
    from {{ ref('int_plan_submissions') }} as p
    join {{ ref('stg_plan_milestones') }} as m using (submission_id)
),

first_given as (
    select
        la_code, year, workstream_key, milestone_quarter,
        arg_min(due_date, period_index) as first_due_date,
        min(period) as first_period
    from reported
    where due_date is not null
    group by all
)

select
    r.la_code,
    l.la_name,
    l.region_name,
    r.period,
    r.year,
    r.reported_quarter,
    r.submission_id,
    r.workstream_no,
    r.workstream,
    r.building_block,
    r.outcome,
    r.success_measures,
    r.lead,
    r.milestone_quarter,
    r.milestone,
    r.due_date,
    r.status,
    r.trajectory,
    r.note,
    f.first_due_date,
    f.first_period,
    coalesce(date_diff('day', f.first_due_date, r.due_date), 0) as slippage_days,
    -- slipped: moved later than first given, or reported delayed
    (coalesce(r.due_date > f.first_due_date, false) or r.status = 'Delayed') as is_slipped,
    -- overdue: due by the end of the quarter reported and not complete
    (r.due_date <= r.as_of_date and r.status <> 'Complete') as is_overdue,
    (r.due_date <= r.as_of_date and r.status = 'Not started') as is_past_not_started
from reported as r
left join first_given as f using (la_code, year, workstream_key, milestone_quarter)
left join {{ ref('stg_las') }} as l using (la_code)
