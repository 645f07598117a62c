{#- Staging for a DfE-held EES tidy-data table: geography and breakdown columns renamed, the given
    measures typed, and the load columns kept.  Published symbols (c suppressed, x unavailable,
    z not applicable, low, u) are not numbers: try_cast turns them into NULL so they count as
    missing, never as zero. -#}
{% macro stg_ees(table, measures) -%}
select
    time_period,
    time_identifier,
    geographic_level,
    old_la_code as la_code,
    new_la_code,
    la_name,
    breakdown_topic,
    breakdown,
    {%- for m in measures %}
    try_cast({{ m }} as double) as {{ m }},
    {%- endfor %}
    source_file,
    source_file_hash,
    cast(loaded_at as timestamp) as loaded_at
from {{ source('raw', table) }}
{%- endmacro %}
