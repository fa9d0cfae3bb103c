"""The house's boundaries, checked on the source: the host never imports a plugin, and a plugin
imports only taskhub's public API and never another plugin."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PUBLIC = {"taskhub", "taskhub.data", "taskhub.testing", "taskhub.plots"}
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
