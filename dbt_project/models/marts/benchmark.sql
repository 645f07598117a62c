-- Every LA against England, its region and its statistical neighbours, per indicator and quarter.
-- All 153 LAs are listed for each indicator and period that has any data (la_value NULL when
-- the LA has none), so a pack can say "no data" rather than drop the row.
-- England/region: pooled sum(numerator) / sum(denominator) * multiplier over LAs with a value
-- (for a level indicator denominator = 1, so this is the mean of LA values), with the count.
-- Rank 1 = best by polarity among LAs with a value and no small base; ties share the lowest rank.
-- Quartile band from the rank: A if (rank - 1) / n_ranked < 0.25, B < 0.5, C < 0.75, else D,
-- so tied LAs always share a band (ntile would split them).  Neutral or small base: no rank, no band.
--
-- Disclosure control (issue 9).  Each row is what the pack of la_code may show.  `suppressed`:
-- every other LA's pack shows la_code's value as c, because it is a small count (suppression =
-- 'primary') or a complementary cell that protects one (suppression = 'secondary', int_disclosure).
-- So nothing published lets another LA's suppressed value be worked back:
-- - sn_mean is the mean over neighbours whose values are published (not suppressed, not missing):
--   sn_n of them, sn_n_suppressed withheld, sn_n_missing with no value.  A mean of published
--   values gives nothing away; a mean over a withheld value with the count printed would.
-- - region_value / england_value are the true pooled figures, but are withheld (NULL, with
--   region_withheld / england_withheld true) in this LA's row when a single other LA's suppressed
--   value could be derived from them: the region when exactly one other LA in the region is
--   suppressed; England when exactly one other LA in England is, or (the region being shown)
--   exactly one outside the region is.  The LA's own value is known to it, so it never counts.
--   Other LAs' numerators and denominators must not be published for this to hold in general;
--   with them, a region with one unknown can be differenced, which is why it is withheld.
-- Sums and means are ordered so a rebuild from the same data gives bit-identical figures
-- (packs are re-issued only when their figures' hash changes).
with ind as (
    select indicator_id, polarity, multiplier, is_rate from {{ ref('stg_catalogue_indicators') }}
),

iv as (select * from {{ ref('int_indicator_verdicts') }}),

combos as (
    select indicator_id, period, any_value(term_label) as term_label from iv group by all
),

base as (
    select
        l.la_code,
        l.la_name,
        l.region_name,
        c.indicator_id,
        c.period,
        c.term_label,
        i.polarity,
        i.multiplier,
        i.is_rate,
        iv.numerator,
        iv.denominator,
        iv.value as la_value,
        ds.suppression,
        ds.suppression is not null as suppressed,
        coalesce(iv.small_base, false) as small_base
    from {{ ref('stg_las') }} as l
    cross join combos as c
    join ind as i using (indicator_id)
    left join iv
        on iv.la_code = l.la_code and iv.indicator_id = c.indicator_id and iv.period = c.period
    left join {{ ref('int_disclosure') }} as ds
        on ds.la_code = l.la_code and ds.indicator_id = c.indicator_id and ds.period = c.period
),

valid as (select * from base where la_value is not null),

england as (
    select indicator_id, period,
           sum(numerator order by la_code) / sum(denominator order by la_code) * any_value(multiplier) as england_value,
           count(*) as england_n_las,
           count(*) filter (where suppressed) as england_n_suppressed
    from valid
    group by all
),

region as (
    select indicator_id, period, region_name,
           sum(numerator order by la_code) / sum(denominator order by la_code) * any_value(multiplier) as region_value,
           count(*) as region_n_las,
           count(*) filter (where suppressed) as region_n_suppressed
    from valid
    group by all
),

neighbours as (
    select b.la_code, b.indicator_id, b.period,
           avg(nb.la_value order by sn.sn_rank) filter (where not nb.suppressed) as sn_mean,
           count(nb.la_value) filter (where not nb.suppressed) as sn_n,
           count(nb.la_value) filter (where nb.suppressed) as sn_n_suppressed,
           count(*) filter (where nb.la_value is null) as sn_n_missing
    from base as b
    join {{ ref('int_statistical_neighbours') }} as sn on sn.la_code = b.la_code
    left join valid as nb
        on nb.la_code = sn.sn_la_code and nb.indicator_id = b.indicator_id and nb.period = b.period
    group by all
),

ranked as (
    select
        la_code, indicator_id, period,
        rank() over w as rank,
        count(*) over (partition by indicator_id, period) as n_ranked
    from valid
    where polarity in ('high', 'low') and not small_base
    window w as (
        partition by indicator_id, period
        order by case when polarity = 'high' then -la_value else la_value end
    )
),

-- suppressed LAs other than this row's own, in its region and outside it
others as (
    select
        b.la_code, b.indicator_id, b.period,
        coalesce(r.region_n_suppressed, 0) - case when b.suppressed and b.la_value is not null then 1 else 0 end
            as s_region,
        coalesce(e.england_n_suppressed, 0) - coalesce(r.region_n_suppressed, 0) as s_outside
    from base as b
    left join england as e using (indicator_id, period)
    left join region as r using (indicator_id, period, region_name)
),

withheld as (
    select
        la_code, indicator_id, period,
        s_region = 1 as region_withheld,
        (s_region + s_outside = 1) or (s_region <> 1 and s_outside = 1) as england_withheld
    from others
)

select
    cast(b.la_code as varchar) as la_code,
    cast(b.la_name as varchar) as la_name,
    cast(b.region_name as varchar) as region_name,
    cast(b.indicator_id as varchar) as indicator_id,
    cast(b.period as varchar) as period,
    cast(left(b.period, 7) as varchar) as year,
    cast(b.numerator as double) as numerator,
    -- a level (the DSG deficit) has no denominator: the 1 it is pooled with is not a count
    cast(case when b.is_rate then b.denominator end as double) as denominator,
    cast(b.la_value as double) as la_value,
    -- the same quarter a year earlier, as published then: NULL where it was suppressed or withheld
    cast(case when not pb.suppressed then pb.la_value end as double) as prior_year_la_value,
    cast(case when not pw.england_withheld then pe.england_value end as double) as prior_year_england_value,
    cast(case when not w.england_withheld then e.england_value end as double) as england_value,
    cast(coalesce(e.england_n_las, 0) as integer) as england_n_las,
    cast(case when not w.region_withheld then r.region_value end as double) as region_value,
    cast(coalesce(r.region_n_las, 0) as integer) as region_n_las,
    cast(n.sn_mean as double) as sn_mean,
    cast(coalesce(n.sn_n, 0) as integer) as sn_n,
    cast(case when b.small_base or b.la_value is null then null else k.rank end as integer) as rank,
    cast(case when k.rank is null then null else k.n_ranked end as integer) as n_ranked,
    cast(case
        when k.rank is null then null
        else chr(65 + cast(floor(4.0 * (k.rank - 1) / k.n_ranked) as integer))
    end as varchar) as quartile_band,
    cast(b.polarity as varchar) as polarity,
    cast(i.period_basis as varchar) as period_basis,
    cast(b.term_label as varchar) as term_label,
    cast(b.suppressed as boolean) as suppressed,
    cast(b.suppression as varchar) as suppression,
    cast(b.small_base as boolean) as small_base,
    cast(v.ci_low as double) as ci_low,
    cast(v.ci_high as double) as ci_high,
    cast(coalesce(n.sn_n_suppressed, 0) as integer) as sn_n_suppressed,
    cast(coalesce(n.sn_n_missing, 0) as integer) as sn_n_missing,
    cast(w.region_withheld as boolean) as region_withheld,
    cast(w.england_withheld as boolean) as england_withheld,
    cast(t.target_value as double) as target_value,
    cast(t.comparable_target as double) as comparable_target,
    cast(t.gap_to_target as double) as gap_to_target,
    cast(t.status as varchar) as status,
    cast(v.change_value as double) as change_value,
    cast(v.change_basis as varchar) as change_basis,
    cast(v.change_note as varchar) as change_note,
    cast(coalesce(v.change_direction, 'not comparable') as varchar) as change_direction
from base as b
left join england as e using (indicator_id, period)
left join region as r using (indicator_id, period, region_name)
left join neighbours as n using (la_code, indicator_id, period)
left join ranked as k using (la_code, indicator_id, period)
left join withheld as w using (la_code, indicator_id, period)
left join iv as v using (la_code, indicator_id, period)
join {{ ref('stg_catalogue_indicators') }} as i using (indicator_id)
left join {{ ref('trajectory') }} as t using (la_code, indicator_id, period)
left join base as pb
    on pb.la_code = b.la_code and pb.indicator_id = b.indicator_id
   and pb.period = {{ quarter_from_index(quarter_index('b.period') ~ ' - 4') }}
left join england as pe
    on pe.indicator_id = b.indicator_id and pe.period = pb.period
left join withheld as pw
    on pw.la_code = b.la_code and pw.indicator_id = b.indicator_id and pw.period = pb.period
