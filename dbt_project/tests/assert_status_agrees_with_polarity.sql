{{ config(meta={'dagster': {'ref': {'name': 'trajectory'}}}) }}
-- Status must follow the indicator's polarity and tolerance against the comparable target (the
-- target on the value's basis), both as the pack prints them (rounded to the catalogue's decimals);
-- neutral indicators and small bases have none.
with t as (
    select t.*,
        round(t.actual_value, i.decimals) as shown_actual,
        round(t.comparable_target, i.decimals) as shown_target,
        i.polarity, i.tolerance, 1e-9 * greatest(1.0, abs(t.target_value)) as eps
    from {{ ref('trajectory') }} as t
    join {{ ref('stg_catalogue_indicators') }} as i using (indicator_id)
)
select *
from t
where
    ((polarity = 'neutral' or small_base) and (status is not null or rag is not null))
    or (status is not null and (actual_value is null or comparable_target is null))
    or (polarity = 'high' and status = 'met' and shown_actual < shown_target - eps)
    or (polarity = 'high' and status = 'within tolerance'
        and not (shown_actual < shown_target - eps and shown_actual >= shown_target - tolerance - eps))
    or (polarity = 'high' and status = 'missed' and shown_actual >= shown_target - tolerance - eps)
    or (polarity = 'low' and status = 'met' and shown_actual > shown_target + eps)
    or (polarity = 'low' and status = 'within tolerance'
        and not (shown_actual > shown_target + eps and shown_actual <= shown_target + tolerance + eps))
    or (polarity = 'low' and status = 'missed' and shown_actual <= shown_target + tolerance + eps)
    or (polarity <> 'neutral' and not small_base and actual_value is not null and comparable_target is not null
        and status is null)
    or (coalesce(status, '') <> '' and rag <> case status when 'met' then 'green'
                                          when 'within tolerance' then 'amber' else 'red' end)
    -- like for like: only an accumulating year-to-date value has a target different from the stated one
    or (period_basis <> 'year_to_date' and abs(comparable_target - target_value) > eps)
