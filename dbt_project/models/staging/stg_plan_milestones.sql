select
    submission_id,
    la_code,
    year,
    cast(workstream_no as integer) as workstream_no,
    workstream,
    lower(trim(workstream)) as workstream_key,
    building_block,
    outcome,
    success_measures,
    lead,
    quarter as milestone_quarter,
    milestone,
    cast(due_date as date) as due_date,
    status,
    trajectory,
    note
from {{ source('raw', 'plan_milestones') }}
where {{ not_held() }}
