"""The dependency direction drawn in README's "Layout" section, checked on the source.

Every module of ``idp/`` and ``consent/`` is parsed with :mod:`ast`; every import in it
counts, at module level, under ``if TYPE_CHECKING:`` and inside functions alike (an import
moved into a function to get round a cycle is still a dependency). The graph is collapsed
to packages: ``idp.X`` for each subpackage or top-level module of ``idp`` (``idp`` itself
is the app factory), and ``consent`` as one. That graph must have no cycle, and
``consent/`` must import nothing from ``idp``, Flask or Authlib.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = ("idp", "consent")
STANDALONE_FORBIDDEN = ("idp", "flask", "flask_babel", "flask_login", "flask_wtf", "authlib")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for top in TOP for p in sorted((ROOT / top).rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """The modules ``name`` imports, each with the line of the import."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from idp import signing`` imports the module idp.signing;
                # ``from idp import create_app`` imports from idp itself.
                sub = f"{source}.{alias.name}"
                yield (sub if sub in known else source), node.lineno


def package_of(module: str) -> str | None:
    """``idp.oauth.tokens`` -> ``idp.oauth``; ``idp`` -> ``idp``; ``consent.x`` -> ``consent``."""
    parts = module.split(".")
    if parts[0] == "consent":
        return "consent"
    if parts[0] == "idp":
        return ".".join(parts[:2])
    return None


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the imports that make the edge ("file:line module")."""
    found = modules()
    known = set(found)
    graph: dict[str, dict[str, list[str]]] = {}
    for name, path in found.items():
        here = package_of(name)
        assert here is not None
        graph.setdefault(here, {})
        for target, line in imported(name, path, known):
            there = package_of(target)
            if there is None or there == here:
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            graph[here].setdefault(there, []).append(where)
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """A cycle as a path ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def tangles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The groups of packages that reach each other (strongly connected, Tarjan), largest
    first: every cycle lies inside one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(groups, key=len, reverse=True)


def describe(graph: dict[str, dict[str, list[str]]], cycle: list[str]) -> str:
    lines = [" -> ".join(cycle)]
    for a, b in zip(cycle, cycle[1:], strict=False):
        lines.append(f"  {a} -> {b}: " + "; ".join(graph[a][b]))
    lines += ["packages that reach each other:"] + ["  " + ", ".join(g) for g in tangles(graph)]
    return "\n".join(lines)


def test_the_package_graph_has_no_cycle() -> None:
    graph = package_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "packages import each other in a cycle:\n" + describe(graph, cycle)


def test_consent_imports_nothing_of_idp_flask_or_authlib() -> None:
    found = modules()
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in found.items()
        if name.split(".")[0] == "consent"
        for target, line in imported(name, path, set(found))
        if target.split(".")[0] in STANDALONE_FORBIDDEN
    ]
    assert not bad, "consent/ must stand alone:\n" + "\n".join(bad)


def test_the_check_finds_a_cycle() -> None:
    """The search itself: a cycle two steps away from the start is reported with its path."""
    graph = {"a": {"b": ["x"]}, "b": {"c": ["y"]}, "c": {"b": ["z"]}}
    assert find_cycle(graph) == ["b", "c", "b"]
    assert find_cycle({"a": {"b": ["x"]}, "b": {}}) is None
    assert tangles(graph) == [["b", "c"]]
