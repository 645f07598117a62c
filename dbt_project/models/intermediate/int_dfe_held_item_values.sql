-- DfE-held data items for each financial quarter, from the EES term that feeds it
-- (catalogue dfe_held_terms): quarter Qn of financial year F is fed by the term named by
-- time_identifier in academic year F + year_offset.  E.g. 2026-27-Q1 <- 202526 Spring term,
-- Q2 <- 202526 Summer term, Q3 <- 202627 Autumn term, Q4 <- 202627 Spring term.
with items as (
    select item_id, ees_dataset, ees_column, ees_breakdown
    from {{ ref('stg_catalogue_data_items') }}
    where source = 'dfe_held'
),

mapped as (
    select
        e.la_code,
        i.item_id,
        {{ year_key('cast(left(e.time_period, 4) as integer) - t.year_offset') }} || '-' || t.quarter as quarter_period,
        e.value,
        e.time_period,
        e.time_identifier,
        e.source_file_hash
    from {{ ref('int_ees_values') }} as e
    join items as i
        on i.ees_dataset = e.dataset and i.ees_column = e.ees_column and i.ees_breakdown = e.breakdown
    join {{ ref('stg_catalogue_dfe_held_terms') }} as t
        on t.time_identifier = e.time_identifier
    where e.value is not null
)

select *
from mapped
where quarter_period <= {{ build_quarter() }}
