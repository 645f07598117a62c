select
    old_la_code as la_code,
    new_la_code,
    la_name,
    region_code,
    region_name,
    la_type_lait as la_type
from {{ ref('ref_las') }}
