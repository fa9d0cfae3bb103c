"""Two meta-tests keep the plugin contract honest: every hook is documented with its exact
signature, and every hook is exercised by a test."""
from __future__ import annotations

import inspect
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


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook):
    tests = [p for p in (REPO / "tests").rglob("test_*.py") if p.name != "test_docs.py"]
    assert any(f"def {hook}(" in p.read_text() or f"hook.{hook}" in p.read_text() for p in tests), \
        f"no test implements or calls the {hook} hook"
