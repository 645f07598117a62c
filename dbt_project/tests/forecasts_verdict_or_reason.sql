{{ config(meta={'dagster': {'ref': {'name': 'forecasts'}}}) }}
-- marts.forecasts: every row has a forecast verdict or the reason there is none, never both or neither;
-- a verdict has its interval around the value and a target.
select *
from {{ ref('forecasts') }}
where (verdict is null) = (reason is null)
   or (verdict is not null and (target_value is null or not (lower <= value and value <= upper)))
