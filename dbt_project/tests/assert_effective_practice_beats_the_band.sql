{{ config(meta={'dagster': {'ref': {'name': 'effective_practice'}}}) }}
-- Every effective-practice entry is the LA's own change against the same quarter a year earlier, and
-- beats its neighbours' pooled change by more than the indicator's no-change band, by polarity.
select e.*
from {{ ref('effective_practice') }} as e
join {{ ref('stg_catalogue_indicators') }} as i using (indicator_id)
where abs(e.change_value - (e.value_now - e.value_then)) > 1e-9
   or abs(e.beat_by - case when i.polarity = 'high' then 1 else -1 end * (e.change_value - e.sn_change_value)) > 1e-9
   or e.beat_by <= e.no_change_band
   or e.sn_n < 2
   or {{ quarter_index('e.period') }} - {{ quarter_index('e.then_period') }} <> 4
