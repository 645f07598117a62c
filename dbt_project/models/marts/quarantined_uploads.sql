-- Uploads that could not be filed under an LA and quarter (unknown or missing LA code, a folder
-- that is not a quarter, the inbox root, a name that is not UTF-8).  Each was archived and rejected
-- with feedback; this is where DfE sees them, next to collection_status.
select
    cast(l.event_id as varchar) as event_id,
    cast(l.received_at as timestamp) as received_at,
    cast(l.file_name as varchar) as file_name,
    cast(l.folder as varchar) as folder,
    cast(l.period as varchar) as period,
    cast(l.reason as varchar) as reason,
    cast(coalesce(s.status, 'not_processed') as varchar) as status,
    cast(l.sha256 as varchar) as sha256
from {{ ref('stg_upload_ledger') }} as l
left join {{ ref('stg_submissions') }} as s on s.submission_id = l.event_id
where l.route = 'quarantine'
