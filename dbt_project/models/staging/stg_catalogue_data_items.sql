select
    item_id,
    label,
    area,
    source,
    unit,
    measure,
    dataset as ees_dataset,
    "column" as ees_column,
    breakdown as ees_breakdown,
    cast(position as integer) as position
from {{ source('raw', 'catalogue_data_items') }}
