select
    submission_id,
    file_name,
    la_code,
    period,
    level,
    rule,
    sheet,
    cell,
    value,
    message,
    cast(resolved as boolean) as resolved
from {{ source('raw', 'findings') }}
