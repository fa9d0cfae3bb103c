"""The plugin host: entry-point loading, TASKHUB_PLUGINS, broken plugins, the task registry."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import taskhub
from taskhub.cli import main
from taskhub.plugins import Host, get_host, reset_host


@pytest.fixture
def fresh_host(monkeypatch):
    reset_host()
    yield
    reset_host()


def test_builtin_plugins_load_through_entry_points(fresh_host):
    host = get_host()
    assert "vision" in host.plugins and host.plugins["vision"].error is None
    assert host.tasks["vision"].plugin == "vision"
    assert host.plugins["vision"].distribution == "taskhub-dl"


def test_taskhub_plugins_env_loads_only_named(fresh_host, monkeypatch):
    monkeypatch.setenv("TASKHUB_PLUGINS", "vision")
    host = get_host()
    assert list(host.plugins) == ["vision"]
    assert set(host.tasks) == {"vision"}


def test_duplicate_task_name_keeps_first_and_warns(caplog):
    class First(taskhub.Task):
        name = "dup"

    class Second(taskhub.Task):
        name = "dup"

    class PluginA:
        @taskhub.hookimpl
        def register_tasks(self, register):
            register(First)

    class PluginB:
        @taskhub.hookimpl
        def register_tasks(self, register):
            register(Second)

    host = Host()
    for name, plugin in (("a", PluginA()), ("b", PluginB())):
        host.pm.register(plugin, name=name)
    # pluggy calls the last registered implementation first: b registers "dup", then a is refused.
    impls = host.pm.hook.register_tasks.get_hookimpls()
    assert [impl.plugin_name for impl in impls] == ["a", "b"]
    for impl in reversed(impls):
        impl.function(register=host._registrar(impl.plugin_name))
    assert host.tasks["dup"].task_cls is Second and host.tasks["dup"].plugin == "b"
    assert "task 'dup' from plugin 'a' ignored: plugin 'b' already registered it" in caplog.text


def test_unknown_task_suggests_closest(fresh_host):
    with pytest.raises(taskhub.UserError, match="did you mean 'vision'"):
        get_host().task_class("visoin")


def test_plugins_json_lists_vision_contributions(capsys):
    assert main(["plugins", "--json"]) == 0
    plugins = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    vision = plugins["vision"]
    assert vision["tasks"] == ["vision"]
    assert {"mlp", "cnn", "resnet", "torchvision"} <= set(vision["models"]["vision"])
    assert {"shapes", "mnist", "fashion_mnist", "cifar10", "imagefolder"} <= set(vision["datasets"]["vision"])
    assert {"accuracy", "f1_macro"} <= set(vision["metrics"]["vision"])
    assert vision["objective"]["vision"] == ["val/accuracy", "max"]
    assert vision["version"] and "register_tasks" in vision["hooks"]
    # the sweep plugin contributes its groups to every task but owns none
    assert plugins["sweep"]["tasks"] == [] and "vision" not in plugins["sweep"]["models"]


def test_builtin_registrations_match_their_classes(fresh_host):
    """What a plugin declares for listings (by import path) is what its class says."""
    for name, entry in get_host().tasks.items():
        assert isinstance(entry.target, str), f"{name} is registered by class: listing would import it"
        cls = entry.task_cls
        assert cls.name == name and entry.configs == f"taskhub_{name}.configs"
        assert entry.metrics == tuple(cls.metrics) and entry.objective == tuple(cls.objective)


def test_listing_and_help_import_no_task_module():
    """The process boundary is the point: a fresh interpreter's modules after listing and --help."""
    code = textwrap.dedent("""
        import contextlib, io, json, sys
        from taskhub.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as listing:
            assert main(["plugins", "--json"]) == 0
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main(["--help"])
            except SystemExit:
                pass
        assert {p["name"] for p in json.loads(listing.getvalue())} >= {"vision", "sweep"}
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "torchmetrics", "hydra", "optuna")
                       or (m.startswith("taskhub_") and m.endswith(".task")))
        print(json.dumps(heavy))
        """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_task_registered_by_path_is_imported_on_first_use(tmp_path, monkeypatch):
    pkg = tmp_path / "lazy_plugin_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "task.py").write_text("import taskhub\n\nclass LazyTask(taskhub.Task):\n    name = 'lazy'\n"
                                 "    metrics = ('mae',)\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Plugin:
        @taskhub.hookimpl
        def register_tasks(self, register):
            register("lazy_plugin_pkg.task:LazyTask", name="lazy", metrics=("mae",), configs="lazy_plugin_pkg")
            register("lazy_plugin_pkg.missing:Nope", name="broken")

    host = Host()
    host.pm.register(Plugin(), name="lazy")
    for impl in host.pm.hook.register_tasks.get_hookimpls():
        impl.function(register=host._registrar(impl.plugin_name))
    assert "lazy_plugin_pkg.task" not in sys.modules
    assert host.tasks["lazy"].declared_metrics == ("mae",)
    assert host.config_packages("lazy") == [("lazy", "lazy_plugin_pkg")]
    assert "lazy_plugin_pkg.task" not in sys.modules
    assert host.task_class("lazy").__name__ == "LazyTask" and "lazy_plugin_pkg.task" in sys.modules
    with pytest.raises(taskhub.UserError, match=r"task 'broken' \(plugin 'lazy'\) cannot be imported from "
                                                 r"lazy_plugin_pkg.missing:Nope: ModuleNotFoundError"):
        host.task_class("broken")
    with pytest.raises(ValueError, match="name="):
        host._registrar("lazy")("lazy_plugin_pkg.task:LazyTask")
