select
    submission_id,
    la_code,
    year,
    icb_name,
    sro
from {{ source('raw', 'plan_cover') }}
where {{ not_held() }}
