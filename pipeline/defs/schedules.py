"""Schedules driven by the collection calendar (config/collection_calendar.yaml).

A day outside every window is reported, never skipped silently: the skip reason names the next
window, and once the calendar has run out each tick logs a warning saying so.
"""

import dagster as dg

from pipeline import calendar
from pipeline.defs.jobs import collection_status_job, publish_job


@dg.schedule(job=collection_status_job, cron_schedule="0 7 * * *", execution_timezone="Europe/London",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Every morning during a collection window: who has submitted and what is outstanding.")
def daily_collection_status(context: dg.ScheduleEvaluationContext):
    today = context.scheduled_execution_time.date()
    collection = calendar.open_collection(today)
    if collection is None:
        reason, ran_out = calendar.outside_window_reason(today)
        if ran_out:
            context.log.warning(reason)
        return dg.SkipReason(reason)
    return dg.RunRequest(run_key=f"status:{today}", partition_key=collection.period)


@dg.schedule(job=publish_job, cron_schedule="0 6 * * *", execution_timezone="Europe/London",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="On each quarter's publication day (after the deadline): rebuild marts, publish packs.")
def quarterly_publication(context: dg.ScheduleEvaluationContext):
    today = context.scheduled_execution_time.date()
    collection = calendar.publication_due(today)
    if collection is None:
        reason, ran_out = calendar.no_publication_reason(today)
        if ran_out:
            context.log.warning(reason)
        return dg.SkipReason(reason)
    return dg.RunRequest(run_key=f"publish:{collection.period}", partition_key=collection.period)
