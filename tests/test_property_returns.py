"""Property: every return `lsrp validate` accepts builds in the warehouse (issue 18).

Hypothesis writes returns for three LAs, Q1 and Q2, with random but valid figures (every count scaled
by a whole factor, so parts stay within their totals), plan entries whose free text is any Unicode the
rules allow (up to each field's length bound), names drawn to collide (the same workstream or risk in
another case or spacing, which the validator refuses: E44), and more or fewer rows.  Each return goes
through the product's own checks; those accepted are loaded as ingest loads them, and a real
`dbt build` (models and every data test) must pass.  Any failure found here becomes a validation rule
and a fixed example (tests/test_plan_rules.py CASES: workstream_named_twice, risk_named_twice).

Derandomised, so CI runs the same examples every time; LSRP_HYPOTHESIS_EXAMPLES=N explores more.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given, note, settings
from hypothesis import strategies as st

from contracts import layout as L
from contracts.catalogue import load
from contracts.validate import validate_file
from pipeline import paths, template, warehouse
from synthetic import plan_sample
from tests.conftest import good_content

sys.path.insert(0, str(Path(__file__).parent))
from sample_warehouse import RECEIVED, dbt_build, ingest_file, load_dfe_held  # noqa: E402

CAT = load()
PLAN = CAT.plan
LAS = [{"old_la_code": "301", "la_name": "Barking and Dagenham", "region_name": "London"},
       {"old_la_code": "302", "la_name": "Barnet", "region_name": "London"},
       {"old_la_code": "873", "la_name": "Cambridgeshire", "region_name": "East of England"}]
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Any character a cell may hold as text: no control, surrogate, private-use or unassigned code point
# and no bidirectional override (the rules refuse those), never a leading '=' (a formula).
CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn"), blacklist_characters=BIDI)
COLLIDING = ["Local specialist places", "LOCAL SPECIALIST PLACES", " local specialist places ",
             "Timely assessment", "Ünïcode wörkstream", "ÜNÏCODE WÖRKSTREAM"]


def free_text(limit: int) -> st.SearchStrategy[str]:
    return st.text(CHARS, min_size=1, max_size=limit).filter(
        lambda s: s.strip() != "" and not s.lstrip().startswith(("=", "+", "-", "@")))


def name(limit: int) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(COLLIDING), free_text(limit))


@st.composite
def plan_edits(draw) -> dict:
    """Edits to an LA's generated plan parts: names, texts at any length within their bounds."""
    return {
        "workstreams": draw(st.lists(name(PLAN.limit("workstream")), min_size=0, max_size=4)),
        "outcome": draw(free_text(PLAN.limit("outcome"))),
        "milestone": draw(free_text(PLAN.limit("milestone"))),
        "lead": draw(free_text(PLAN.limit("lead"))),
        "risks": draw(st.lists(name(PLAN.limit("risk")), min_size=0, max_size=5)),
        "mitigation": draw(free_text(PLAN.limit("mitigation"))),
        "icb_name": draw(free_text(PLAN.limit("icb_name"))),
        "drop_risks": draw(st.integers(0, 2)),
    }


def _apply(parts: dict, edits: dict) -> dict:
    for w, new in zip(parts["workstreams"], edits["workstreams"]):
        w["workstream"] = new
    if parts["workstreams"]:
        parts["workstreams"][0]["outcome"] = edits["outcome"]
        parts["workstreams"][0]["lead"] = edits["lead"]
        first_q = next(iter(parts["workstreams"][0]["milestones"]))
        parts["workstreams"][0]["milestones"][first_q]["milestone"] = edits["milestone"]
    for r, new in zip(parts["risks"], edits["risks"]):
        r["description"] = new
    if parts["risks"]:
        parts["risks"][0]["mitigation"] = edits["mitigation"]
    parts["risks"] = parts["risks"][:max(1, len(parts["risks"]) - edits["drop_risks"])]
    parts["icb_name"] = edits["icb_name"]
    return parts


def _write(folder: Path, la: dict, quarter: str, factor: int, edits: dict, seed: int) -> Path:
    content = good_content(quarter, la["old_la_code"], la["la_name"])
    content.values = {k: (v * factor if isinstance(v, int) else round(v * factor, 1)) for k, v in content.values.items()}
    plan_sample.apply(content, _apply(plan_sample.plan_parts(la, CAT.collection_year, quarter, seed=seed), edits))
    path = folder / quarter / L.file_name(CAT.template_version, la["old_la_code"], la["la_name"])
    path.parent.mkdir(parents=True, exist_ok=True)
    template.write(path, content=content)
    return path


# Besides the drawn examples, one at the edges every run: names in other scripts, emoji and at their
# length bound, two workstreams differing only inside the name, the fewest risks.
EDGE = {"workstreams": ["Ünïcode wörkstream", "Places for 16–25s 🚀", "W" * PLAN.limit("workstream"),
                        "Places for 16-25s"],
        "outcome": "ا" * PLAN.limit("outcome"), "milestone": "里程碑 " * 10, "lead": "L" * PLAN.limit("lead"),
        "risks": ["Timely assessment", "R" * PLAN.limit("risk"), "timely  assessment backlog"],
        "mitigation": "Ω" * PLAN.limit("mitigation"), "icb_name": "I" * PLAN.limit("icb_name"), "drop_risks": 2}


@settings(max_examples=int(os.environ.get("LSRP_HYPOTHESIS_EXAMPLES", "2")), deadline=None, derandomize=True,
          database=None, suppress_health_check=list(HealthCheck))
@given(factors=st.lists(st.integers(1, 5), min_size=3, max_size=3),
       edits=st.lists(plan_edits(), min_size=3, max_size=3), seed=st.integers(0, 10_000))
@example(factors=[1, 3, 5], edits=[EDGE, EDGE, EDGE], seed=7)
def test_every_return_validation_accepts_builds_in_the_warehouse(tmp_path_factory, factors, edits, seed):
    root = tmp_path_factory.mktemp("property")
    accepted = []
    for la, factor, e in zip(LAS, factors, edits):
        for quarter in ("Q1", "Q2"):
            path = _write(root / "inbox", la, quarter, factor, e, seed)
            result = validate_file(path)
            note(f"{la['old_la_code']} {quarter}: {result.status} {[f.rule for f in result.errors]}")
            if result.status != "rejected":
                accepted.append((path, f"2026-27-{quarter}"))
    assume(accepted)
    if edits[0] is EDGE:  # the edge example must be accepted, or it tests nothing
        assert len(accepted) == 6, [p.name for p, _ in accepted]
    db = root / "warehouse.duckdb"
    con = warehouse.connect(db)
    try:
        warehouse.ensure_raw_schema(con)
        warehouse.load_catalogue(con)
        for i, (path, period) in enumerate(accepted):
            result = ingest_file(con, path, period, root / "archive", RECEIVED[period].replace(minute=i))
            assert result.status != "rejected", [f.message for f in result.errors]  # ingest agrees with validate
        load_dfe_held(con, paths.SAMPLE_DIR / "dfe_held")
    finally:
        con.close()
    # one dbt target folder for every example, so dbt parses the project once
    dbt_build(db, "2026-27-Q2", tmp_path_factory.getbasetemp() / "property-dbt-target")
