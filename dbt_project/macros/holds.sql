{#- Rows of returns a publication held back (raw.submissions.held_at: pipeline/holds.py) are left out
    from staging on, so a hold cures a failing test on them wherever it sits.  The upload itself stays
    in stg_submissions (status 'held') and its findings stay in stg_findings. -#}
{% macro not_held() -%}
submission_id not in (select submission_id from {{ source('raw', 'submissions') }} where held_at is not null)
{%- endmacro %}
