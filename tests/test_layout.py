"""The tree reads as the data flow, and dependencies point one way (README, "Layout").

    dags, cli and the rest of totalplace (transform, site, services, ops jobs)
      -> totalplace.ingest (one module per stage)
        -> connectors (bytes in, files read), expectations (suites and SQL checks)
          -> core (settings, contracts, registry, warehouse, access, ...)
    devtools (demo, generators, benchmark, fault injection) on top: nothing of the platform imports it.

Read from the source (every import, at module level or inside a function), so a lazy import that
would hide a cycle at run time is counted too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from totalplace.settings import PROJECT_ROOT

CORE = {"settings", "contracts", "partners", "warehouse", "access", "state", "reports", "mappings", "agreements",
        "alerts", "identifiers"}
"""Modules of ``totalplace/`` that everything may use and that use nothing above them."""

RANK = {"core": 0, "connectors": 1, "expectations": 1, "ingest": 2, "platform": 3, "dags": 4, "devtools": 5}
STAGES = ["receive", "read", "pseudonymise", "land", "gate", "publish", "rerun"]


def layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] in ("connectors", "expectations", "devtools", "dags"):
        return parts[0]
    if parts[0] != "totalplace":
        return None  # a third-party or standard module
    if len(parts) == 1:
        return "core"  # the package itself (its __init__ is empty)
    if len(parts) > 1 and parts[1] == "ingest":
        return "ingest"
    if len(parts) > 1 and parts[1] in CORE:
        return "core"
    return "platform"


def module_name(path: Path) -> str:
    rel = path.relative_to(PROJECT_ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (``from a import b`` counts as a.b when b is a module of ours)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if layer(m) is not None and _exists(m)}


def _exists(module: str) -> bool:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = [p for folder in ("totalplace", "connectors", "expectations", "dags", "devtools")
             for p in (PROJECT_ROOT / folder).rglob("*.py")]
    return {module_name(p): imports_of(p) for p in files}


def test_every_import_points_down_the_layers(graph):
    upward = [f"{m} ({layer(m)}) imports {d} ({layer(d)})" for m, deps in graph.items() for d in deps
              if RANK[layer(d)] > RANK[layer(m)]]
    assert not upward, "imports against the flow:\n" + "\n".join(sorted(upward))


def test_connectors_and_expectations_do_not_import_each_other_in_a_circle(graph):
    def reaches(a: str, b: str) -> bool:
        return any(layer(d) == b for m, deps in graph.items() if layer(m) == a for d in deps)

    assert not (reaches("connectors", "expectations") and reaches("expectations", "connectors"))
    assert not reaches("connectors", "expectations"), "connectors read bytes; checks are expectations' business"


def test_no_module_imports_itself_back(graph):
    """No cycle among modules (top-level or lazy imports alike): each package can be read bottom-up."""
    ours = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    # a package's __init__ re-exporting its modules is not a cycle of theirs
    for m in ours:
        ours[m] = {d for d in ours[m] if not (m.startswith(d + ".") and (PROJECT_ROOT.joinpath(*d.split(".")) / "__init__.py").exists())}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(ours[m]):
            if state.get(d) == 1:
                cycles.append(" -> ".join(path[path.index(d):] + [d]) if d in path else f"{m} -> {d}")
            elif d not in state:
                visit(d, [*path, d])
        state[m] = 2

    for m in sorted(ours):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_ingest_has_a_module_per_stage_and_the_runtime_never_imports_devtools(graph):
    for stage in STAGES:
        assert f"totalplace.ingest.{stage}" in graph, f"no module for the {stage} stage"
    runtime = [m for m in graph if layer(m) != "devtools"]
    assert not [m for m in runtime if any(layer(d) == "devtools" for d in graph[m])]
    # the generators, the benchmark and fault injection live in devtools only
    for gone in ("totalplace.generate_data", "totalplace.bench", "totalplace.failpoints", "totalplace.demo"):
        assert gone not in graph


def test_the_checker_sees_an_upward_import(tmp_path, graph):
    """The layer rule is not vacuous: an import of ingest from a connector would be reported."""
    path = PROJECT_ROOT / "connectors" / "header.py"
    assert layer("connectors.header") == "connectors" and layer("totalplace.ingest.land") == "ingest"
    assert RANK[layer("totalplace.ingest.land")] > RANK[layer("connectors.header")]
    fake = tmp_path / "fake.py"
    fake.write_text("from totalplace.ingest.land import load\n", encoding="utf-8")
    assert "totalplace.ingest.land" in imports_of(fake)
    assert path.exists()


AIRFLOW_AT_IMPORT = ("airflow", "totalplace.airflow_triggers", "totalplace.airflow_cluster", "totalplace.celery_config",
                     "dags")


def test_no_test_module_imports_airflow_when_collected():
    """Airflow reads AIRFLOW_HOME when first imported: a test module importing it at collection bound
    every later dag.test() of that pytest worker to a database that did not exist (nine tests failed so).
    Imports of Airflow, or of modules that import it at their top, belong inside the tests."""
    found = []
    for path in (PROJECT_ROOT / "tests").rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(PROJECT_ROOT)}: {n}" for n in names
                      if any(n == m or n.startswith(m + ".") for m in AIRFLOW_AT_IMPORT)]
    assert not found, found
