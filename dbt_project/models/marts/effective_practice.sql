-- Who to learn from (issue 21): per indicator and quarter, the LAs whose change over the last four
-- quarters beat their statistical neighbours' change by more than noise.  Every rule is the catalogue's,
-- so a new indicator gets its list with no new code:
-- - like for like: the value against the same quarter a year earlier (period_index - 4), which for a
--   year-to-date flow is the same point of the year and for a termly measure the same term;
-- - the neighbours' change is pooled: sum(numerators) / sum(denominators) * multiplier over the
--   neighbours with a usable figure in both quarters (for a level, denominator 1: their mean), now minus
--   then, over the same neighbours; at least two of them, so no single LA stands for "its neighbours";
-- - usable: a value, no small base (the indicator's min_denominator), not suppressed (int_disclosure,
--   primary or secondary), and for an LA-return indicator an accepted return in both quarters
--   (collection_status); DfE-held figures are DfE's own and need no return;
-- - better by polarity by more than the indicator's no_change_band once rounded as shown (as
--   int_indicator_verdicts judges change); neutral indicators have no better direction: never listed.
with ind as (
    select indicator_id, indicator_name, polarity, multiplier, decimals, no_change_band, source,
           period_basis, seasonal
    from {{ ref('stg_catalogue_indicators') }}
    where polarity in ('high', 'low')
),

accepted as (
    select la_code, period from {{ ref('collection_status') }} where accepted
),

usable as (
    select v.la_code, v.indicator_id, v.period, v.period_index, v.numerator, v.denominator, v.value, v.term_label
    from {{ ref('int_indicator_verdicts') }} as v
    join ind as i using (indicator_id)
    left join {{ ref('int_disclosure') }} as ds using (la_code, indicator_id, period)
    left join accepted as a on a.la_code = v.la_code and a.period = v.period
    where v.value is not null
      and not v.small_base
      and ds.suppression is null
      and (i.source = 'dfe_held' or a.la_code is not null)
      and v.period_index <= {{ quarter_index(build_quarter()) }}
),

pairs as (
    select now.la_code, now.indicator_id, now.period, now.period_index, now.term_label,
           then_.period as then_period, then_.term_label as then_term_label,
           now.numerator, now.denominator, now.value as value_now,
           then_.numerator as then_numerator, then_.denominator as then_denominator, then_.value as value_then
    from usable as now
    join usable as then_
      on then_.la_code = now.la_code and then_.indicator_id = now.indicator_id
     and then_.period_index = now.period_index - 4
),

pooled as (
    select p.la_code, p.indicator_id, p.period,
           count(*) as sn_n,
           sum(nb.numerator order by nb.la_code) * any_value(i.multiplier)
               / sum(nb.denominator order by nb.la_code) as sn_now,
           sum(nb.then_numerator order by nb.la_code) * any_value(i.multiplier)
               / sum(nb.then_denominator order by nb.la_code) as sn_then
    from pairs as p
    join ind as i using (indicator_id)
    join {{ ref('int_statistical_neighbours') }} as sn on sn.la_code = p.la_code
    join pairs as nb
      on nb.la_code = sn.sn_la_code and nb.indicator_id = p.indicator_id and nb.period = p.period
    group by all
),

judged as (
    select
        p.*,
        i.indicator_name, i.polarity, i.decimals, i.no_change_band, i.period_basis, i.seasonal,
        p.value_now - p.value_then as change_value,
        o.sn_n,
        o.sn_then as sn_value_then,
        o.sn_now as sn_value_now,
        o.sn_now - o.sn_then as sn_change_value,
        case when i.polarity = 'high' then 1 else -1 end
            * ((p.value_now - p.value_then) - (o.sn_now - o.sn_then)) as beat_by
    from pairs as p
    join ind as i using (indicator_id)
    join pooled as o using (la_code, indicator_id, period)
    where o.sn_n >= 2 and o.sn_then is not null and o.sn_now is not null
)

select
    cast(j.indicator_id as varchar) as indicator_id,
    cast(j.indicator_name as varchar) as indicator_name,
    cast(j.period as varchar) as period,
    cast(j.then_period as varchar) as then_period,
    cast(j.la_code as varchar) as la_code,
    cast(l.la_name as varchar) as la_name,
    cast(l.region_name as varchar) as region_name,
    cast(j.polarity as varchar) as polarity,
    cast(case when j.seasonal and j.period_basis = 'term' then 'same term a year earlier'
              else 'same quarter a year earlier' end as varchar) as change_basis,
    cast(j.term_label as varchar) as term_label,
    cast(j.then_term_label as varchar) as then_term_label,
    cast(j.value_then as double) as value_then,
    cast(j.value_now as double) as value_now,
    cast(j.change_value as double) as change_value,
    cast(j.sn_n as integer) as sn_n,
    cast(j.sn_value_then as double) as sn_value_then,
    cast(j.sn_value_now as double) as sn_value_now,
    cast(j.sn_change_value as double) as sn_change_value,
    cast(j.beat_by as double) as beat_by,
    cast(j.no_change_band as double) as no_change_band,
    cast(rank() over (partition by j.indicator_id, j.period order by j.beat_by desc, j.la_code) as integer)
        as position
from judged as j
join {{ ref('stg_las') }} as l using (la_code)
where round(j.beat_by, j.decimals) > j.no_change_band + 1e-9
