"""Real packs (published from the sample warehouse dbt built) served through the portal: they display
under their own CSP, every link inside them resolves through the portal, and only to their own LA."""
from __future__ import annotations

import base64
import hashlib
import re
import shutil
from datetime import date
from urllib.parse import urljoin

import pytest

from portal_support import USERS, make_portal
from reports.publish import publish

PERIOD = "2026-27-Q2"


@pytest.fixture
def site(sample_warehouse, lsrp_home):
    publish(sample_warehouse, lsrp_home / "packs", PERIOD, la_codes=["301", "808"], pdf=False, issued=date(2026, 11, 9))
    (lsrp_home / "published").mkdir()
    shutil.copyfile(sample_warehouse, lsrp_home / "published" / "warehouse.duckdb")
    portal = make_portal(lsrp_home)
    portal.add("c@la808.example.gov.uk", "la", "808")
    return portal


def _pack_url(client, la: str) -> str:
    home = client.get(f"/la/{la}").text
    (url,) = re.findall(rf'href="(/packs/{PERIOD}/la/{la}-[^"]+\.html)"', home)
    return url


def test_a_real_pack_displays_under_its_csp_and_its_links_resolve(site):
    c = site.signed_in(USERS["la_a"])
    url = _pack_url(c, "301")
    r = c.get(url)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    script_src = csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", r.text, flags=re.S):
        if "src=" in attrs or "application/json" in attrs:
            continue
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src                       # the pack's own chart script runs
    assert not re.search(r"<[^>]+\son[a-z]+=", r.text)                   # no inline handlers to allow
    links = set(re.findall(r'(?:href|src)="([^"#:]+)"', r.text))
    assert any(link.endswith("plotly.min.js") for link in links)
    for link in links - {l for l in links if l.endswith(".pdf")}:      # published without PDFs here
        target = urljoin(url, link)
        got = c.get(target)
        assert got.status_code in (200, 303), (link, target, got.status_code)
        if link.endswith(".js"):
            assert got.headers["content-type"].startswith("text/javascript")


def test_another_la_cannot_fetch_the_pack_or_the_overview(site):
    url = _pack_url(site.signed_in(USERS["la_a"]), "301")
    b = site.signed_in(USERS["la_b"])
    assert b.get(url).status_code == 404
    assert b.get(url.replace(".html", "-figures.csv")).status_code == 404
    assert b.get(f"/packs/{PERIOD}/overview.html").status_code == 404
    assert "301-" not in b.get("/la/302").text


def test_dfe_sees_the_overview_support_view_and_any_pack(site):
    d = site.signed_in(USERS["dfe"])
    assert d.get(f"/packs/{PERIOD}/overview.html").status_code == 200
    status = d.get(f"/dfe?period={PERIOD}").text
    for view in re.findall(r'href="(/packs/dfe/[^"]+)"', status):
        assert d.get(view).status_code == 200
    assert d.get(_pack_url(d, "808")).status_code == 200


def test_outstanding_queries_come_from_the_published_copy(site, sample_warehouse):
    import duckdb

    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        expected = con.execute(
            "select count(*) from raw.findings f join raw.submissions s using (submission_id) "
            "where s.la_code = '808' and f.level = 'query' and not coalesce(f.resolved, false) "
            "and s.status <> 'rejected'").fetchone()[0]
    page = site.signed_in("c@la808.example.gov.uk").get("/la/808").text
    if expected:
        assert "Queries without a reason" in page
    else:
        assert "every query has a reason" in page


def test_every_version_of_a_pack_is_kept_and_served_to_its_la_only(site, sample_warehouse, lsrp_home):
    """A re-issue keeps the version it replaces in <period>/la-v<n>/ (reports/publish.py); the LA's page
    lists both, each serves its own bytes, and no other LA can fetch either."""
    import json

    manifest = lsrp_home / "packs" / PERIOD / "manifest.json"
    man = json.loads(manifest.read_text())
    man["packs"]["301"]["figures_sha256"] = "changed"          # as if 301's figures had changed
    manifest.write_text(json.dumps(man))
    res = publish(sample_warehouse, lsrp_home / "packs", PERIOD, la_codes=["301"], pdf=False, issued=date(2026, 11, 16))
    assert res.versions["301"] == 2
    entry = json.loads(manifest.read_text())["packs"]["301"]
    (kept,) = entry["earlier"]
    assert kept["version"] == 1 and kept["files"]["html"].startswith("la-v1/")
    assert "Version 2" not in (lsrp_home / "packs" / PERIOD / kept["files"]["html"]).read_text()

    c = site.signed_in(USERS["la_a"])
    home = c.get("/la/301").text
    v1 = f"/packs/{PERIOD}/{kept['files']['html']}"
    assert v1 in home and _pack_url(c, "301") in home
    assert "Version 2" not in c.get(v1).text and "Version 2" in c.get(_pack_url(c, "301")).text
    assert c.get(f"/packs/{PERIOD}/{kept['files']['csv']}").status_code == 200
    b = site.signed_in(USERS["la_b"])
    assert b.get(v1).status_code == 404
    assert c.get(f"/packs/{PERIOD}/la-v1/..%2f..%2fmanifest.json").status_code == 404
