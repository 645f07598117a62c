-- Each LA's indicators against its own trajectory: quarters with actuals up to the quarter
-- being built, plus every catalogue target period (future ones with no actual yet).
-- A year-end period's actual is its Q4 value.  Status (met / within tolerance / missed) is
-- judged by polarity; neutral indicators have no "better" direction, so status and rag are NULL.
with ind as (
    select indicator_id, polarity, tolerance from {{ ref('stg_catalogue_indicators') }}
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
        t.target_value,
        a.value as actual_value
    from rows as r
    left join baselines as b using (la_code, indicator_id)
    left join targets as t
        on t.la_code = r.la_code and t.indicator_id = r.indicator_id and t.target_period = r.period
    left join actuals as a
        on a.la_code = r.la_code and a.indicator_id = r.indicator_id and a.period = r.actual_period
),

judged as (
    select
        j.*,
        j.actual_value - j.target_value as gap_to_target,
        case
            when i.polarity = 'neutral' or j.actual_value is null or j.target_value is null then null
            when i.polarity = 'high' and j.actual_value >= j.target_value then 'met'
            when i.polarity = 'high' and j.actual_value >= j.target_value - i.tolerance then 'within tolerance'
            when i.polarity = 'low' and j.actual_value <= j.target_value then 'met'
            when i.polarity = 'low' and j.actual_value <= j.target_value + i.tolerance then 'within tolerance'
            else 'missed'
        end as status
    from joined as j
    join ind as i using (indicator_id)
)

select
    cast(j.la_code as varchar) as la_code,
    cast(l.la_name as varchar) as la_name,
    cast(l.region_name as varchar) as region_name,
    cast(j.indicator_id as varchar) as indicator_id,
    cast(j.period as varchar) as period,
    cast(j.period_type as varchar) as period_type,
    cast(j.baseline_value as double) as baseline_value,
    cast(j.baseline_period as varchar) as baseline_period,
    cast(j.target_value as double) as target_value,
    cast(j.actual_value as double) as actual_value,
    cast(j.gap_to_target as double) as gap_to_target,
    cast(j.status as varchar) as status,
    cast(case j.status when 'met' then 'green' when 'within tolerance' then 'amber' when 'missed' then 'red' end as varchar) as rag,
    -- in the indicator's unit: percentage points for rates
    cast(case when j.period_type = 'quarter' then j.actual_value - pq.value end as double) as change_prev_quarter,
    cast(j.actual_value - py.value as double) as change_prev_year
from judged as j
join {{ ref('stg_las') }} as l using (la_code)
left join actuals as pq
    on pq.la_code = j.la_code and pq.indicator_id = j.indicator_id and pq.period_index = j.actual_index - 1
left join actuals as py
    on py.la_code = j.la_code and py.indicator_id = j.indicator_id and py.period_index = j.actual_index - 4
