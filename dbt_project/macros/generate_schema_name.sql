{#- Schemas are named exactly as configured (marts, staging, intermediate, ref), not
    prefixed with the target schema, because the packs read marts.* by name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
