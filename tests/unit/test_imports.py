"""The house's shape, read from the imports (ast over ``meterwatch/**.py``).

- the core (every module but ``meterwatch.cli`` and ``meterwatch.adapters``) has no import
  circles, counting imports inside functions too (a lazy import is still an arrow);
- no arrow runs from the core to the CLI or to the AWS adapters;
- no core module imports boto3 at module level (an adapter, or a storage backend when an S3
  lake is opened, imports it where it is used).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "meterwatch"
OUTSIDE_THE_CORE = ("meterwatch.cli", "meterwatch.adapters")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_core(module: str) -> bool:
    return not any(module == o or module.startswith(o + ".") for o in OUTSIDE_THE_CORE)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import of ``path`` outside
    ``if TYPE_CHECKING:`` blocks."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child):
                for orelse in child.orelse:
                    visit(orelse, top)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    found.append((sub if sub in MODULES else base, top))
            inner = top and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), True)
    return found


def _internal(name: str) -> str | None:
    """The meterwatch module an import names (its nearest existing ancestor)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


GRAPH: dict[str, set[str]] = {
    module: {t for name, _ in _imports(path) if (t := _internal(name)) and t != module}
    for module, path in MODULES.items()
}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return out


def _parents(module: str) -> set[str]:
    """A module's enclosing packages: importing it runs their ``__init__`` first, which is
    no arrow the module drew."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def test_the_graph_sees_the_package() -> None:
    assert "meterwatch.detect.pipeline" in MODULES and "meterwatch.cli.app" in MODULES
    assert "meterwatch.settings" in GRAPH["meterwatch.detect.pipeline"]


def test_no_import_circles_in_the_core() -> None:
    core = {
        m: {t for t in targets if _is_core(t) and t not in _parents(m)}
        for m, targets in GRAPH.items()
        if _is_core(m)
    }
    assert _cycles(core) == []


def test_no_arrow_from_the_core_to_the_cli_or_the_adapters() -> None:
    arrows = sorted(
        f"{m} -> {t}"
        for m, targets in GRAPH.items()
        if _is_core(m)
        for t in targets
        if not _is_core(t)
    )
    assert arrows == []


def test_no_core_module_imports_boto3_at_module_level() -> None:
    hits = sorted(
        module
        for module, path in MODULES.items()
        if _is_core(module)
        for name, top in _imports(path)
        if top and name.split(".")[0] in ("boto3", "botocore", "awswrangler")
    )
    assert hits == []
