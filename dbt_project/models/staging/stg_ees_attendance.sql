-- Published symbols (c suppressed, x unavailable, z not applicable, low, u) are not numbers:
-- try_cast turns them into NULL so they count as missing, never as zero.
select
    time_period,
    time_identifier,
    geographic_level,
    old_la_code as la_code,
    new_la_code,
    la_name,
    breakdown_topic,
    breakdown,
    try_cast(sess_possible as double) as sess_possible,
    try_cast(sess_overall as double) as sess_overall,
    try_cast(sess_authorised as double) as sess_authorised,
    try_cast(sess_unauthorised as double) as sess_unauthorised,
    try_cast(enrolments as double) as enrolments,
    try_cast(enrolments_pa_10_exact as double) as enrolments_pa_10_exact,
    source_file,
    source_file_hash,
    cast(loaded_at as timestamp) as loaded_at
from {{ source('raw', 'ees_attendance') }}
