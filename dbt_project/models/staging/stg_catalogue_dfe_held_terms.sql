select quarter, cast(year_offset as integer) as year_offset, time_identifier
from {{ source('raw', 'catalogue_dfe_held_terms') }}
