"""Which ``_target_`` a config that came out of a file may name: a checkpoint is data, never code.

Hydra's ``instantiate`` imports and calls whatever ``_target_`` names, so a config read back from
a checkpoint (``taskhub eval``, ``taskhub predict``, ``taskhub.load``) is checked before anything
is built from it. Allowed: the installed taskhub plugins' packages (the modules their entry points
name, plus what a plugin declares with ``register(TaskClass, trusted=("mypkg.models",))``),
torch, torchvision, torchaudio, torchmetrics, transformers and ``taskhub`` itself, minus a few
callables there that load code (``torch.load``, ``torch.hub``...). ``trust=PREFIX,...`` (a user's
explicit setting) admits more. Configs the user writes (command line, YAML) are never checked.
Prefixes match on module boundaries: ``torch`` admits ``torch.nn.Linear``, not ``torchevil``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from taskhub.errors import UserError

#: Libraries whose classes a checkpoint's config may always build.
LIBRARIES = ("torch", "torchvision", "torchaudio", "torchmetrics", "transformers", "taskhub")

#: Inside those libraries, callables that load or run code from elsewhere (pickles, hub repos,
#: compiled extensions, the taskhub CLI itself): refused unless ``trust`` names them.
DENIED = ("torch.load", "torch.hub", "torch.jit.load", "torch.package", "torch.ops", "torch.utils.cpp_extension",
          "torch.serialization", "torch.classes", "torch._dynamo", "torch.compile", "torch.export.load",
          "taskhub.cli", "taskhub.launch", "taskhub.api", "taskhub.testing", "taskhub.trust",
          "taskhub.engine.checkpoint")

#: Keywords that make a trusted library run code it downloads.
DENIED_KEYWORDS = ("trust_remote_code",)


def parse_trust(value: Any) -> tuple[str, ...]:
    """``trust`` as given (``"a,b"``, a list, None) as a tuple of module prefixes."""
    if value in (None, "", False):
        return ()
    # "a,b", "[a,b]" (Hydra reads a bare a,b on the command line as a sweep) or a list.
    items = value.strip().strip("[]").split(",") if isinstance(value, str) else [str(v) for v in value]
    prefixes = tuple(p.strip().strip("'\"").strip() for p in items if p.strip().strip("'\""))
    for prefix in prefixes:
        if not all(part.isidentifier() for part in prefix.split(".")):
            raise UserError(f"trust={value}: {prefix!r} is not a module prefix (give e.g. trust=mypkg,otherpkg)")
    return prefixes


def covers(prefix: str, target: str) -> bool:
    """Whether module prefix ``prefix`` admits ``target``, on module boundaries."""
    return target == prefix or target.startswith(prefix + ".")


def trusted_prefixes() -> tuple[str, ...]:
    """The libraries plus every loaded plugin's package and declared prefixes."""
    from taskhub.plugins import get_host

    return (*LIBRARIES, *get_host().trusted_prefixes())


def check_targets(config: Any, source: str, trust: Iterable[str] = (), allowed: Sequence[str] | None = None) -> None:
    """Refuse, in one line naming the key and the target, any ``_target_`` in ``config`` (nested
    dicts and lists, ``_args_`` included) that is not trusted. ``source`` names the file."""
    extra = tuple(trust)
    base = tuple(allowed) if allowed is not None else trusted_prefixes()
    for key, target in _targets(config, ""):
        if not isinstance(target, str) or not target.strip():
            raise UserError(f"{source}: {key} is {target!r}, not a class or function name; refused")
        if any(covers(p, target) for p in extra):
            continue
        if any(covers(p, target) for p in base) and not any(covers(d, target) for d in DENIED):
            continue
        module = target.rsplit(".", 1)[0] if "." in target else target
        raise UserError(
            f"{source}: {key}={target} is not a trusted target (a checkpoint's config may build only classes from "
            f"{', '.join(LIBRARIES[:-1])}, taskhub and installed plugins); refused. Only if you trust this file "
            f"and its author, pass trust={module} (that lets the file run that module's code)")
    for key in _denied_keywords(config, ""):
        raise UserError(f"{source}: {key}=true would run code downloaded from elsewhere; refused "
                        f"(set it in your own config, not in a checkpoint)")


def checked_config(raw: Any, source: str, trust: Any = None) -> Any:
    """``raw`` (a config read from a file: a checkpoint's, a bundle's) as a DictConfig, once every
    ``_target_`` in it is trusted; checked after interpolation, as ``instantiate`` will see it.
    ``trust`` is the user's explicit ``trust=`` setting; the file's own ``trust`` key is dropped."""
    from omegaconf import OmegaConf, open_dict

    if not isinstance(raw, Mapping):
        raise UserError(f"{source}: its config is not a mapping; refused")
    extra, allowed = parse_trust(trust), trusted_prefixes()
    try:
        resolved = OmegaConf.to_container(OmegaConf.create(dict(raw)), resolve=True)
        check_targets(resolved, source, extra, allowed)
        cfg = OmegaConf.create(resolved)
        check_targets(OmegaConf.to_container(cfg, resolve=True), source, extra, allowed)  # no second round
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{source}: its config does not resolve ({type(exc).__name__}: {exc}); refused") from None
    with open_dict(cfg):
        cfg.pop("trust", None)  # a file never widens its own trust
    return cfg


def _targets(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "_target_":
                yield here, value
            else:
                yield from _targets(value, here)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _targets(value, f"{path}[{i}]")


def _denied_keywords(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key in DENIED_KEYWORDS and value not in (False, None, "false", "False", 0):
                yield here
            else:
                yield from _denied_keywords(value, here)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _denied_keywords(value, f"{path}[{i}]")


def overrides_as_config(overrides: Iterable[str], source: str) -> list[dict[str, Any]]:
    """Hydra override strings (``a.b=1``, ``+x={_target_: y}``) as nested dicts, one each, for checking."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    trees: list[dict[str, Any]] = []
    for text in overrides:
        try:
            override = parser.parse_override(str(text))
        except HydraException as exc:
            raise UserError(f"{source}: stored override {text!r} does not parse ({exc}); refused") from None
        value = override.value()
        if not isinstance(value, (str, int, float, bool, list, dict, type(None))):  # a sweep: check every choice
            value = list(getattr(value, "list", []) or [])
        tree: Any = value
        for part in reversed(override.key_or_group.split(".")):
            tree = {part: tree}
        trees.append(tree)
    return trees
