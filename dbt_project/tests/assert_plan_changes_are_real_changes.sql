-- plan_changes lists real changes only: a value or date that differs from the one before it, stated
-- in a later period, with the old and new of the same kind (numbers for baselines, targets and spend;
-- dates for milestones).
select *
from {{ ref('plan_changes') }}
where previous_period >= change_period
   or (item_type = 'milestone_date' and (old_date is null or new_date is null or old_date = new_date))
   or (item_type <> 'milestone_date' and (old_value is null or new_value is null
                                          or abs(new_value - old_value) <= 1e-9))
