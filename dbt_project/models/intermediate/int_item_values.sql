-- Every data item value per LA and quarter: the LA's return plus DfE-held statistics.
select
    la_code,
    item_id,
    quarter_period,
    value,
    'la_return' as source,
    submission_id,
    received_at,
    cast(null as varchar) as ees_time_period,
    cast(null as varchar) as ees_time_identifier
from {{ ref('int_return_item_values') }}

union all

select
    la_code,
    item_id,
    quarter_period,
    value,
    'dfe_held' as source,
    cast(null as varchar) as submission_id,
    cast(null as timestamp) as received_at,
    time_period as ees_time_period,
    time_identifier as ees_time_identifier
from {{ ref('int_dfe_held_item_values') }}
