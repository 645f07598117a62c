-- Neighbours of the 153 current LAs only: the May 2025 list still carries predecessor
-- authorities (Bournemouth, Poole and old Dorset, Cumbria, Northamptonshire) as subjects.
select sn.la_code, sn.sn_rank, sn.sn_la_code, sn.sn_closeness, sn.sn_la_name
from {{ ref('stg_statistical_neighbours') }} as sn
where sn.la_code in (select la_code from {{ ref('stg_las') }})
