select target_period, period_type, cast(position as integer) as position
from {{ source('raw', 'catalogue_target_periods') }}
