select
    submission_id,
    la_code,
    year,
    quarter,
    year || '-' || quarter as quarter_period,
    item_id,
    cast(value as double) as value,
    note,
    cell
from {{ source('raw', 'return_values') }}
where {{ not_held() }}
