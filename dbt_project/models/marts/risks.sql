-- Every LA's risks as reported each quarter: stated and Annex C matrix RAG before and after
-- mitigation, and how the residual rating moved since the LA's previous quarter (the same risk,
-- matched by its description).
with reported as (
    select
        p.la_code,
        p.period,
        p.year,
        p.period_index,
        p.submission_id,
        r.*
    from {{ ref('int_plan_submissions') }} as p
    join {{ ref('stg_plan_risks') }} as r using (submission_id)
),

rated as (
    select
        r.* exclude (submission_id),
        r.submission_id,
        m.rag as matrix_rag,
        m.score as inherent_score,
        rm.rag as residual_matrix_rag,
        rm.score as residual_score
    from reported as r
    left join {{ ref('stg_catalogue_risk_matrix') }} as m
        on m.impact = r.impact and m.likelihood = r.likelihood
    left join {{ ref('stg_catalogue_risk_matrix') }} as rm
        on rm.impact = r.residual_impact and rm.likelihood = r.residual_likelihood
)

select
    c.la_code,
    l.la_name,
    l.region_name,
    c.period,
    c.year,
    c.submission_id,
    c.risk_no,
    c.description,
    c.impact,
    c.likelihood,
    c.rag,
    c.matrix_rag,
    c.rag is distinct from c.matrix_rag as rag_differs_from_matrix,
    c.inherent_score,
    c.mitigation,
    c.residual_impact,
    c.residual_likelihood,
    c.residual_rag,
    c.residual_matrix_rag,
    c.residual_score,
    prev.residual_rag as previous_residual_rag,
    prev.residual_score as previous_residual_score,
    -- last quarter's place on the matrix, so a pack can draw this quarter against last
    prev.residual_impact as previous_residual_impact,
    prev.residual_likelihood as previous_residual_likelihood,
    case
        when prev.risk_key is null then 'new'
        when c.residual_score > prev.residual_score then 'escalated'
        when c.residual_score < prev.residual_score then 'reduced'
        else 'unchanged'
    end as movement,
    coalesce(c.residual_rag = 'Red', false) as is_red_residual,
    c.note
from rated as c
left join rated as prev
    on prev.la_code = c.la_code
    and prev.risk_key = c.risk_key
    and prev.period_index = c.period_index - 1
left join {{ ref('stg_las') }} as l on l.la_code = c.la_code
