-- Each LA's indicators against its own trajectory: quarters with actuals up to the quarter
-- being built, plus every catalogue target period (future ones with no actual yet).  A Q4 with no
-- quarterly target (2027-28 and 2028-29 have year-end targets only) takes its year end's.
-- A year-end period's actual is its Q4 value.  Status (met / within tolerance / missed) is
-- judged by polarity; neutral indicators have no "better" direction, so status and rag are NULL.
-- Like for like (issue 9): targets and baselines are stated for a full year; where the value is a
-- year-to-date count that accumulates (catalogue compare_targets = pro_rata) they are pro-rated
-- to the quarter (Qn x n/4) as comparable_target / comparable_baseline, and gap and status use
-- those.  A small base (denominator below min_denominator) gets no status: 3 of 3 is not "met".
-- Status and gap are judged at the precision the pack shows (the catalogue's decimals): a reader
-- who sees "0.08 against a target of 0.08" must read "met", never "within tolerance".
-- Change columns come from int_indicator_verdicts (like-for-like comparator, in words).
with ind as (
    select indicator_id, polarity, tolerance, decimals, source, compare_targets, period_basis
    from {{ ref('stg_catalogue_indicators') }}
),

actuals as (
    select la_code, indicator_id, period, period_index, value
    from {{ ref('int_indicator_values') }}
),

targets as (select * from {{ ref('int_plan_targets') }}),

baselines as (select * from {{ ref('int_plan_baselines') }}),

la_indicators as (
    select la_code, indicator_id from actuals where value is not null
    union
    select la_code, indicator_id from targets
    union
    select la_code, indicator_id from baselines
),

keys as (
    select la_code, indicator_id, period from actuals where value is not null
    union
    select li.la_code, li.indicator_id, tp.target_period
    from la_indicators as li
    cross join {{ ref('stg_catalogue_target_periods') }} as tp
    union
    select la_code, indicator_id, target_period from targets
),

rows as (
    select
        k.la_code,
        k.indicator_id,
        k.period,
        case when {{ is_quarter_period('k.period') }} then 'quarter' else 'year_end' end as period_type,
        -- the quarter whose value is this row's actual: itself, or Q4 for a year end
        case when {{ is_quarter_period('k.period') }} then k.period else k.period || '-Q4' end as actual_period
    from keys as k
),

joined as (
    select
        r.*,
        {{ quarter_index('r.actual_period') }} as actual_index,
        b.baseline_value,
        b.baseline_period,
        -- a Q4 without a quarterly target of its own (the plan's later years state year ends only) is
        -- judged against the year-end target: the year end's actual is its Q4 value
        coalesce(t.target_value, ty.target_value) as target_value,
        a.value as actual_value,
        py.value as prior_year_value,
        v.numerator,
        v.denominator,
        coalesce(v.small_base, false) as small_base,
        v.ci_low,
        v.ci_high,
        v.change_value,
        v.change_basis,
        v.change_note,
        v.change_direction,
        v.change_prev_quarter,
        v.change_prev_year
    from rows as r
    left join baselines as b using (la_code, indicator_id)
    left join targets as t
        on t.la_code = r.la_code and t.indicator_id = r.indicator_id and t.target_period = r.period
    left join targets as ty
        on ty.la_code = r.la_code and ty.indicator_id = r.indicator_id and r.period_type = 'quarter'
       and right(r.period, 2) = 'Q4' and ty.target_period = left(r.period, 7)
    left join actuals as a
        on a.la_code = r.la_code and a.indicator_id = r.indicator_id and a.period = r.actual_period
    -- the same quarter a year earlier (a year end: the previous year end), to compare a year with the one before
    left join actuals as py
        on py.la_code = r.la_code and py.indicator_id = r.indicator_id
       and py.period_index = {{ quarter_index('r.actual_period') }} - 4
    left join {{ ref('int_indicator_verdicts') }} as v
        on v.la_code = r.la_code and v.indicator_id = r.indicator_id and v.period = r.actual_period
),

comparable as (
    select
        j.*,
        i.polarity,
        i.tolerance,
        i.decimals,
        i.period_basis,
        case when i.source = 'dfe_held' then {{ term_label('j.actual_period', 'dt') }} end as term_label,
        -- a quarter's share of the full year for an accumulating year-to-date value; 1 otherwise
        case when i.compare_targets = 'pro_rata' and j.period_type = 'quarter'
             then {{ quarter_number('j.actual_period') }} / 4.0 else 1.0 end as basis_factor
    from joined as j
    join ind as i using (indicator_id)
    left join {{ ref('stg_catalogue_dfe_held_terms') }} as dt on dt.quarter = right(j.actual_period, 2)
),

judged as (
    select
        c.*,
        c.target_value * c.basis_factor as comparable_target,
        c.baseline_value * c.basis_factor as comparable_baseline,
        -- as displayed: both sides rounded to the indicator's decimals before they are compared
        round(c.actual_value, c.decimals) as shown_actual,
        round(c.target_value * c.basis_factor, c.decimals) as shown_target,
        -- a relative epsilon so an LA exactly on its trajectory is met despite floating point
        1e-9 * greatest(1.0, abs(c.target_value)) as eps
    from comparable as c
),

statused as (
    select
        j.*,
        round(j.shown_actual - j.shown_target, j.decimals) as gap_to_target,
        case
            when j.polarity = 'neutral' or j.actual_value is null or j.target_value is null or j.small_base then null
            when j.polarity = 'high' and j.shown_actual >= j.shown_target - j.eps then 'met'
            when j.polarity = 'high' and j.shown_actual >= j.shown_target - j.tolerance - j.eps then 'within tolerance'
            when j.polarity = 'low' and j.shown_actual <= j.shown_target + j.eps then 'met'
            when j.polarity = 'low' and j.shown_actual <= j.shown_target + j.tolerance + j.eps then 'within tolerance'
            else 'missed'
        end as status
    from judged as j
)

select
    cast(j.la_code as varchar) as la_code,
    cast(l.la_name as varchar) as la_name,
    cast(l.region_name as varchar) as region_name,
    cast(j.indicator_id as varchar) as indicator_id,
    cast(j.period as varchar) as period,
    cast(j.period_type as varchar) as period_type,
    cast(left(j.period, 7) as varchar) as year,
    cast(j.baseline_value as double) as baseline_value,
    cast(j.baseline_period as varchar) as baseline_period,
    cast(j.target_value as double) as target_value,
    cast(j.actual_value as double) as actual_value,
    cast(j.prior_year_value as double) as prior_year_value,
    cast(j.gap_to_target as double) as gap_to_target,
    cast(j.status as varchar) as status,
    cast(case j.status when 'met' then 'green' when 'within tolerance' then 'amber' when 'missed' then 'red' end as varchar) as rag,
    -- in the indicator's unit: percentage points for rates; like for like (see int_indicator_verdicts)
    cast(case when j.period_type = 'quarter' then j.change_prev_quarter end as double) as change_prev_quarter,
    cast(j.change_prev_year as double) as change_prev_year,
    cast(j.period_basis as varchar) as period_basis,
    cast(j.term_label as varchar) as term_label,
    cast(j.comparable_target as double) as comparable_target,
    cast(j.comparable_baseline as double) as comparable_baseline,
    cast(j.numerator as double) as numerator,
    cast(j.denominator as double) as denominator,
    cast(j.small_base as boolean) as small_base,
    cast(j.ci_low as double) as ci_low,
    cast(j.ci_high as double) as ci_high,
    cast(j.change_value as double) as change_value,
    cast(j.change_basis as varchar) as change_basis,
    cast(j.change_note as varchar) as change_note,
    cast(coalesce(j.change_direction, 'not comparable') as varchar) as change_direction
from statused as j
join {{ ref('stg_las') }} as l using (la_code)
