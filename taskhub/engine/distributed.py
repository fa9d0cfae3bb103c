"""Multi-process training under torchrun (DDP): NCCL on GPUs, gloo on CPU. Only rank 0 writes.

One machine (``--nproc-per-node=N``) or several (``--nnodes=N --rdzv-backend=c10d
--rdzv-endpoint=HOST:PORT``, or SLURM's ``srun``): torchrun's environment says which, and global
rank 0 writes the one run directory. Every process must run the same config on the same data
split: :func:`setup` and :func:`check_same_start` compare them with rank 0's and stop every
process with one line when they differ (a node launched with other overrides, another copy of the
data, a checkpoint only some nodes can read) instead of training something inconsistent or hanging.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from taskhub.errors import UserError

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from taskhub.run_state import Run

#: Settings that may differ between nodes: they change where or how fast, not what is trained.
LOCAL_SETTINGS = ("trainer.num_threads", "trainer.progress", "trainer.device", "dataset.root",
                  "dataset.num_workers", "dataset.pin_memory")


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", 1))


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else int(os.environ.get("RANK", 0))


def is_main() -> bool:
    return rank() == 0


def setup(device: torch.device, cfg: DictConfig | None = None) -> bool:
    """Join the process group torchrun describes in the environment; False when not distributed.

    With ``cfg``, every process's resolved config must equal rank 0's (:func:`check_same_config`).
    """
    if world_size() <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    if cfg is not None:
        check_same_config(cfg)
    return True


def flat_config(cfg: DictConfig) -> dict[str, str]:
    """``{"optimizer.lr": "0.001", ...}``: the resolved config, without :data:`LOCAL_SETTINGS`."""
    from omegaconf import OmegaConf

    try:
        tree = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an interpolation only a later step can resolve: compare what was written
        tree = OmegaConf.to_container(cfg, resolve=False)
    flat: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        elif not prefix[:-1].startswith(LOCAL_SETTINGS):
            flat[prefix[:-1]] = json.dumps(node, sort_keys=True, default=str)

    walk(tree, "")
    return flat


def _collective_device() -> torch.device:
    """Where tensors for collectives live: the current GPU under NCCL, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def from_rank0(value: Any) -> Any:
    """Rank 0's ``value`` on every process (e.g. a seed chosen at random); ``value`` when not distributed."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def check_same_config(cfg: DictConfig) -> None:
    """Rank 0 broadcasts a hash of its resolved config; a process whose hash differs makes every
    process raise one UserError naming the settings that differ."""
    flat = flat_config(cfg)
    digest = hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()
    agree(flat, digest, "the config", "launch every node with the same overrides (the same command and "
          "config files); only trainer.num_threads, trainer.device, dataset.root and loader settings may differ")


def check_same_start(run: Run) -> None:
    """After building the data and restoring a checkpoint: the same split sizes (every process
    shards the same split) and the same epoch to resume from, on every process."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    sizes = {f"{name} samples": str(len(getattr(run.data, name)) if getattr(run.data, name, None) is not None else None)
             for name in ("train", "val", "test")}
    agree(sizes, json.dumps(sizes, sort_keys=True), "the data split",
          "every node must read the same data (the same files and dataset settings)")
    resume = {"resumed epoch": str(run.epoch), "global step": str(run.global_step)}
    agree(resume, json.dumps(resume, sort_keys=True), "where to resume",
          "with trainer.resume every node must read the same checkpoint: keep hydra.run.dir on a filesystem "
          "all nodes share")


def agree(values: dict[str, str], digest: str, what: str, hint: str) -> None:
    """Stop every process with one line when any process's ``digest`` differs from rank 0's.

    Cheap when they agree (one broadcast of a hash and one all-reduce); only on disagreement are
    the values gathered, to name what differs.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    theirs = [digest]
    dist.broadcast_object_list(theirs, src=0)
    differs = torch.tensor([int(theirs[0] != digest)], device=_collective_device())
    dist.all_reduce(differs, op=dist.ReduceOp.SUM)
    if not int(differs.item()):
        return
    everyone: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, values)
    reference = everyone[0]
    for other_rank, other in enumerate(everyone):
        keys = [k for k in sorted(set(reference) | set(other)) if reference.get(k) != other.get(k)]
        if keys:
            shown = ", ".join(f"{k}={other.get(k, '(unset)')} (rank 0: {reference.get(k, '(unset)')})" for k in keys[:3])
            more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
            raise UserError(f"the processes disagree on {what}: rank {other_rank} has {shown}{more}; {hint}")
    raise UserError(f"the processes disagree on {what}; {hint}")


def teardown(wait: bool = False) -> None:
    """Leave the process group. ``wait``: after a run that finished, every process first waits for
    the others (rank 0 writes the run directory's files last), so none tears its connections down
    under a peer still using them. After an error nobody waits: a peer may be gone."""
    if dist.is_available() and dist.is_initialized():
        if wait:
            try:
                dist.barrier()
            except Exception:  # noqa: BLE001  a peer that failed after this one finished: leave all the same
                pass
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over all processes (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_flag(flag: bool, device: torch.device) -> bool:
    """Rank 0's decision (e.g. early stopping) for every process."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1 if flag else 0], device=device)
    dist.broadcast(t, src=0)
    return bool(t.item())
