-- One verdict per LA, indicator and quarter of marts.collection_status: the status every view shows
-- (the LA's pack, its figures CSV, the national overview and DfE's support view read it here, never
-- marts.trajectory's status directly).  The rule for a quarter without an accepted return (rejected,
-- held, not received): no verdict for the quarter, whatever targets an earlier return set and
-- whatever DfE-held actuals exist -- status NULL and verdict 'no accepted return'.  Otherwise the
-- trajectory's status (met / within tolerance / missed), or why there is none in words.
-- Change (change_direction, change_basis) is the like-for-like change of int_indicator_verdicts, as
-- the packs show it; for a quarter without an accepted return it is said only for DfE-held indicators
-- (their values do not come from the return).
with cs as (
    select la_code, period, status as return_status, accepted, last_accepted_period
    from {{ ref('collection_status') }}
),

ind as (
    select indicator_id, indicator_name, source, polarity, position
    from {{ ref('stg_catalogue_indicators') }}
),

tr as (
    select la_code, indicator_id, period, status, actual_value, target_value, comparable_target, small_base,
           change_direction, change_value, change_basis
    from {{ ref('trajectory') }}
    where period_type = 'quarter'
),

dv as (
    select la_code, indicator_id, period, value, small_base, change_direction, change_value, change_basis
    from {{ ref('int_indicator_verdicts') }}
)

select
    cast(cs.la_code as varchar) as la_code,
    cast(i.indicator_id as varchar) as indicator_id,
    cast(cs.period as varchar) as period,
    cast(i.indicator_name as varchar) as indicator_name,
    cast(cs.return_status as varchar) as return_status,
    cast(cs.accepted as boolean) as accepted,
    cast(cs.last_accepted_period as varchar) as last_accepted_period,
    cast(case when cs.accepted then t.status end as varchar) as status,
    cast(case
        when not cs.accepted then 'no accepted return'
        when t.status is not null then t.status
        when coalesce(t.actual_value, d.value) is null then 'no value'
        when i.polarity = 'neutral' then 'no better direction'
        when coalesce(t.small_base, d.small_base, false) then 'small numbers'
        else 'no target'
    end as varchar) as verdict,
    cast(case when cs.accepted or i.source = 'dfe_held'
              then coalesce(d.change_direction, t.change_direction, 'not comparable')
              else 'not comparable' end as varchar) as change_direction,
    cast(case when cs.accepted or i.source = 'dfe_held' then coalesce(d.change_value, t.change_value) end
         as double) as change_value,
    cast(case when cs.accepted or i.source = 'dfe_held' then coalesce(d.change_basis, t.change_basis) end
         as varchar) as change_basis
from cs
cross join ind as i
left join tr as t on t.la_code = cs.la_code and t.indicator_id = i.indicator_id and t.period = cs.period
left join dv as d on d.la_code = cs.la_code and d.indicator_id = i.indicator_id and d.period = cs.period
