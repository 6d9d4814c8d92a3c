"""The package's layout: imports point one way (no cycle, counting the imports written inside
functions too), and no module imports another module's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import ceneurovae

ROOT = Path(ceneurovae.__file__).resolve().parent
PACKAGE = "ceneurovae"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom | ast.Import) -> list[tuple[str, str | None, bool]]:
    """(module imported, name imported from it or None, whether it is private) per target."""
    out = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == PACKAGE:
                out.append((alias.name, None, False))
        return out
    if node.level:
        is_pkg = MODULES[importer].name == "__init__.py"
        base = importer.split(".")
        base = base if is_pkg else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != PACKAGE:
        return out
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        if sub in MODULES:  # `from pkg import module`
            out.append((sub, None, False))
        else:
            dunder = alias.name.startswith("__") and alias.name.endswith("__")
            out.append((target, alias.name, alias.name.startswith("_") and not dunder))
    return out


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    private: list[str] = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # module level and inside functions alike
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target, imported, is_private in resolve(name, node):
                if target not in MODULES:
                    continue
                graph[name].add(target)
                parent = target.rsplit(".", 1)[0]
                outside = not (name == parent or name.startswith(parent + "."))
                if is_private:
                    private.append(f"{name} imports {target}.{imported}")
                elif target.rsplit(".", 1)[-1].startswith("_") and target.rsplit(".", 1)[-1] != "__init__" and outside:
                    private.append(f"{name} imports the private module {target}")
    return graph, private


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the list of its modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            # a package's __init__ importing its own submodules is how packages are built
            if n == m:
                continue
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle_even_through_imports_inside_functions():
    graph, _ = import_graph()
    assert len(graph) > 40  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_module_imports_another_modules_private_names():
    _, private = import_graph()
    assert private == []


def test_the_bottom_layers_import_nothing_above_them():
    graph, _ = import_graph()

    def reach(m: str, seen: set[str] | None = None) -> set[str]:
        seen = set() if seen is None else seen
        for n in graph[m]:
            if n not in seen:
                seen.add(n)
                reach(n, seen)
        return seen

    above = {f"{PACKAGE}.{m}" for m in ("api", "trained", "calibration", "training", "evaluation", "report", "cli", "tune")}
    for low in (f"{PACKAGE}.model", f"{PACKAGE}.io", f"{PACKAGE}.data", f"{PACKAGE}.inference"):
        reached = {r for r in reach(low) if any(r == a or r.startswith(a + ".") for a in above)}
        assert reached == set(), f"{low} reaches {sorted(reached)}"


# Old module paths kept for users (the seed's among them): they only re-export.
COMPATIBILITY = {f"{PACKAGE}.{m}" for m in ("train", "optimizer", "checkpoint", "distributed", "import_data",
                                            "metrics", "baselines", "evaluate", "controls", "simulate", "sim_model")}


def test_compatibility_modules_only_re_export_and_nothing_inside_uses_them():
    graph, _ = import_graph()
    users = sorted(m for m, targets in graph.items() if targets & COMPATIBILITY and m not in COMPATIBILITY)
    assert users == [], users
    for name in COMPATIBILITY:
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        kinds = {type(n).__name__ for n in body}
        assert kinds <= {"ImportFrom", "Import", "Assign"}, (name, kinds)
        assigns = [n for n in body if isinstance(n, ast.Assign)]
        assert all(t.id == "__all__" for n in assigns for t in n.targets), name
