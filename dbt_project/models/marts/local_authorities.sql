-- The 153 LAs with their codes and region, for the packs' downloads (EES geography columns).
select
    cast(la_code as varchar) as la_code,
    cast(new_la_code as varchar) as new_la_code,
    cast(la_name as varchar) as la_name,
    cast(region_code as varchar) as region_code,
    cast(region_name as varchar) as region_name
from {{ ref('stg_las') }}
