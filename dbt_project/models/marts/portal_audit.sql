-- Who did what in the portal, newest first, for DfE: sign-ins (and failures), uploads, downloads of
-- packs, feedback and original files, refusals (another LA's object, a forged form), changes to users.
-- is_refusal marks what someone was not allowed to do.
select
    seq,
    happened_at,
    actor,
    role,
    la_code,
    address,
    action,
    outcome,
    object,
    detail,
    outcome in ('refused', 'failed') as is_refusal
from {{ ref('stg_portal_audit') }}
order by seq desc
