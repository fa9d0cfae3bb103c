"""Every plugin's dataset configs match their builders (issue 11: dataset=hf could never build).

For each installed ``taskhub`` plugin, every ``configs/dataset/*.yaml`` names a ``_target_`` that
imports, and each of its keys is a parameter of that builder (of the annotated type, where the
YAML gives a literal value) or one of the engine's loader keys. A new loader or a renamed
parameter is checked without a new test.
"""
from __future__ import annotations

import importlib
import inspect
from importlib import metadata, resources

import pytest
from omegaconf import OmegaConf

from taskhub import UserError
from taskhub.data import LOADER_KEYS, check_arguments


def _dataset_configs() -> list[tuple[str, object]]:
    found = []
    for ep in metadata.entry_points(group="taskhub"):
        package = ep.value.split(":")[0].split(".")[0]
        try:
            folder = resources.files(package) / "configs" / "dataset"
        except ModuleNotFoundError:
            continue
        if folder.is_dir():
            found += [(f"{ep.name}/{f.name[:-5]}", f) for f in sorted(folder.iterdir(), key=lambda f: f.name)
                      if f.name.endswith(".yaml")]
    return found


CONFIGS = _dataset_configs()


def test_the_built_in_plugins_have_dataset_configs():
    plugins = {name.split("/")[0] for name, _ in CONFIGS}
    assert {"vision", "detection", "text", "speech", "tabular", "forecast"} <= plugins, plugins


def _literal(value: object) -> bool:
    """A value the YAML fixes (not an interpolation, a required ``???`` or ``auto``, which the task resolves)."""
    return not (isinstance(value, str) and (value.startswith("${") or value in ("???", "auto")))


def _task_keys(plugin: str) -> set[str]:
    """Dataset settings the plugin's tasks read themselves (``Task.dataset_keys``), not their builders."""
    from taskhub.plugins import get_host

    host = get_host()
    info = host.plugins.get(plugin)
    return {key for task in (info.tasks if info else []) for key in host.task_class(task).dataset_keys}


@pytest.mark.parametrize("name,path", CONFIGS, ids=[n for n, _ in CONFIGS])
def test_dataset_config_keys_are_builder_parameters(name, path):
    cfg = OmegaConf.create(path.read_text(encoding="utf-8"))
    target = cfg.get("_target_")
    assert target, f"{name}: no _target_"
    module, _, attr = str(target).rpartition(".")
    builder = getattr(importlib.import_module(module), attr)
    params = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    data = OmegaConf.to_container(cfg, resolve=False)
    keys = [k for k in data if not k.startswith("_") and k not in LOADER_KEYS and k not in _task_keys(name.split("/")[0])]
    unknown = [k for k in keys if k not in params and not takes_any]
    assert not unknown, f"{name}.yaml: {unknown} are not parameters of {target}{tuple(params)}"
    literal = {k: data[k] for k in keys if _literal(data[k])}
    try:
        check_arguments(builder, literal, f"{name}.yaml")
    except UserError as exc:
        pytest.fail(f"{name}.yaml: a value does not fit {target}'s annotation: {exc}")
