"""Schedules driven by the collection calendar (config/collection_calendar.yaml).

A day outside every window is reported, never skipped silently: the skip reason names the next
window, and once the calendar has run out each tick logs a warning saying so.
"""

import dagster as dg

from pipeline import calendar
from pipeline.defs.jobs import SERVICE_LOGS, collection_status_job, publish_job


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
    return dg.RunRequest(run_config=SERVICE_LOGS, run_key=f"status:{today}", partition_key=collection.period)


CATCH_UP_DAYS = 28


def publication_owed(today, instance):
    """The quarter whose publication day has come (today, or passed while the service was down or
    the run failed for good) and that has not been published since: the newest collection with a
    publication day on or before today whose packs were not materialized on or after that day.
    A quarter is caught up for CATCH_UP_DAYS at most (and never past the next publication day)."""
    from pipeline.defs.service import PACKS

    due = [c for c in calendar.published() if c.publish <= today]
    if not due or (today - due[-1].publish).days > CATCH_UP_DAYS:
        return None
    c = due[-1]
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=PACKS, asset_partitions=[c.period]), limit=1).records
    published_on = records[0].timestamp if records else None
    from datetime import datetime, timezone

    if published_on is not None and datetime.fromtimestamp(published_on, timezone.utc).date() >= c.publish:
        return None
    return c


@dg.schedule(job=publish_job, cron_schedule="0 6 * * *", execution_timezone="Europe/London",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="On each quarter's publication day (after the deadline): rebuild marts, publish packs. "
                         "A publication day missed (service down, run failed for good) is caught up the next "
                         "morning, until the next quarter's publication day.")
def quarterly_publication(context: dg.ScheduleEvaluationContext):
    today = context.scheduled_execution_time.date()
    collection = calendar.publication_due(today) or publication_owed(today, context.instance)
    if collection is None:
        reason, ran_out = calendar.no_publication_reason(today)
        if ran_out:
            context.log.warning(reason)
        return dg.SkipReason(reason)
    key = f"publish:{collection.period}" + ("" if collection.publish == today else f":catch-up:{today}")
    return dg.RunRequest(run_config=SERVICE_LOGS, run_key=key, partition_key=collection.period)


@dg.schedule(job=collection_status_job, cron_schedule="0 8 * * *", execution_timezone="Europe/London",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="On each deadline morning: one alert (email, webhook) listing the LAs still missing, "
                         "and a collection-status refresh.")
def deadline_digest(context: dg.ScheduleEvaluationContext):
    from contracts import reference
    from pipeline import alerts, live_status

    today = context.scheduled_execution_time.date()
    collection = next((c for c in calendar.collections() if c.deadline == today), None)
    if collection is None:
        return dg.SkipReason(f"No collection has its deadline on {today}.")
    missing = live_status.missing(collection.period, today)
    names = reference.la_names()
    alerts.alert_missing_digest(collection.period, collection.deadline.isoformat(),
                                [(code, names.get(code, "")) for code in missing])
    return dg.RunRequest(run_config=SERVICE_LOGS, run_key=f"deadline-status:{collection.period}", partition_key=collection.period)
