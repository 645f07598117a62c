select name, cast(value as double) as value
from {{ source('raw', 'catalogue_plan_settings') }}
