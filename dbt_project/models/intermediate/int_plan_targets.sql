-- The standing target per LA, indicator and target period: locked by the accepted initial return where
-- it gave one (see int_plan_baselines); otherwise the newest accepted return's, so where two years'
-- returns give a target for the same period the newer return wins.
-- One hash aggregate, not a window: every return restates every target, so with years of history this
-- picks one of over a million statements per key, and sorting them all was most of the model's cost.
-- The order is that of `order by is_initial desc, received_at desc, submission_id desc` (a NULL
-- receipt time last, as there); submission_id is never NULL and differs between a key's statements
-- (one per reporting period), so the newest is one statement, as row_number() = 1 was.
select
    la_code,
    indicator_id,
    target_period,
    newest.value as target_value,
    newest.submission_id,
    newest.is_initial as is_locked
from (
    select
        la_code,
        indicator_id,
        target_period,
        arg_max(
            {'value': value, 'submission_id': submission_id, 'is_initial': is_initial},
            (is_initial, received_at is not null, coalesce(received_at, timestamp '-infinity'), submission_id)
        ) as newest
    from {{ ref('int_plan_statements') }}
    where kind = 'target'
    group by la_code, indicator_id, target_period
)
