-- The source mixes "Very close" and "Very Close": normalise to sentence case.
select
    old_la_code as la_code,
    cast(sn_rank as integer) as sn_rank,
    sn_old_la_code as sn_la_code,
    upper(left(trim(sn_closeness), 1)) || lower(substr(trim(sn_closeness), 2)) as sn_closeness,
    sn_la_name
from {{ ref('ref_statistical_neighbours') }}
