{{ config(meta={'dagster': {'ref': {'name': 'trajectory'}}}) }}
-- Status must follow the indicator's polarity and tolerance; neutral indicators have none.
select t.*, i.polarity, i.tolerance
from {{ ref('trajectory') }} as t
join {{ ref('stg_catalogue_indicators') }} as i using (indicator_id)
where
    (i.polarity = 'neutral' and (t.status is not null or t.rag is not null))
    or (t.status is not null and (t.actual_value is null or t.target_value is null))
    or (i.polarity = 'high' and t.status = 'met' and t.actual_value < t.target_value)
    or (i.polarity = 'high' and t.status = 'within tolerance'
        and not (t.actual_value < t.target_value and t.actual_value >= t.target_value - i.tolerance))
    or (i.polarity = 'high' and t.status = 'missed' and t.actual_value >= t.target_value - i.tolerance)
    or (i.polarity = 'low' and t.status = 'met' and t.actual_value > t.target_value)
    or (i.polarity = 'low' and t.status = 'within tolerance'
        and not (t.actual_value > t.target_value and t.actual_value <= t.target_value + i.tolerance))
    or (i.polarity = 'low' and t.status = 'missed' and t.actual_value <= t.target_value + i.tolerance)
    or (i.polarity <> 'neutral' and t.actual_value is not null and t.target_value is not null and t.status is null)
    or (coalesce(t.status, '') <> '' and t.rag <> case t.status when 'met' then 'green'
                                                   when 'within tolerance' then 'amber' else 'red' end)
