-- Published symbols (c, x, z, low, u) become NULL: missing, never zero.
select
    time_period,
    time_identifier,
    geographic_level,
    old_la_code as la_code,
    new_la_code,
    la_name,
    breakdown_topic,
    breakdown,
    try_cast(headcount as double) as headcount,
    try_cast(perm_excl as double) as perm_excl,
    try_cast(susp as double) as susp,
    try_cast(one_plus_susp as double) as one_plus_susp,
    source_file,
    source_file_hash,
    cast(loaded_at as timestamp) as loaded_at
from {{ source('raw', 'ees_exclusions') }}
