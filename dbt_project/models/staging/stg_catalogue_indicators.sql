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
    cast(position as integer) as position,
    -- like for like, meaningful change, small bases, disclosure (contracts/catalogue.yaml header)
    period_basis,
    compare_targets,
    cast(coalesce(seasonal, false) as boolean) as seasonal,
    cast(coalesce(no_change_band, 0) as double) as no_change_band,
    cast(min_denominator as double) as min_denominator,
    cast(coalesce(small_count_suppression, false) as boolean) as small_count_suppression,
    cast(coalesce(is_proportion, false) as boolean) as is_proportion
from {{ source('raw', 'catalogue_indicators') }}
