"""dbt models as Dagster assets; dbt tests show as asset checks.

dbt builds into a copy of the warehouse that replaces the live file only when the build and its
tests pass (pipeline/release.py), so a failed or killed build leaves the previous marts in place.

The translator maps each dbt source (raw.*) to the Python asset that writes it, so the graph runs
inbox -> archive -> validate -> raw tables -> staging -> intermediate -> marts -> packs.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipeline import paths, release
from pipeline.dbt_args import not_built, publication_args, state_path, summarise_run_results, verdict
from pipeline.defs.dbt_project import dbt_project
from pipeline.defs.partitions import period_partitions

# Every op that writes the warehouse runs in this Dagster concurrency pool, whose limit (1) and
# run granularity are set in the instance configuration `lsrp` writes (pipeline/run.py).
WAREHOUSE_POOL = "warehouse"


class LsrpTranslator(DagsterDbtTranslator):
    """dbt sources keep their default keys (raw/<table>), which are exactly the keys of the Python
    assets that write them, so the graph links up; models are grouped by layer."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "staging"
        return {"staging": "warehouse_staging", "intermediate": "warehouse_intermediate"}.get(layer, layer)


def latest_period_with_returns() -> str | None:
    """The newest quarter with a return that was not rejected (`lsrp run`'s default partition)."""
    from pipeline import warehouse

    with warehouse.session() as con:
        return con.execute("select max(period) from raw.submissions where status <> 'rejected'").fetchall()[0][0]


def quiet_stream(events, log_path: Path):
    """dagster-dbt echoes every dbt event (two lines a node, ~400 a build) to stdout, which the run
    worker passes on to the daemon's console: the service log.  Each event is fetched with stdout
    sent to ``log_path`` instead (kept beside dbt's own dbt.log); Dagster still gets every event,
    and the console only our one-line verdict."""
    import contextlib

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as fh:
        it = iter(events)
        while True:
            with contextlib.redirect_stdout(fh):
                try:
                    event = next(it)
                except StopIteration:
                    return
            yield event


def _log_results(context, invocation, quarter: str) -> None:
    """dbt's verdict from its run_results.json (absent when dbt was killed before writing it)."""
    try:
        run_results = invocation.get_artifact("run_results.json")
        counts = summarise_run_results(run_results)
    except Exception as exc:  # the build's own error says more than a missing artifact
        context.log.warning(f"dbt run_results.json unreadable: {exc}")
        return
    context.log.info(f"dbt build {quarter}: {verdict(counts)}")
    for model in not_built(run_results):  # a failed constraint fails its model, not a check: name it here too
        context.log.error(f"dbt could not build {model}")


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=WAREHOUSE_POOL,
            partitions_def=period_partitions,
            dagster_dbt_translator=LsrpTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True)))
def lsrp_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """One partition per quarter: dbt's var ``quarter`` is the partition key (as dagster-dbt
    documents), so each quarter's marts are a materialisation Dagster can show.

    A test that fails on one LA's rows holds that LA's return back and the build runs again without
    it (pipeline/holds.py), so one LA's file never stops the other LAs' publication.  The events of
    a build that is followed by another are not reported: Dagster sees the build that counts."""
    quarter = context.partition_key
    live = paths.warehouse()
    build = release.stage_build(live)
    context.log.info(f"dbt build for {quarter} into {build.name}; it replaces {live.name} only if it passes")
    held = []
    try:
        events, run_results, ok = _build(context, dbt, quarter, build)
        for _ in range(_HOLD_ROUNDS):
            if ok:
                break
            more = _hold(context, build, run_results, quarter)
            if not more:
                break
            held += more
            events, run_results, ok = _build(context, dbt, quarter, build)
        if not ok:
            yield from events  # what the build that counts did build, and which checks failed, stay visible
            raise dg.Failure(description=_failure_words(quarter, run_results))
    except BaseException:
        release.discard_build(live)
        raise
    yield from events
    release.swap_in(build, live)
    context.log.info(f"Swapped the new build in; analysts' copy refreshed in {release.published_dir()}")
    if held:
        from pipeline import holds

        for line in holds.tell(held):  # only now: a hold is real once the build that made it is live
            context.log.info(line)
        context.log.warning(f"Published without {len(held)} held-back return(s); their feedback, packs and "
                            f"marts.collection_status say why: {holds.describe(held)}")


# A hold cures the rows it names; a second round catches a test that only ran once the first
# failure's downstream models were built.  More than that is not one LA's data.
_HOLD_ROUNDS = 2


def _build(context, dbt: DbtCliResource, quarter: str, build) -> tuple[list, dict, bool]:
    """One `dbt build` into the build copy: (its Dagster events, run_results.json, passed)."""
    target = state_path(quarter)
    (target / "run_results.json").unlink(missing_ok=True)  # the verdict must be this build's, not the last one's
    invocation = dbt.cli(publication_args(quarter, build), context=context, target_path=target,
                         raise_on_error=False)
    try:
        events = list(quiet_stream(invocation.stream(), target / "logs" / "dbt-events.log"))
    finally:
        _log_results(context, invocation, quarter)
    try:
        run_results = invocation.get_artifact("run_results.json")
    except Exception:  # dbt killed before writing it: nothing to attribute
        run_results = {}
    return events, run_results, invocation.is_successful()


def _hold(context, build, run_results: dict, quarter: str) -> list:
    """Hold back the returns whose rows failed a test (the holds); [] when the failure is not one LA's."""
    from pipeline import holds, warehouse

    with warehouse.session(build) as con:
        found = holds.attribute(con, run_results, quarter)
        if found.unattributed or not found.holds or len(found.holds) > holds.max_held():
            context.log.error("A warehouse test failed and no single LA's return explains it: "
                              + ("; ".join(found.unattributed) or f"{len(found.holds)} LAs' rows")[:2000])
            return []
        holds.record(con, found.holds)
    context.log.warning(f"Held back {len(found.holds)} return(s) a warehouse test failed on; publishing "
                        f"without them: {holds.describe(found.holds)}")
    return found.holds


def _failure_words(quarter: str, run_results: dict) -> str:
    """What the run says when the quarter cannot be published (no stack trace is needed to read it)."""
    from pipeline import holds

    models = not_built(run_results)   # a model dbt could not build, with DuckDB's words (a key constraint)
    tests = [f"{holds.test_name(n)} ({n.get('status')})" for n in holds.failed_nodes(run_results)
             if str(n.get("unique_id", "")).startswith("test.")]
    nodes = models + tests
    return (f"The warehouse for {quarter} was not published: dbt failed on "
            f"{'; '.join(nodes[:8]) or 'an error before it wrote its results'}, and no single LA's return "
            f"explains it. The previous release stands. See the dbt log in {state_path(quarter)}.")
