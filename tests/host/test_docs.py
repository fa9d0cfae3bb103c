"""Two meta-tests keep the plugin contract honest: every hook is documented with its exact
signature, and every hook is exercised by a test."""
from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest

from taskhub import hookspecs

REPO = Path(__file__).resolve().parents[2]
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "taskhub_spec")]


def signature(name: str) -> str:
    return f"def {name}{inspect.signature(getattr(hookspecs, name))}".replace("'", "")


def test_there_are_hooks():
    assert {"register_tasks", "config_package", "on_epoch_end", "on_fit_end"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_signature(hook):
    docs = (REPO / "docs" / "hooks.md").read_text()
    assert f"## `{hook}`" in docs, f"docs/hooks.md has no section for {hook}"
    assert signature(hook) in docs, f"docs/hooks.md: signature of {hook} should read: {signature(hook)}"


def hook_uses(source: str) -> set[str]:
    """Hooks that ``source`` implements (a function of the hook's name decorated with
    ``hookimpl``, also inside plugin source a test writes as a string) or calls (``.hook.NAME(``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                any(ast.unparse(d).split("(")[0].endswith("hookimpl") for d in node.decorator_list):
            found.add(node.name)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "hook":
            found.add(node.func.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "hookimpl" in node.value:
            try:
                found |= hook_uses(textwrap.dedent(node.value))
            except SyntaxError:
                pass
    return found


TESTED = set().union(*(hook_uses(p.read_text()) for p in (REPO / "tests").rglob("*.py") if p.name != "test_docs.py"))


def test_hook_uses_sees_only_real_implementations():
    fake = "def on_fit_end(run, summary):\n    pass\n# def on_sweep_end(\nx = 'hook.on_fit_start'\n"
    assert hook_uses(fake) == set()
    real = "@taskhub.hookimpl\ndef on_fit_end(run, summary):\n    pass\nhost.hook.on_sweep_end(sweep_dir=d)\n"
    assert hook_uses(real) == {"on_fit_end", "on_sweep_end"}


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    assert hook in TESTED, f"no test implements (with @hookimpl) or calls (.hook.{hook}(...)) the {hook} hook"
