select
    impact,
    likelihood,
    rag,
    cast(impact_rank as integer) as impact_rank,
    cast(likelihood_rank as integer) as likelihood_rank,
    cast(impact_rank as integer) * cast(likelihood_rank as integer) as score
from {{ source('raw', 'catalogue_risk_matrix') }}
