"""One LA's accepted return never stops the national publication (issue 18), and a later rejected upload
never undoes an accepted return (issue 22).

A return the validator accepted but a warehouse test fails on (here: two workstreams with one name,
written into the raw tables as if the validator had missed it) is held back: the quarter publishes
for every other LA, and the held LA's pack, feedback, the DfE overview's service alerts, the support
view and marts.collection_status say so and why.  Run through the real Dagster jobs and a real
`dbt build`, as tests/test_end_to_end.py does."""
import json
import os

import duckdb

from pipeline import ledger, paths
from tests.test_alerts import _subjects, receivers  # noqa: F401 - receivers is a fixture used below
from tests.test_end_to_end import _query, _settle, _stage_committed_sample, tick

Q2 = "2026-27-Q2"


def _break_one_return() -> tuple[str, str]:
    """Give workstream 2 of one accepted Q2 return the name of workstream 1, behind the validator."""
    con = duckdb.connect(os.environ["LSRP_WAREHOUSE"])
    try:
        sub, la = con.execute(
            "select submission_id, la_code from raw.submissions where period = ? and status like 'accepted%' and "
            "submission_id in (select submission_id from raw.plan_milestones) order by la_code limit 1", [Q2]).fetchone()
        name = con.execute("select workstream from raw.plan_milestones where submission_id = ? and workstream_no = 1 "
                           "limit 1", [sub]).fetchone()[0]
        con.execute("update raw.plan_milestones set workstream = lower(?) where submission_id = ? and workstream_no = 2",
                    [name, sub])
    finally:
        con.close()
    return sub, la


def test_a_return_failing_a_warehouse_test_is_held_and_the_rest_publish(lsrp_home, dagster_instance, monkeypatch,
                                                                        capfd, receivers):
    from pipeline import run
    from pipeline.definitions import defs

    _stage_committed_sample()
    tick(dagster_instance, defs)
    sub, la = _break_one_return()

    # when holding is not allowed (here: at most 0 LAs), the quarter is not published, and the console says
    # so in words: no stack trace, no path that was not written
    monkeypatch.setenv("LSRP_MAX_HELD", "0")
    lines = []
    capfd.readouterr()
    assert not run.publish(dagster_instance, defs, Q2, log=lines.append).success
    said = "\n".join(lines) + run.summary(Q2, published=False)
    console = capfd.readouterr()
    assert "Not published: lsrp_dbt_assets: The warehouse for 2026-27-Q2 was not published" in said, said
    assert "No packs were published" in said and "index.html" not in said
    assert "Traceback" not in console.out + console.err and "Stack Trace" not in console.out + console.err
    assert not (paths.packs() / "index.html").exists()
    monkeypatch.delenv("LSRP_MAX_HELD")

    res = defs.resolve_job_def("publish_job").execute_in_process(instance=dagster_instance, partition_key=Q2,
                                                                 raise_on_error=False)
    assert res.success
    meta = res.asset_materializations_for_node("benchmark_packs")[0].metadata
    assert meta["packs_written"].value == 153
    # the warehouse: held, not accepted, with the reason; every other LA as it was
    (row,) = _query("select status, accepted, hold_reason from marts.collection_status where la_code = ? "
                    "and period = ?", la, Q2)
    assert row[0] == "held" and row[1] is False and "workstream" in row[2] and "Action required" in row[2]
    assert _query("select count(*) from raw.submissions where held_at is not null") == [(1,)]
    others = _query("select count(*) from marts.collection_status where period = ? and accepted", Q2)[0][0]
    assert others >= 6
    # the LA's pack says it is held and why, and shows no figures from the held return
    pack = next((paths.packs() / Q2 / "la").glob(f"{la}-*.html")).read_text(encoding="utf-8")
    assert "held back" in pack and "workstream" in pack
    # its feedback says so too (JSON and HTML)
    done = ledger.done_record(sub)
    fb_json = next(p for p in done["feedback"] if p.endswith(".json"))
    fb_html = next(p for p in done["feedback"] if p.endswith(".html"))
    assert json.loads(open(fb_json, encoding="utf-8").read())["held"]["reason"] == row[2]
    assert "Held back by DfE" in open(fb_html, encoding="utf-8").read()
    # DfE sees it in the overview's service alerts and the support view
    overview = (paths.packs() / Q2 / "overview.html").read_text(encoding="utf-8")
    assert "Returns held back (1)" in overview
    support = (paths.packs() / "dfe" / f"support-{Q2}.html").read_text(encoding="utf-8")
    assert "held back by a warehouse check" in support
    # and DfE's alert channels were told, once each (a local SMTP server and webhook receiver)
    mails, posts = _subjects(*receivers)
    held_alerts = [f"[LSRP] Return held: LA {la} {Q2}"]
    assert [m for m in mails if "Return held" in m] == held_alerts
    assert [p for p in posts if "Return held" in p] == held_alerts
    assert ledger.invariant_problems() == []

    # a later upload from an accepted LA is rejected (a stray .xlsm): it never undoes the accepted return
    other = next(c for (c,) in _query("select la_code from marts.collection_status where period = ? and accepted "
                                      "and la_code <> ? order by la_code", Q2, la))
    version = json.loads((paths.packs() / Q2 / "manifest.json").read_text())["packs"][other]["version"]
    sent = next(e for e in ledger.events() if (e.la_code, e.period) == (other, Q2))
    stray = paths.inbox() / Q2 / (sent.name.rsplit(".", 1)[0] + ".xlsm")
    stray.write_bytes(open(sent.archive_path, "rb").read())
    _settle(stray)
    tick(dagster_instance, defs)
    res = defs.resolve_job_def("publish_job").execute_in_process(instance=dagster_instance, partition_key=Q2)
    assert res.success
    (row,) = _query("select status, accepted, later_upload_status, later_upload_reason from marts.collection_status "
                    "where la_code = ? and period = ?", other, Q2)
    assert row[0].startswith("accepted") and row[1] is True and row[2] == "rejected" and row[3].startswith("E")
    entry = json.loads((paths.packs() / Q2 / "manifest.json").read_text())["packs"][other]
    assert entry["version"] == version and entry["status"] == row[0]
    pack = next((paths.packs() / Q2 / "la").glob(f"{other}-*.html")).read_text(encoding="utf-8")
    assert "was rejected (E" in pack and "figures here are from the accepted return" in pack
