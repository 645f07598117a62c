{#- Our own version of dbt_utils.unique_combination_of_columns (dbt_utils is not installed
    offline): fails with one row per duplicated key. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
