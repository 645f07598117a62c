select
    submission_id,
    la_code,
    indicator_id,
    target_period,
    cast(target_value as double) as target_value
from {{ source('raw', 'return_targets') }}
where {{ not_held() }}
