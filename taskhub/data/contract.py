"""The one data contract: every dataset builder returns :class:`Splits`, and the host calls a
builder one way, :func:`build_splits`, which checks the dataset settings against the builder's
signature first (an unknown key or a wrong type is one line with a "did you mean").
"""
from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from taskhub.errors import UserError, did_you_mean

if TYPE_CHECKING:
    from omegaconf import DictConfig

#: Keys of a dataset config that the engine reads (batching), never the builder.
LOADER_KEYS = ("batch_size", "eval_batch_size", "num_workers", "pin_memory")


@dataclass
class Splits:
    """The datasets of one run, as every dataset builder returns them.

    ``info`` carries what the task and its ``auto`` settings need from the data: label names,
    channels, image sizes, lengths... (plain values). ``skipped`` maps a reason to the files or
    rows the ``on_bad: skip`` policy left out, for the data check and the run's log.
    ``collate`` batches items of streamed (non in-memory) datasets.
    """

    train: Any = None
    val: Any = None
    test: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    collate: Callable[[list[Any]], Any] | None = None
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        """Examples per split (splits that are absent are left out)."""
        return {name: len(ds) for name in ("train", "val", "test") if (ds := getattr(self, name)) is not None}


def builder_of(target: str) -> Callable[..., Any]:
    """The callable a dataset config's ``_target_`` names."""
    from hydra.utils import get_method

    return get_method(target)


def build_splits(dataset_cfg: DictConfig, *, setting: str = "dataset", **extra: Any) -> Splits:
    """Call the builder that ``dataset_cfg._target_`` names with the config's settings.

    Loader keys (``batch_size``...) are checked and left for the engine; every other key must be
    a parameter of the builder, of the annotated type. ``extra`` are arguments the task adds
    (never from the user). The builder must return :class:`Splits`.
    """
    from omegaconf import OmegaConf

    check_loader_settings(dataset_cfg, setting)
    target = dataset_cfg.get("_target_")
    if not target:
        raise UserError(f"{setting} has no _target_: choose a dataset ({setting}=NAME)")
    builder = builder_of(str(target))
    # Names first: a typo (+dataset.rot=...) is named even when a required key is still unset.
    names = [str(k) for k in dataset_cfg.keys() if str(k) not in LOADER_KEYS and not str(k).startswith("_")]
    check_arguments(builder, {k: None for k in names}, setting)
    missing = sorted(k.removeprefix(f"{setting}.") for k in OmegaConf.missing_keys(dataset_cfg))
    missing = [k for k in missing if k.split(".")[0] not in LOADER_KEYS]
    if missing:
        key = f"{setting}.{missing[0]}"
        raise UserError(f"{key} must be set for this dataset: pass {key}=...")
    data = OmegaConf.to_container(dataset_cfg, resolve=True)
    assert isinstance(data, dict)
    kwargs = {k: v for k, v in data.items() if k not in LOADER_KEYS and not k.startswith("_")}
    check_arguments(builder, kwargs, setting)
    result = builder(**kwargs, **extra)
    if not isinstance(result, Splits):
        raise TypeError(f"dataset builder {target} returned {type(result).__name__}, not taskhub.data.Splits")
    return result


def check_settings(dataset_cfg: DictConfig, setting: str = "dataset", own: tuple[str, ...] = ()) -> None:
    """The checks :func:`build_splits` makes before it reads any data, for the engine to make before
    ``Task.build_data``: loader settings, then every key's name and (set) value against the builder's
    signature. A task that reads files before calling its builder still reports a typo first. ``own``:
    keys the task reads itself (``Task.dataset_keys``); ``auto`` values are the task's to resolve.
    Configs whose ``_target_`` is not importable are left to the task."""
    from omegaconf import OmegaConf

    check_loader_settings(dataset_cfg, setting)
    target = dataset_cfg.get("_target_") if "_target_" in dataset_cfg else None
    if not target:
        return
    try:
        builder = builder_of(str(target))
    except Exception:
        return
    try:
        data = OmegaConf.to_container(dataset_cfg, resolve=True, throw_on_missing=False)
    except Exception:  # an interpolation to an unset key: names only
        data = {str(k): None for k in dataset_cfg.keys()}
    assert isinstance(data, dict)
    from taskhub.task import is_auto

    kwargs = {k: (None if v == "???" or is_auto(v) else v) for k, v in data.items()
              if k not in LOADER_KEYS and k not in own and not str(k).startswith("_")}
    check_arguments(builder, kwargs, setting)


def check_arguments(fn: Callable[..., Any], kwargs: dict[str, Any], setting: str) -> None:
    """One line for a key ``fn`` does not take or a value of the wrong type."""
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    names = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: check names only
        hints = {}
    for key, value in kwargs.items():
        if key not in params:
            if takes_any:
                continue
            raise UserError(f"{setting}.{key}: this dataset has no such setting{did_you_mean(key, names)}; "
                            f"its settings are: {', '.join(names)}")
        hint = hints.get(key)
        if hint is not None and value is not None and not _matches(value, hint):
            raise UserError(f"{setting}.{key}={value!r}: expected {_describe(hint)}")


def check_loader_settings(dataset_cfg: DictConfig, setting: str = "dataset") -> None:
    """Batch sizes positive integers, workers a non-negative integer."""
    for key, least in (("batch_size", 1), ("eval_batch_size", 1), ("num_workers", 0)):
        value = dataset_cfg.get(key) if key in dataset_cfg else None
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            need = "a positive integer" if least else "an integer >= 0"
            raise UserError(f"{setting}.{key}={value!r}: expected {need}")


def _matches(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any or hint is object:
        return True
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in (list, tuple, typing.Sequence, __import__("collections.abc").abc.Sequence):
        return isinstance(value, (list, tuple))
    if origin in (dict, typing.Mapping, __import__("collections.abc").abc.Mapping):
        return isinstance(value, dict)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "null"
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    if hint in names:
        return names[hint]
    if origin in (list, tuple) or origin is not None and "Sequence" in str(origin):
        return "a list"
    return getattr(hint, "__name__", str(hint))
