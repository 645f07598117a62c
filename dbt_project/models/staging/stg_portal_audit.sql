-- The portal's audit trail, typed: one row per entry of its append-only log.
select
    cast(seq as bigint) as seq,
    cast("at" as timestamp) as happened_at,  -- "at" is a DuckDB keyword
    actor,
    role,
    la_code,
    address,
    action,
    outcome,
    object,
    detail
from {{ source('raw', 'portal_audit') }}
