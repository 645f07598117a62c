{#- Period keys: 'YYYY-YY-Qn' for a financial quarter, 'YYYY-YY' for a year end. -#}

{#- The quarter being built, checked so a typo fails the run rather than filtering everything. -#}
{% macro build_quarter() -%}
    {%- set q = var('quarter') | string -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-Q[0-4]$', q) -%}  {#- Q0: the initial return -#}
        {{ exceptions.raise_compiler_error("var 'quarter' must look like 2026-27-Q2, got '" ~ q ~ "'") }}
    {%- endif -%}
    '{{ q }}'
{%- endmacro %}

{#- Quarters as consecutive integers (year * 4 + quarter - 1), so the previous quarter is
    index - 1 and the same quarter a year earlier is index - 4. -#}
{% macro quarter_index(period) -%}
    (cast(left({{ period }}, 4) as integer) * 4 + cast(right({{ period }}, 1) as integer) - 1)
{%- endmacro %}

{% macro quarter_from_index(idx) -%}
    (cast(({{ idx }}) // 4 as varchar) || '-' || lpad(cast((({{ idx }}) // 4 + 1) % 100 as varchar), 2, '0')
     || '-Q' || cast(({{ idx }}) % 4 + 1 as varchar))
{%- endmacro %}

{#- Financial year key from its start year: 2026 -> '2026-27'. -#}
{% macro year_key(start_year) -%}
    (cast({{ start_year }} as varchar) || '-' || lpad(cast(({{ start_year }} + 1) % 100 as varchar), 2, '0'))
{%- endmacro %}

{% macro is_quarter_period(period) -%}
    regexp_full_match({{ period }}, '[0-9]{4}-[0-9]{2}-Q[1-4]')
{%- endmacro %}

{#- The DfE-held term that feeds a quarter, in words: '2026-27-Q1' -> 'spring term 2025/26' (catalogue
    dfe_held_terms: quarter Qn of financial year F <- time_identifier in academic year F + year_offset).
    `terms` is a relation with quarter, year_offset and time_identifier. -#}
{% macro term_label(period, terms) -%}
    (lower({{ terms }}.time_identifier) || ' '
     || cast(cast(left({{ period }}, 4) as integer) + {{ terms }}.year_offset as varchar) || '/'
     || lpad(cast((cast(left({{ period }}, 4) as integer) + {{ terms }}.year_offset + 1) % 100 as varchar), 2, '0'))
{%- endmacro %}

{#- Quarter number 1-4 of a quarter period key. -#}
{% macro quarter_number(period) -%}
    cast(right({{ period }}, 1) as integer)
{%- endmacro %}
