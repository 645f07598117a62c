select
    indicator_id,
    name as indicator_name,
    short as indicator_short,
    area,
    building_block,
    source,
    cast(multiplier as double) as multiplier,
    unit,
    polarity,
    cast(decimals as integer) as decimals,
    cast(tolerance as double) as tolerance,
    cast(is_rate as boolean) as is_rate,
    cast(position as integer) as position
from {{ source('raw', 'catalogue_indicators') }}
