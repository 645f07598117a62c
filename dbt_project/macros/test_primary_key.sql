{#- A model's key: no row may have a NULL in any key column, and no two rows may share the key.
    One query (one dbt node, one Dagster check) where a not_null test per key column plus a unique
    test would be several; the same rule as the dbt_constraints package's primary_key test.
    Fails with one row per bad key: its columns, the reason ('null key' when any key column is
    NULL, else 'duplicate key') and how many rows hold it.  A model with a second key (an LA's
    new code beside its old one) has a second primary_key test.  A contracted mart declares its key
    as a primary_key constraint instead (DuckDB enforces it when it builds the table: no test node).

      data_tests:
        - primary_key:
            arguments:
              columns: [la_code, indicator_id, period]
-#}
{% test primary_key(model, columns) %}
{%- set key = [] -%}
{%- for c in columns %}{% do key.append(adapter.quote(c)) %}{% endfor -%}
select {{ key | join(', ') }},
    case when {{ key | join(' is null or ') }} is null then 'null key' else 'duplicate key' end as reason,
    count(*) as n_rows
from {{ model }}
group by {{ key | join(', ') }}
having count(*) > 1 or {{ key | join(' is null or ') }} is null
{% endtest %}
