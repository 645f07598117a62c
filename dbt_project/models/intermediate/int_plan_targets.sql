-- The standing target per LA, indicator and target period: locked by the accepted initial return where
-- it gave one (see int_plan_baselines); otherwise the newest accepted return's, so where two years'
-- returns give a target for the same period the newer return wins.
select
    la_code,
    indicator_id,
    target_period,
    value as target_value,
    submission_id,
    is_initial as is_locked
from {{ ref('int_plan_statements') }}
where kind = 'target'
qualify row_number() over (
    partition by la_code, indicator_id, target_period order by is_initial desc, received_at desc, submission_id desc
) = 1
