"""model=torchvision from pretrained weights: the weights' own normalisation, a fine-tuning rate,
model.freeze, and one line (never a traceback) for weights that cannot be had. Nothing downloads:
the "pretrained" weights are a random-init resnet18 saved here, and no network is simulated."""
from __future__ import annotations

import os
import urllib.error

import pytest
import torch
import torchvision

import taskhub
from taskhub import UserError
from taskhub.cli import main
from taskhub.testing import read_summary, run_task
from taskhub_vision import auto
from taskhub_vision.models import IMAGENET_MEAN, IMAGENET_STD, TorchvisionClassifier, backbone_blocks

FAST = ("model=torchvision", "dataset.num_samples=60", "dataset.num_workers=0", "trainer.max_epochs=1",
        "trainer.num_threads=1")


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(torchvision.models.get_model("resnet18").state_dict(), path)
    return path


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No network: torch.hub's download fails as it does without one; an empty hub cache."""
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "urlopen", no_network)


def test_local_weights_use_imagenet_normalisation_and_a_fine_tuning_rate(tmp_path, weights_file):
    run_dir = tmp_path / "run"
    summary = run_task("vision", run_dir, *FAST, f"model.weights={weights_file}")
    log = (run_dir / "launch.log").read_text()
    assert "mean=[0.485, 0.456, 0.406] (ImageNet's: torchvision classification weights" in log
    assert "std=[0.229, 0.224, 0.225] (ImageNet's" in log
    assert "optimizer.lr=0.0001 (fine-tuning pretrained weights: model.weights=" in log
    assert summary["auto"]["dataset.mean"] == list(IMAGENET_MEAN)
    assert summary["auto"]["dataset.std"] == list(IMAGENET_STD)
    assert summary["auto"]["optimizer.lr"] == 1e-4
    ckpt = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert ckpt["auto"]["dataset.mean"]["value"] == list(IMAGENET_MEAN)
    assert ckpt["task_state"]["mean"] == list(IMAGENET_MEAN) and ckpt["task_state"]["std"] == list(IMAGENET_STD)
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-4)

    # eval and predict normalise as trained: the same test loss as the run's own test of best.pt
    assert main(["eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"hydra.run.dir={tmp_path / 'eval'}",
                 "trainer.device=cpu", "trainer.progress=none", "trainer.num_threads=1"]) == 0
    assert read_summary(tmp_path / "eval")["test/loss"] == pytest.approx(summary["test/loss"], rel=1e-4)
    predictor = taskhub.load(run_dir / "checkpoints" / "best.pt", device="cpu")
    assert predictor.task.mean == list(IMAGENET_MEAN) and predictor.task.std == list(IMAGENET_STD)


def test_explicit_values_win_and_from_scratch_measures_the_pixels(tmp_path, weights_file):
    summary = run_task("vision", tmp_path / "run", *FAST, f"model.weights={weights_file}", "dataset.mean=[0.5]",
                       "dataset.std=[0.2]", "optimizer.lr=0.002")
    assert "dataset.mean" not in summary["auto"] and "optimizer.lr" not in summary["auto"]
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert ckpt["task_state"]["mean"] == [0.5] * 3 and ckpt["optimizer"]["param_groups"][0]["lr"] == 0.002
    # model=torchvision without weights: Adam's usual 1e-3, and the pixels' own statistics
    assert auto.learning_rate(None) == (1e-3, "training from scratch: model.weights=null")
    assert TorchvisionClassifier.pretrained_normalisation({"name": "resnet18", "weights": None}) is None
    # a weights name: its own transforms() (offline: only the enum is read)
    mean, std, reason = TorchvisionClassifier.pretrained_normalisation({"name": "resnet18", "weights": "DEFAULT"})
    assert mean == list(IMAGENET_MEAN) and "ResNet18_Weights.IMAGENET1K_V1.transforms()" in reason
    assert auto.for_channels(mean, std, reason, 1)[0] == [round(sum(IMAGENET_MEAN) / 3, 4)]


def test_freeze_head_trains_only_the_head_and_keeps_batchnorm_statistics(tmp_path, weights_file):
    run_dir = tmp_path / "run"
    run_task("vision", run_dir, *FAST, f"model.weights={weights_file}", "model.freeze=head")
    assert "model.freeze=head: 3,078 of 11,179,590 parameters train (the head)" in (run_dir / "launch.log").read_text()
    start = torch.load(weights_file, weights_only=True)
    ckpt = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    trained = {k.removeprefix("net."): v for k, v in ckpt["model"].items()}
    backbone = [k for k in start if not k.startswith("fc.")]
    assert backbone and all(torch.equal(trained[k], start[k]) for k in backbone)  # weights and BN running stats
    assert trained["fc.weight"].shape == (6, 512)  # the shapes dataset's 6 classes
    # the optimizer holds the head alone, and it moved (Adam's moments are non-zero)
    state = ckpt["optimizer"]["state"]
    assert len(ckpt["optimizer"]["param_groups"][0]["params"]) == 2 and len(state) == 2
    assert all(s["exp_avg"].abs().sum() > 0 for s in state.values())

    # resume: the same frozen backbone and head-only optimizer, the rate from the checkpoint
    run_task("vision", run_dir, *FAST, f"model.weights={weights_file}", "model.freeze=head",
             "trainer.max_epochs=2", "trainer.resume=auto")
    assert "optimizer.lr=0.0001 (from the checkpoint)" in (run_dir / "launch.log").read_text()
    resumed = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert resumed["epoch"] == 2 and not torch.equal(resumed["model"]["net.fc.weight"], ckpt["model"]["net.fc.weight"])
    assert all(torch.equal(resumed["model"][f"net.{k}"], start[k]) for k in backbone)


def test_freeze_n_trains_the_last_blocks_in_train_mode_and_the_rest_stays(weights_file):
    torch.manual_seed(0)
    model = TorchvisionClassifier(3, [32, 32], 4, name="resnet18", weights=str(weights_file), freeze=1)
    assert [name for name, _ in backbone_blocks(model.net, model.net.fc)] == [
        "conv1+bn1", "layer1", "layer2", "layer3", "layer4"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    assert not model.net.bn1.training and not model.net.layer3[1].bn2.training and model.net.layer4[0].bn1.training
    loss = torch.nn.functional.cross_entropy(model(torch.randn(8, 3, 32, 32)), torch.arange(8) % 4)
    loss.backward()
    optimizer.step()
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(("net.layer4.", "net.fc.")) for k in changed)
    assert {"net.fc.weight", "net.layer4.1.conv2.weight", "net.layer4.0.bn1.running_mean"} <= changed
    with pytest.raises(UserError, match=r"model.freeze=9: ResNet has 5 blocks \(conv1\+bn1, layer1"):
        TorchvisionClassifier(3, [32, 32], 4, freeze=9)
    with pytest.raises(UserError, match="model.freeze=top: choose head"):
        TorchvisionClassifier(3, [32, 32], 4, freeze="top")


def one_error_line(tmp_path, capsys, *overrides: str) -> str:
    """The one error line of ``taskhub run task=vision OVERRIDES`` (exit 2, no traceback)."""
    capsys.readouterr()
    rc = main(["run", "task=vision", *FAST, *overrides, f"hydra.run.dir={tmp_path / 'run'}",
               "trainer.device=cpu", "trainer.progress=none"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and err.count("error: ") == 1, err
    return next(x for x in err.splitlines() if x.startswith("error: "))


def test_offline_weights_name_is_one_line(tmp_path, offline, capsys):
    line = one_error_line(tmp_path, capsys, "model.weights=DEFAULT")
    assert line.startswith("error: model.weights=DEFAULT: could not download resnet18's weights (no network?); ")
    assert line.endswith("and pass the file: model.weights=/path/resnet18.pth")
    assert not any(os.scandir(tmp_path / "torch_home" / "hub" / "checkpoints"))  # no partial download left


def test_unknown_weights_name_lists_the_valid_ones(tmp_path, offline, capsys):
    line = one_error_line(tmp_path, capsys, "model.weights=IMAGENET1K_V9")
    assert line.startswith("error: model.weights=IMAGENET1K_V9: not a weights name of resnet18; choose one of "
                           "IMAGENET1K_V1, DEFAULT")


def test_a_file_that_does_not_fit_or_is_not_data_is_one_line_naming_it(tmp_path):
    state = torchvision.models.get_model("resnet18").state_dict()
    state["conv1.weight"] = torch.zeros(64, 3, 5, 5)
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    with pytest.raises(UserError, match=r"bad.pth does not fit torchvision's resnet18 \(conv1.weight is \[64, 3, 5, 5"):
        TorchvisionClassifier(3, [32, 32], 4, weights=str(bad))
    other = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.get_model("resnet34").state_dict(), other)
    with pytest.raises(UserError, match=r"resnet34.pth does not fit torchvision's resnet18 \(\d+ unexpected"):
        TorchvisionClassifier(3, [32, 32], 4, weights=str(other))
    # a pickle that would run code is refused, not run
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pth"
    torch.save({"x": _RunsCode(str(marker))}, evil)
    with pytest.raises(UserError, match="evil.pth holds pickled objects besides tensors"):
        TorchvisionClassifier(3, [32, 32], 4, weights=str(evil))
    assert not marker.exists()
    # a fine-tuned model's file (DDP prefixes, another number of classes) loads: its head is replaced
    net = torchvision.models.get_model("resnet18", num_classes=10)
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "ddp.pth")
    model = TorchvisionClassifier(3, [32, 32], 4, weights=str(tmp_path / "ddp.pth"))
    assert torch.equal(model.net.layer1[0].conv1.weight, net.layer1[0].conv1.weight)


class _RunsCode:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))
