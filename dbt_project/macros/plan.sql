{#- The last day of a financial quarter: '2026-27-Q4' -> 2027-03-31 (plan parts: "past" means before
    the end of the quarter reported, as contracts/plan_checks.quarter_end). -#}
{% macro quarter_end_date(period) -%}
    (make_date(cast(left({{ period }}, 4) as integer) + case when right({{ period }}, 1) = '4' then 1 else 0 end,
               case right({{ period }}, 1) when '1' then 6 when '2' then 9 when '3' then 12 else 3 end,
               case right({{ period }}, 1) when '1' then 30 when '2' then 30 else 31 end))
{%- endmacro %}

{#- RAG as a number, worse is higher: Red 3, Amber 2, Green 1. -#}
{% macro rag_rank(rag) -%}
    (case {{ rag }} when 'Red' then 3 when 'Amber' then 2 when 'Green' then 1 end)
{%- endmacro %}
