-- What may be said about each LA's indicator value per quarter (issue 9: like for like, meaningful
-- change, small bases, disclosure).  One row per int_indicator_values row.  Rules come from the
-- catalogue (contracts/catalogue.yaml header):
-- - term_label: the DfE-held term that feeds the quarter ("spring term 2025/26"), NULL otherwise.
-- - small_base: a rate whose denominator is below the indicator's min_denominator.
-- - suppressed (primary disclosure control): a rate of counts whose numerator or denominator is
--   1 to 4; shown as c to every LA but its own.  Levels and money are never suppressed.
-- - ci_low / ci_high: Wilson 95% interval for a count-based % (in the indicator's unit).
-- - change: seasonal measures against the same quarter a year earlier; others against the previous
--   quarter, on annualised values when the value accumulates (compare_targets = pro_rata), so a
--   year-to-date count growing is never "improved".  change_direction in words, with
--   "no meaningful change" when the rounded change is within the indicator's no_change_band.
with ind as (select * from {{ ref('stg_catalogue_indicators') }}),

iv as (
    select
        v.*,
        {{ quarter_number('v.period') }} as q,
        i.polarity, i.multiplier, i.decimals, i.period_basis, i.compare_targets, i.seasonal,
        i.no_change_band, i.min_denominator, i.small_count_suppression, i.is_proportion, i.is_rate,
        i.source
    from {{ ref('int_indicator_values') }} as v
    join ind as i using (indicator_id)
),

flagged as (
    select
        iv.*,
        -- on the annual basis targets are stated on: a year-to-date count scaled to a full year
        case when compare_targets = 'pro_rata' then value * 4.0 / q else value end as annualised_value,
        coalesce(is_rate and value is not null and denominator < min_denominator, false) as small_base,
        coalesce(small_count_suppression and value is not null
                 and ((numerator > 0 and numerator < 5) or (denominator > 0 and denominator < 5)), false)
            as suppressed,
        case when source = 'dfe_held' then {{ term_label('iv.period', 't') }} end as term_label
    from iv
    left join {{ ref('stg_catalogue_dfe_held_terms') }} as t on t.quarter = 'Q' || cast(iv.q as varchar)
),

wilson as (
    select
        f.*,
        -- Wilson score interval, z = 1.96: proportions of small bases get an honest range
        case when is_proportion and denominator > 0 and numerator between 0 and denominator then
            (numerator / denominator + 1.96 ^ 2 / (2 * denominator)
             - 1.96 * sqrt(numerator / denominator * (1 - numerator / denominator) / denominator
                           + 1.96 ^ 2 / (4 * denominator ^ 2)))
            / (1 + 1.96 ^ 2 / denominator) * multiplier
        end as ci_low,
        case when is_proportion and denominator > 0 and numerator between 0 and denominator then
            (numerator / denominator + 1.96 ^ 2 / (2 * denominator)
             + 1.96 * sqrt(numerator / denominator * (1 - numerator / denominator) / denominator
                           + 1.96 ^ 2 / (4 * denominator ^ 2)))
            / (1 + 1.96 ^ 2 / denominator) * multiplier
        end as ci_high
    from flagged as f
),

compared as (
    select
        w.*,
        case when w.seasonal then py.value else pq.annualised_value end as comparator_value,
        coalesce(case when w.seasonal then py.small_base else pq.small_base end, false) as comparator_small_base,
        case
            when w.seasonal and w.period_basis = 'term' then 'same term a year earlier'
            when w.seasonal then 'same quarter a year earlier'
            when w.compare_targets = 'pro_rata' then 'previous quarter, annualised'
            else 'previous quarter'
        end as change_basis,
        case when w.compare_targets = 'pro_rata' then w.annualised_value - pq.annualised_value
             else w.value - pq.value end as change_prev_quarter_comparable,
        w.value - py.value as change_prev_year
    from wilson as w
    left join flagged as pq
        on pq.la_code = w.la_code and pq.indicator_id = w.indicator_id and pq.period_index = w.period_index - 1
    left join flagged as py
        on py.la_code = w.la_code and py.indicator_id = w.indicator_id and py.period_index = w.period_index - 4
),

changed as (
    select
        c.*,
        case
            when c.value is null or c.comparator_value is null or c.small_base or c.comparator_small_base then null
            when c.seasonal then c.value - c.comparator_value
            else (case when c.compare_targets = 'pro_rata' then c.annualised_value else c.value end)
                 - c.comparator_value
        end as change_value,
        case
            when c.value is null then 'no value this quarter'
            when c.small_base or c.comparator_small_base then 'small numbers: change not assessed'
            when c.comparator_value is null and c.seasonal and c.period_basis = 'term'
                then 'no same term a year earlier yet'
            when c.comparator_value is null and c.seasonal then 'no same quarter a year earlier yet'
            when c.comparator_value is null then 'no previous quarter yet'
        end as change_note
    from compared as c
)

select
    la_code,
    indicator_id,
    period,
    period_index,
    numerator,
    denominator,
    value,
    annualised_value,
    period_basis,
    term_label,
    small_base,
    suppressed,
    case when value is not null then ci_low end as ci_low,
    case when value is not null then ci_high end as ci_high,
    change_value,
    change_basis,
    change_note,
    case
        when change_value is null then 'not comparable'
        when abs(round(change_value, decimals)) <= no_change_band + 1e-9 then 'no meaningful change'
        when polarity = 'neutral' then case when change_value > 0 then 'increased' else 'decreased' end
        when (polarity = 'high') = (change_value > 0) then 'improved'
        else 'worsened'
    end as change_direction,
    -- the previous quarter is no like-for-like comparator for a seasonal (termly) measure
    case when not seasonal then change_prev_quarter_comparable end as change_prev_quarter,
    change_prev_year
from changed
