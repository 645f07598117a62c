{{ config(meta={'dagster': {'ref': {'name': 'benchmark'}}}) }}
-- Quartile bands and ranks are given only for non-neutral indicators with an LA value and no
-- small base, and
-- band A is never worse-ranked than band D.
select b.*
from {{ ref('benchmark') }} as b
join {{ ref('stg_catalogue_indicators') }} as i using (indicator_id)
where (i.polarity = 'neutral' and (b.quartile_band is not null or b.rank is not null))
   or (i.polarity <> 'neutral' and b.la_value is not null and not b.small_base
       and (b.quartile_band is null or b.rank is null))
   or (b.small_base and (b.quartile_band is not null or b.rank is not null))
   or (b.la_value is null and (b.quartile_band is not null or b.rank is not null))
   or (b.rank is not null and (b.rank < 1 or b.rank > b.n_ranked))
