-- Each LA's projection of the rest of the plan year and its year end, with the forecast verdict (issue 21).
-- Computed by forecasting/ in the Python model forecast_rows; here only typed under the contract.
select
    cast(la_code as varchar) as la_code,
    cast(indicator_id as varchar) as indicator_id,
    cast(period as varchar) as period,
    cast(period_type as varchar) as period_type,
    cast(origin as varchar) as origin,
    cast(method as varchar) as method,
    cast(first_period as varchar) as first_period,
    cast(last_period as varchar) as last_period,
    cast(n_points as integer) as n_points,
    cast(value as double) as value,
    cast(lower as double) as lower,
    cast(upper as double) as upper,
    cast(level as double) as level,
    cast(target_value as double) as target_value,
    cast(tolerance as double) as tolerance,
    cast(verdict as varchar) as verdict,
    cast(reason as varchar) as reason
from {{ ref('forecast_rows') }}
