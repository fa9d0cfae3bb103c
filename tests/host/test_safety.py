"""A file a user loads never runs code: checkpoint configs, pickled checkpoints (marker-file tests)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import taskhub
from taskhub.cli import main
from taskhub.engine import checkpoint
from taskhub.errors import UserError
from taskhub.testing import run_task
from taskhub.trust import check_targets, covers, parse_trust

TINY = ("dataset.num_samples=120", "model=mlp", "dataset.batch_size=32", "trainer.max_epochs=1")


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("trained")
    run_task("vision", run_dir, *TINY)
    return run_dir / "checkpoints" / "best.pt"


def crafted(trained: Path, tmp_path: Path, marker: Path, where: str = "model") -> Path:
    """best.pt with a nested ``{_target_: os.system, _args_: ["touch MARKER"]}`` in its config."""
    ckpt = torch.load(trained, weights_only=True)
    payload = {"_target_": "os.system", "_args_": [f"touch {marker}"]}
    if where == "model":
        ckpt["config"]["model"]["hidden"] = [64, {"inner": payload}]
    else:
        ckpt["overrides"] = [*ckpt["overrides"], f"+dataset.extra={{_target_: os.system, _args_: ['touch {marker}']}}"]
    path = tmp_path / "best.pt"
    torch.save(ckpt, path)
    return path


def test_checkpoint_config_with_code_is_refused_by_eval_predict_and_load(trained, tmp_path, capsys):
    marker = tmp_path / "MARKER"
    bad = crafted(trained, tmp_path, marker)
    run_dir = f"hydra.run.dir={tmp_path / 'eval'}"

    assert main(["eval", f"ckpt={bad}", "trainer.device=cpu", "trainer.progress=none", run_dir]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "model.hidden[1].inner._target_=os.system" in err and "trust=os" in err
    assert main(["predict", f"ckpt={bad}", f"input={tmp_path}"]) == 2
    assert "os.system is not a trusted target" in capsys.readouterr().err
    with pytest.raises(UserError, match=r"_target_=os\.system is not a trusted target"):
        taskhub.load(bad)
    with pytest.raises(UserError, match="not a trusted target"):
        taskhub.load(bad, trust="osx")  # prefixes match on module boundaries
    assert not marker.exists()

    # trust=os is the only way through: the payload is live (the model then fails to build).
    with pytest.raises(Exception):
        taskhub.load(bad, trust="os")
    assert marker.exists()


def test_stored_overrides_with_code_are_refused(trained, tmp_path, capsys):
    marker = tmp_path / "MARKER"
    bad = crafted(trained, tmp_path, marker, where="overrides")
    assert main(["eval", f"ckpt={bad}", "trainer.device=cpu", f"hydra.run.dir={tmp_path / 'eval'}"]) == 2
    assert "(stored overrides): dataset.extra._target_=os.system" in capsys.readouterr().err
    assert not marker.exists()


def test_a_checkpoint_cannot_trust_itself(trained, tmp_path):
    marker = tmp_path / "MARKER"
    bad = crafted(trained, tmp_path, marker)
    ckpt = torch.load(bad, weights_only=True)
    ckpt["config"]["trust"] = "os"
    ckpt["overrides"] = [*ckpt["overrides"], "trust=os"]
    torch.save(ckpt, bad)
    with pytest.raises(UserError, match="not a trusted target"):
        taskhub.load(bad)
    assert not marker.exists()


def test_interpolated_target_is_checked_after_resolution(trained, tmp_path):
    ckpt = torch.load(trained, weights_only=True)
    ckpt["config"]["model"]["sneaky"] = {"_target_": "${task.evil}"}
    ckpt["config"]["task"]["evil"] = "os.system"
    path = tmp_path / "best.pt"
    torch.save(ckpt, path)
    with pytest.raises(UserError, match=r"model\.sneaky\._target_=os\.system"):
        taskhub.load(path)


def test_trusted_checkpoint_still_predicts_and_overrides_are_checked(trained, tmp_path):
    predictor = taskhub.load(trained, device="cpu")
    assert predictor.model is not None
    with pytest.raises(UserError, match="did you mean 'task.name'"):
        taskhub.load(trained, ["task.nme=x"], device="cpu")


def test_allowlist_rules():
    allowed = ("torch", "taskhub_vision")
    check_targets({"a": {"_target_": "torch.nn.Linear"}, "b": [{"_target_": "taskhub_vision.models.MLP"}]},
                  "f", allowed=allowed)
    for target in ("torchevil.x", "os.system", "builtins.eval", "torch.load", "torch.hub.load"):
        with pytest.raises(UserError, match="not a trusted target"):
            check_targets({"m": {"_args_": [{"_target_": target}]}}, "f", allowed=allowed)
    check_targets({"_target_": "torch.load"}, "f", trust=("torch.load",), allowed=allowed)
    with pytest.raises(UserError, match="trust_remote_code"):
        check_targets({"_target_": "torch.nn.Linear", "trust_remote_code": True}, "f", allowed=allowed)
    assert covers("torch", "torch.nn") and not covers("torch", "torchevil")
    assert parse_trust("mypkg, other.sub") == parse_trust("[mypkg,'other.sub']") == ("mypkg", "other.sub")
    with pytest.raises(UserError, match="not a module prefix"):
        parse_trust("my-pkg")


def test_plugins_declare_trusted_prefixes():
    from taskhub.plugins import Host

    host = Host()
    host._registrar("thirdparty")(type("T", (taskhub.Task,), {"name": "t_trusted"}), trusted=("mypkg.models",))
    assert "mypkg.models" in host.trusted_prefixes()


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_checkpoint_is_refused_without_unsafe_advice(tmp_path):
    marker = tmp_path / "MARKER"
    path = tmp_path / "evil.pt"
    torch.save({"config": {}, "model": _Payload(marker)}, path)
    with pytest.raises(UserError) as info:
        checkpoint.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "refused" in message
    assert "weights_only" not in message and "system" in message  # names what it would call
    assert not marker.exists()
