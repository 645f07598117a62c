{{ config(meta={'dagster': {'ref': {'name': 'int_statistical_neighbours'}}}) }}
-- DfE publishes 10 statistical neighbours for every LA; each of the 153 must have exactly 10,
-- ranked 1-10, none of them itself, all current LAs.
select l.la_code, count(sn.sn_la_code) as n_neighbours,
       count(distinct sn.sn_rank) as n_ranks,
       count(*) filter (where sn.sn_la_code = l.la_code) as n_self
from {{ ref('stg_las') }} as l
left join {{ ref('int_statistical_neighbours') }} as sn on sn.la_code = l.la_code
group by l.la_code
having count(sn.sn_la_code) <> 10 or count(distinct sn.sn_rank) <> 10 or n_self > 0
