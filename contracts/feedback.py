"""Per-return feedback for the LA: an accessible HTML page and the same findings as JSON.

``write_feedback(result, out_dir) -> (html_path, json_path)``.  The HTML is static (no JavaScript),
GOV.UK-like and plain: language set, a title, a status summary, then one table per level with a
caption and column headers (WCAG 2.1 AA: colour is never the only cue, contrast >= 4.5:1).
The JSON is one element of the ``lsrp validate --format json`` output.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from contracts.inert import visible
from contracts.findings import ACCEPTED, ACCEPTED_WITH_QUERIES, ERROR, QUERY, FileResult

STATUS = {
    ACCEPTED: ("Accepted", "Your return has been accepted. There are no errors or queries."),
    ACCEPTED_WITH_QUERIES: ("Accepted with queries",
                            "Your return has been accepted. Some figures are unusual: for each query, "
                            "check the figure and, if it is right, give the reason in the Notes column, "
                            "then upload the return again."),
    "rejected": ("Rejected", "Your return cannot be accepted until the errors below are fixed. "
                             "Fix every error, then upload the return again."),
}

CSS = """
body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;background:#fff;margin:0;line-height:1.4}
main{max-width:1100px;margin:0 auto;padding:1.5rem;overflow-wrap:anywhere}
h1{font-size:2rem;margin:0 0 1rem}h2{font-size:1.5rem;margin:2rem 0 .75rem}
.panel{border:5px solid #0b0c0c;padding:1rem 1.25rem;margin:1rem 0}
.panel.accepted{border-color:#00703c}.panel.accepted_with_queries{border-color:#12436D}
.panel.rejected{border-color:#d4351c}
.panel p.status{font-size:1.5rem;font-weight:bold;margin:0 0 .5rem}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}
caption{text-align:left;font-weight:bold;font-size:1.2rem;padding:.5rem 0}
th,td{border-bottom:1px solid #b1b4b6;padding:.5rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f2f1}
.tag{display:inline-block;padding:.1rem .4rem;font-weight:bold;border:2px solid currentColor}
.tag.error{color:#942514}.tag.query{color:#12436D}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.25rem 1rem}dt{font-weight:bold}
dd{margin:0;min-width:0}
code{font-family:Consolas,Menlo,monospace}
.table-wrap{overflow-x:auto;max-width:100%}
@media (max-width:640px){
  main{padding:1rem .75rem}h1{font-size:1.5rem}
  dl{grid-template-columns:minmax(0,1fr)}dd{margin-bottom:.5rem}
  th,td{padding:.4rem .25rem;font-size:.9rem}
}
"""


def _esc(v: object) -> str:
    """Escaped, and any control or bidi character (a file name's, say) shown as [U+XXXX]."""
    return "" if v is None else html.escape(visible(str(v)))


def _plural(level: str, n: int) -> str:
    if level == ERROR:
        return "error" if n == 1 else "errors"
    return "query" if n == 1 else "queries"


def feedback_json(result: FileResult) -> dict:
    """The JSON document: one element of the CLI's {"files": [...]} list."""
    return result.to_dict()


def render_html(result: FileResult) -> str:
    title, summary = STATUS[result.status]
    n_unres = sum(1 for q in result.queries if not q.resolved)
    parts = [
        "<!DOCTYPE html>", '<html lang="en-GB">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}: {_esc(result.file)} - LSRP quarterly return feedback</title>",
        f"<style>{CSS}</style>", "</head>", "<body>", "<main>",
        "<h1>Local SEND Reform Plan: quarterly return feedback</h1>",
        f'<div class="panel {result.status}" role="status">',
        f'<p class="status">Status: {_esc(title)}</p>', f"<p>{_esc(summary)}</p>", "</div>",
        "<dl>", f"<dt>File</dt><dd><code>{_esc(result.file)}</code></dd>",
    ]
    if result.content is not None:
        c = result.content
        parts.append(f"<dt>Local authority</dt><dd>{_esc(c.la_code)} {_esc(c.la_name)}</dd>")
        parts.append(f"<dt>Period</dt><dd>{_esc(c.quarter)} {_esc(c.year)}</dd>")
    parts += [f"<dt>Errors</dt><dd>{len(result.errors)}</dd>",
              f"<dt>Queries</dt><dd>{len(result.queries)} ({n_unres} without a reason)</dd>"]
    if result.sha256:
        parts.append(f"<dt>File fingerprint (SHA-256)</dt><dd><code>{_esc(result.sha256)}</code></dd>")
    parts.append("</dl>")
    for level, items, heading in ((ERROR, result.errors, "Errors: must be fixed"),
                                  (QUERY, result.queries, "Queries: check, then amend or give a reason")):
        if not items:
            continue
        parts += [f"<h2>{heading}</h2>", '<div class="table-wrap">', '<table class="findings">',
                  f"<caption>{len(items)} {_plural(level, len(items))} in this return</caption>",
                  "<thead><tr>" + "".join(f'<th scope="col">{h}</th>' for h in
                                          ("Level", "Rule", "Sheet", "Cell", "Value", "Message", "Reason given"))
                  + "</tr></thead>", "<tbody>"]
        for f in items:
            reason = "Not applicable" if level == ERROR else ("Yes" if f.resolved else "No")
            parts.append(
                "<tr>"
                f'<td data-label="Level"><span class="tag {level}">{level.title()}</span></td>'
                f'<td data-label="Rule">{_esc(f.rule)}</td><td data-label="Sheet">{_esc(f.sheet)}</td>'
                f'<td data-label="Cell">{_esc(f.cell)}</td><td data-label="Value">{_esc(f.to_dict()["value"])}</td>'
                f'<td data-label="Message">{_esc(f.message)}</td><td data-label="Reason given">{reason}</td>'
                "</tr>")
        parts += ["</tbody>", "</table>", "</div>"]
    parts += ["<p>Check your file before sending with <code>lsrp validate &lt;file&gt;</code>.</p>",
              "</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def write_feedback(result: FileResult, out_dir: Path | str, stem: str | None = None) -> tuple[Path, Path]:
    """Write ``<stem>.html`` and ``<stem>.json`` (stem: the file name without extension, then the
    first 12 characters of its SHA-256 when known, so resubmissions never overwrite)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if stem is None:
        stem = Path(result.file).stem or "return"
        if result.sha256:
            stem = f"{stem}-{result.sha256[:12]}"
    html_path, json_path = out / f"{stem}.html", out / f"{stem}.json"
    html_path.write_text(render_html(result), encoding="utf-8")
    json_path.write_text(json.dumps(feedback_json(result), indent=2, ensure_ascii=False), encoding="utf-8")
    return html_path, json_path


HELD_MARK = '<div class="panel held" role="alert" id="held">'


def annotate_held(paths: list[str | Path], reason: str, held_at: str) -> None:
    """Say in an accepted upload's feedback that a publication held it back (pipeline/holds.py): the
    JSON gains ``held`` {at, reason}; the HTML a notice after its heading.  Idempotent."""
    for p in map(Path, paths):
        if not p.exists():
            continue
        if p.suffix == ".json":
            doc = json.loads(p.read_text(encoding="utf-8"))
            doc["held"] = {"at": held_at, "reason": reason}
            p.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
        elif p.suffix == ".html":
            html = p.read_text(encoding="utf-8")
            if HELD_MARK in html:
                continue
            notice = (f"{HELD_MARK}<p class=\"status\">Held back by DfE's warehouse checks ({_esc(held_at[:10])})</p>"
                      f"<p>{_esc(reason)}</p><p>The quarter was published without this return: your pack shows "
                      "your previous accepted return for the quarter, or only the data DfE holds.</p></div>")
            p.write_text(html.replace("</h1>", "</h1>" + notice, 1), encoding="utf-8")
