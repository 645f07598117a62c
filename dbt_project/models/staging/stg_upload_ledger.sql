select
    event_id,
    cast(seq as bigint) as seq,
    cast(received_at as timestamp) as received_at,
    name as file_name,
    folder,
    cast(size as bigint) as size_bytes,
    sha256,
    route,
    la_code,
    period,
    reason
from {{ source('raw', 'upload_ledger') }}
