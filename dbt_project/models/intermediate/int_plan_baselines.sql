-- The standing baseline per LA and indicator: the locked one from the LA's accepted initial return
-- where it gave one (a later return that states another is queried, Q11, and listed in plan_changes,
-- never used); otherwise the newest accepted return's.
select
    la_code,
    indicator_id,
    value as baseline_value,
    baseline_period,
    submission_id,
    is_initial as is_locked
from {{ ref('int_plan_statements') }}
where kind = 'baseline'
qualify row_number() over (
    partition by la_code, indicator_id order by is_initial desc, received_at desc, submission_id desc
) = 1
