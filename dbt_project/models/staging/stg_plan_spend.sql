select
    submission_id,
    la_code,
    year,
    cast(line_no as integer) as line_no,
    category,
    funding_source,
    quarter as spend_quarter,
    year || '-' || quarter as spend_period,
    cast(projected as double) as projected,
    cast(actual as double) as actual,
    note
from {{ source('raw', 'plan_spend') }}
where {{ not_held() }}
