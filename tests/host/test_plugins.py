"""The plugin host: entry-point loading, TASKHUB_PLUGINS, broken plugins, the task registry."""
from __future__ import annotations

import json

import pytest

import taskhub
from taskhub.plugins import Host, get_host, reset_host
from taskhub.testing import cli


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
    for impl in host.pm.hook.register_tasks.get_hookimpls():
        impl.function(register=host._registrar(impl.plugin_name))
    assert host.tasks["dup"].task_cls in (First, Second)
    assert "already registered" in caplog.text


def test_unknown_task_suggests_closest(fresh_host):
    with pytest.raises(taskhub.UserError, match="did you mean 'vision'"):
        get_host().task_class("visoin")


def test_plugins_json_lists_vision_contributions():
    result = cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    vision = plugins["vision"]
    assert vision["tasks"] == ["vision"]
    assert {"mlp", "cnn", "resnet", "torchvision"} <= set(vision["models"]["vision"])
    assert {"shapes", "mnist", "fashion_mnist", "cifar10", "imagefolder"} <= set(vision["datasets"]["vision"])
    assert {"accuracy", "f1_macro"} <= set(vision["metrics"]["vision"])
    assert vision["version"] and "register_tasks" in vision["hooks"]
