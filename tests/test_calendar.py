from datetime import date

from pipeline import calendar


def test_window_and_publication_come_from_config(tmp_path, monkeypatch):
    cfg = tmp_path / "cal.yaml"
    cfg.write_text("settle_seconds: 3\ncollections:\n"
                   "  - {period: 2026-27-Q2, opens: 2026-10-01, deadline: 2026-10-30, publish: 2026-11-09}\n")
    monkeypatch.setenv("LSRP_CALENDAR", str(cfg))
    assert calendar.open_collection(date(2026, 10, 15)).period == "2026-27-Q2"
    assert calendar.open_collection(date(2026, 10, 31)) is None
    assert calendar.publication_due(date(2026, 11, 9)).period == "2026-27-Q2"
    assert calendar.publication_due(date(2026, 11, 10)) is None
    assert calendar.settle_seconds() == 3.0
    assert calendar.latest_period(date(2026, 12, 1)) == "2026-27-Q2"


def test_bundled_calendar_is_ordered_and_consistent():
    cols = calendar.collections()
    assert [c.period for c in cols] == sorted(c.period for c in cols)
    for c in cols:
        assert c.opens < c.deadline and (c.publish is None or c.deadline < c.publish)


def test_initial_return_window_comes_before_q1_and_is_not_published():
    initial = calendar.initial_collection()
    assert (initial.period, initial.deadline, initial.publish) == ("2026-27-Q0", date(2026, 6, 19), None)
    assert calendar.open_collection(date(2026, 6, 19)).period == "2026-27-Q0"
    assert calendar.latest_period(date(2026, 6, 19)) == "2026-27-Q1"  # publication default: a quarter
    assert calendar.next_publication(date(2026, 6, 1)).period == "2026-27-Q1"
