-- Sign-off and accountability (the plan's "Sign-off" section) per LA and reporting period: the
-- Integrated Care Board, the plan's SRO and each signatory (role, name, date signed), from the newest
-- accepted return with plan parts for the period (int_plan_submissions).  One row per signatory; a
-- return that named none has one row with no position.  Emails are deliberately absent (see
-- stg_plan_signatories); which roles are statutory is the catalogue's plan_parts.statutory_roles.
select
    p.la_code,
    l.la_name,
    l.region_name,
    p.period,
    p.year,
    p.submission_id,
    c.icb_name,
    c.sro,
    s.position,
    s.role,
    s.name,
    s.signed_on,
    coalesce(s.name is not null and trim(s.name) <> '' and s.signed_on is not null, false) as is_signed
from {{ ref('int_plan_submissions') }} as p
join {{ ref('stg_plan_cover') }} as c using (submission_id)
left join {{ ref('stg_plan_signatories') }} as s using (submission_id)
join {{ ref('stg_las') }} as l on l.la_code = p.la_code
