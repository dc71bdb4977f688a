"""The runtime packages' imports form no cycle, and the CLI is the top of the house.

Read from the source with :mod:`ast`: every ``import``, also those inside functions (a
deferred import is still a dependency), but not those under ``if TYPE_CHECKING:``, which
never run. The check costs no imports and sees what a reader sees. ``storefront_cli.main``
loads the command modules by name (:data:`~storefront_cli.main.COMMAND_MODULES`): that is
the one edge downwards, and it is not an import statement.
"""

from __future__ import annotations

import ast
from pathlib import Path

from storefront_cli.main import COMMAND_MODULES

ROOT = Path(__file__).resolve().parents[3]
RUNTIME_PACKAGES = ("catalog", "indexer", "search_api", "replication", "sandbox", "infra", "loadgen",
                    "storefront_cli")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The runtime module ``name`` refers to (``a.b.C`` -> ``a.b``), or None if not ours."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"))


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for pkg in RUNTIME_PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in files.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block)
                       for stmt in block.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue  # `if TYPE_CHECKING:` imports are for the type checker, not a runtime edge
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{a.name}" for a in node.names] + [base]
            for name in names:
                target = _resolve(name, modules)
                if target is not None and target != mod and not mod.startswith(target + "."):
                    graph[mod].add(target)  # a module importing its own package is no edge
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_deferred_and_relative_imports():
    graph = import_graph()
    assert "sandbox.supervisor" in graph["sandbox.cli"]  # imported inside a function
    assert "sandbox.state" not in graph["sandbox.render"]  # only under `if TYPE_CHECKING:`
    assert len(graph) > 50 and sum(map(len, graph.values())) > 100


def test_runtime_imports_form_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_only_the_command_modules_import_the_cli():
    """Domain code reports progress through ``catalog.progress`` and raises its own errors;
    only the modules ``storefront`` loads as commands use the CLI's errors and bar, and
    ``storefront_cli.errors`` itself depends on nothing of ours."""
    graph = import_graph()
    commands = set(COMMAND_MODULES)
    upward = sorted(f"{m} -> {t}" for m, ts in graph.items() for t in ts
                    if t.startswith("storefront_cli") and not m.startswith("storefront_cli") and m not in commands)
    assert upward == []
    assert graph["storefront_cli.errors"] == set()
    # main loads the command modules by name: one importing main back is the hidden cycle
    assert sorted(m for m in commands if "storefront_cli.main" in graph[m]) == []


def test_unit_tests_import_no_helper_of_a_slower_kind():
    """A unit test runs alone (``make test-unit``): a helper it shares with slower kinds lives
    in ``tests/doubles/`` (or beside the builders), not inside another kind's folder."""
    offending = []
    for path in (ROOT / "tests" / "unit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("tests.integration", "tests.e2e", "tests.infra", "tests.browser")):
                offending.append(f"{path.relative_to(ROOT)}: {node.module}")
    assert offending == []
