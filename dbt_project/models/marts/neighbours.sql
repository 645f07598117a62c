-- DfE's 10 nearest statistical neighbours of each of the 153 LAs, in rank order, with names:
-- the one list the packs use (from the reference data in contracts/reference/).
select
    cast(n.la_code as varchar) as la_code,
    cast(l.la_name as varchar) as la_name,
    cast(n.sn_rank as integer) as sn_rank,
    cast(n.sn_la_code as varchar) as sn_la_code,
    cast(s.la_name as varchar) as sn_la_name,
    cast(n.sn_closeness as varchar) as sn_closeness
from {{ ref('int_statistical_neighbours') }} as n
join {{ ref('stg_las') }} as l on l.la_code = n.la_code
join {{ ref('stg_las') }} as s on s.la_code = n.sn_la_code
