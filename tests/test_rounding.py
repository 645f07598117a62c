"""The pack prints a figure exactly as the warehouse rounds it when it judges a status.

trajectory.sql judges met / within tolerance / missed on values rounded in DuckDB; reports.common.shown
must round the same way, or a pack could print "0.1 against a target of 0.1" beside "within tolerance".
"""
import random

import duckdb

from reports.common import num, shown


def test_shown_rounds_as_duckdb_does():
    rng = random.Random(7)
    values = [0.085, 2.675, 0.125, 1.005, 12.25, -12.25, -0.085, 0.0, 89.35]
    values += [round(rng.uniform(-500, 500), 4) for _ in range(3000)]
    values += [rng.randint(-4000, 4000) / 8 for _ in range(1000)]  # exact binary halves
    con = duckdb.connect()
    for d in (0, 1, 2):
        rows = con.execute("select v, round(v, $d) from unnest($vals) t(v)", {"vals": values, "d": d}).fetchall()
        wrong = [(v, r, shown(v, d)) for v, r in rows if shown(v, d) != r]
        assert wrong == [], f"decimals={d}: {wrong[:5]}"


def test_exact_halves_go_away_from_zero_as_printed():
    assert num(12.25, 1) == "12.3"  # Python's round() would print 12.2
    assert num(-12.25, 1) == "-12.3"
