-- Signatories as returned, without their emails: emails are for DfE's own views only and stay in
-- raw.plan_signatories, so no model downstream (and no pack) can carry one.
select
    submission_id,
    la_code,
    year,
    cast(position as integer) as position,
    role,
    name,
    cast(signed_on as date) as signed_on
from {{ source('raw', 'plan_signatories') }}
where {{ not_held() }}
