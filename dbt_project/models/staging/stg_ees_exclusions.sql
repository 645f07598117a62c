{{ stg_ees('ees_exclusions', ['headcount', 'perm_excl', 'susp', 'one_plus_susp']) }}
