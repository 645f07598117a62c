{{ config(meta={'dagster': {'ref': {'name': 'collection_status'}}}) }}
-- Every one of the LAs appears for every period in the collection status.
with per_period as (
    select period, count(distinct la_code) as n_las from {{ ref('collection_status') }} group by period
)
select p.*
from per_period as p
where p.n_las <> (select count(*) from {{ ref('stg_las') }})
