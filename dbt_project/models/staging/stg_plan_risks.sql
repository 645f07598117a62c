select
    submission_id,
    la_code,
    year,
    cast(risk_no as integer) as risk_no,
    description,
    lower(trim(description)) as risk_key,
    impact,
    likelihood,
    rag,
    mitigation,
    residual_impact,
    residual_likelihood,
    residual_rag,
    note
from {{ source('raw', 'plan_risks') }}
where {{ not_held() }}
