select indicator_id, role, item_id, cast(position as integer) as position
from {{ source('raw', 'catalogue_indicator_terms') }}
