"""The house's boundaries, checked on the source: the host never imports a plugin, and a plugin
imports only taskhub's public API and never another plugin."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PUBLIC = {"taskhub", "taskhub.data", "taskhub.testing", "taskhub.plots", "taskhub.run_state"}
PLUGINS = sorted(p for p in (REPO / "plugins").iterdir() if p.is_dir() and p.name.startswith("taskhub_"))


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_host_never_imports_plugins():
    for path in (REPO / "taskhub").rglob("*.py"):
        bad = {n for n in imports(path) if n.split(".")[0].startswith("taskhub_")}
        assert not bad, f"{path.relative_to(REPO)} imports plugin modules {bad}"


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_plugin_uses_public_api_only(plugin):
    for path in plugin.rglob("*.py"):
        for name in imports(path):
            root = name.split(".")[0]
            if root == "taskhub":
                assert name in PUBLIC, f"{path.relative_to(REPO)} imports private host module {name}"
            elif root.startswith("taskhub_"):
                assert root == plugin.name, f"{path.relative_to(REPO)} imports another plugin: {name}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_time_imports(path: Path, modules: set[str]) -> set[str]:
    """The taskhub modules ``path`` imports when it is imported: top-level statements only, not
    those inside functions (lazy imports) or ``if TYPE_CHECKING:`` blocks (annotations only)."""
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If):
                test = ast.unparse(node.test)
                if test not in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module in modules:
                    found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules)

    visit(ast.parse(path.read_text()).body)
    return found


def test_host_modules_import_without_cycles():
    """``taskhub.task`` and the run type used to import each other; no host module may sit on an
    import cycle (imports for type checkers and inside functions do not count)."""
    paths = {module_name(p): p for p in (REPO / "taskhub").rglob("*.py")}
    graph = {name: import_time_imports(path, set(paths)) - {name} for name, path in paths.items()}
    state: dict[str, str] = {}

    def walk(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                cycle = trail[trail.index(other):] + [other] if other in trail else [name, other]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if other not in state:
                walk(other, [*trail, other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert graph["taskhub.run_state"] == {"taskhub.task"}  # Run needs Task; Task names Run for type checkers only


def test_run_type_is_public():
    import taskhub
    from taskhub.engine.run import Run as EngineRun

    assert taskhub.Run is EngineRun and "Run" in taskhub.__all__
    assert callable(taskhub.run)  # the module is run_state: taskhub.run stays the function
