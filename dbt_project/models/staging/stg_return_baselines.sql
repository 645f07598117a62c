select
    submission_id,
    la_code,
    indicator_id,
    cast(baseline_value as double) as baseline_value,
    baseline_period
from {{ source('raw', 'return_baselines') }}
where {{ not_held() }}
