"""Dataset config plumbing: a dataset config mixes the builder's arguments with loader settings."""
from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from taskhub.errors import UserError

#: Keys of a dataset config that the engine reads (batching), not the dataset builder.
from taskhub.data.contract import LOADER_KEYS  # noqa: E402  (one list of loader keys)


def dataset_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """The dataset config as plain kwargs, without ``_target_`` and the engine's loader keys."""
    # missing_keys names them in full ("dataset.root") when cfg is the run config's dataset node.
    missing = sorted(k.removeprefix("dataset.") for k in OmegaConf.missing_keys(cfg))
    missing = [k for k in missing if k.split(".")[0] not in LOADER_KEYS]
    if missing:
        key = f"dataset.{missing[0]}"
        raise UserError(f"{key} must be set for this dataset: pass {key}=...")
    data = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(data, dict)
    return {k: v for k, v in data.items() if k not in LOADER_KEYS and not k.startswith("_")}
