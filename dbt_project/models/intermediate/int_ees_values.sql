-- EES LA-level rows in long form, one row per measure column.  NULLs (suppressed symbols) are
-- kept through the de-duplication so a newer file's suppressed value is not replaced by an
-- older file's number.
{% set measures = {
    'attendance': ['sess_possible', 'sess_overall', 'sess_authorised', 'sess_unauthorised', 'enrolments', 'enrolments_pa_10_exact'],
    'exclusions': ['headcount', 'perm_excl', 'susp', 'one_plus_susp'],
} %}
with long as (
{%- for dataset, cols in measures.items() %}
{%- set outer_loop = loop %}
{%- for col in cols %}
    select '{{ dataset }}' as dataset, la_code, time_period, time_identifier, breakdown,
           loaded_at, source_file_hash, '{{ col }}' as ees_column, {{ col }} as value
    from {{ ref('stg_ees_' ~ dataset) }}
    where geographic_level = 'Local authority'
    {% if not (outer_loop.last and loop.last) %}union all{% endif %}
{%- endfor %}
{%- endfor %}
)

-- A term reloaded from a newer file replaces the older file's figure.
select dataset, la_code, time_period, time_identifier, breakdown, ees_column, value, source_file_hash
from long
qualify row_number() over (
    partition by dataset, la_code, time_period, time_identifier, breakdown, ees_column
    order by loaded_at desc nulls last, source_file_hash desc
) = 1
