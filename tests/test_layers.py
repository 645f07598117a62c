"""Layers only look down: contracts <- pipeline <- portal, and reports read marts.  Parsed with ast, so an import
inside a function counts as much as one at the top of a module (that is how cycles hide)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("contracts", "pipeline", "reports", "portal", "synthetic", "forecasting")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module an imported name lives in (``contracts.rules.RULES`` -> ``contracts.rules``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules that ``module`` imports anywhere in its body (top level or inside functions)."""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:   # relative: from the module's package, up level-1 more
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from pkg import sub` imports the submodule; `from mod import name` imports mod
            names = [f"{prefix}.{a.name}" for a in node.names]
        else:
            continue
        for n in names:
            target = _resolve(n, known)
            if target and target != module:
                out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_graph_sees_function_level_and_relative_imports():
    """The parser itself can fail: known edges of each kind are found."""
    g = import_graph()
    assert "contracts.validate" in g["contracts.isolation"]          # inside a function
    assert "reports.common" in g["reports.pack"]                      # relative `from .common import`
    assert "reports.publish" in g["reports"]                          # `from reports import publish`
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer", ["contracts", "reports"])
def test_lower_layers_import_nothing_from_pipeline(layer):
    bad = {m: sorted(t for t in ts if t.split(".")[0] == "pipeline")
           for m, ts in import_graph().items() if m.split(".")[0] == layer}
    assert {m: ts for m, ts in bad.items() if ts} == {}


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_nothing_below_the_portal_imports_it():
    """The portal looks down on pipeline, contracts and reports, never the reverse.  The one exception
    is the command line (``lsrp users`` hands its arguments to portal.users_cli)."""
    bad = {m: sorted(t for t in ts if t.split(".")[0] == "portal")
           for m, ts in import_graph().items() if m.split(".")[0] != "portal" and m != "pipeline.cli"}
    assert {m: ts for m, ts in bad.items() if ts} == {}


def test_the_service_never_imports_the_sample_generator():
    """``synthetic`` stands where LAs stand: it writes workbooks the service receives.  Only the commands that
    fill an inbox with it (``lsrp sample``, ``lsrp run --sample``) may call it."""
    allowed = {"pipeline.cli", "pipeline.run"}
    bad = {m: sorted(t for t in ts if t.split(".")[0] == "synthetic")
           for m, ts in import_graph().items() if m.split(".")[0] != "synthetic" and m not in allowed}
    assert {m: ts for m, ts in bad.items() if ts} == {}


def test_the_forecaster_imports_contracts_only():
    """forecasting/ is used by the pipeline, the marts and the reports alike, so it may look down on contracts only."""
    bad = {m: sorted(t for t in ts if t.split(".")[0] not in ("forecasting", "contracts"))
           for m, ts in import_graph().items() if m.split(".")[0] == "forecasting"}
    assert {m: ts for m, ts in bad.items() if ts} == {}
