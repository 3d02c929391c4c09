"""The house of rlzoo_real at a glance: module sizes and the import graph.

    python scripts/house.py sizes   # lines per module, largest first; over 500 flagged
    python scripts/house.py graph   # each module and the rlzoo_real modules it imports;
                                    # import circles listed at the end

Reads the source files only (the standard library's ``ast``): nothing is imported, so it
runs in a second and needs no installed dependency. Imports inside functions count too
(they are how heavy modules stay lazy, and they still tie the modules together).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "rlzoo_real"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
#: A module longer than this is flagged (the house's rule: about 500 lines at most).
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def sizes() -> int:
    found = modules()
    rows = sorted(
        ((len(p.read_text().splitlines()), name) for name, p in found.items()), reverse=True
    )
    width = max(len(name) for name in found)
    for lines, name in rows:
        flag = f"  <- over {MAX_LINES}" if lines > MAX_LINES else ""
        print(f"{lines:6d}  {name:<{width}}{flag}".rstrip())
    over = sum(lines > MAX_LINES for lines, _ in rows)
    total = sum(lines for lines, _ in rows)
    print(f"{total:6d}  lines in {len(rows)} modules; {over} over {MAX_LINES}")
    return 0


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports (``from x import y`` counts y if a module)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            # the deepest known module that the target names (a.b.c -> a.b when c is a name)
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith(PACKAGE):
                found.add(target)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def graph() -> int:
    found = modules()
    known = set(found)
    # a package's __init__ re-exporting its modules is not a dependency of those modules
    edges = {
        name: {t for t in imports_of(name, path, known) if not _is_parent_package(t, name)}
        for name, path in found.items()
    }
    for name in sorted(edges):
        targets = ", ".join(t.removeprefix(PACKAGE + ".") for t in sorted(edges[name]))
        print(f"{name} -> {targets or '(nothing of the package)'}")
    groups = circles(edges)
    print()
    if not groups:
        print("No import circles.")
    for group in groups:
        print(f"Import circle: {' <-> '.join(group)}")
    return 0


def _is_parent_package(target: str, name: str) -> bool:
    return name.startswith(target + ".")


def main(argv: list[str]) -> int:
    commands = {"sizes": sizes, "graph": graph}
    if len(argv) != 1 or argv[0] not in commands:
        print(f"usage: python scripts/house.py {{{'|'.join(commands)}}}", file=sys.stderr)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
