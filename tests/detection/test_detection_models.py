"""Detectors: CenterNet's targets decode back to the true boxes; torchvision detectors by name."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from taskhub import UserError
from taskhub_detection.centernet import CenterNet
from taskhub_detection.tvmodels import TorchvisionDetector, load_matching


def _target(boxes, labels, crowd=None):
    labels = torch.tensor(labels)
    return {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": labels,
            "iscrowd": torch.tensor(crowd) if crowd else torch.zeros_like(labels)}


def test_centernet_encoding_decodes_back_to_the_boxes() -> None:
    model = CenterNet(num_classes=3, input_size=64).eval()
    tgt = _target([[4.0, 8.0, 20.0, 30.0], [30.0, 30.0, 62.0, 50.0]], [2, 0])
    scale = torch.tensor([2.0, 1.0])  # a 128-wide, 64-high image resized to 64x64
    tgt["boxes"][:, 0::2] *= 2
    heat, reg, mask = model.encode(tgt, scale, (16, 16))
    assert heat.max() == 1 and int(mask.sum()) == 2 and heat.eq(1).sum() == 2
    logits = torch.logit(heat.clamp(1e-6, 1 - 1e-6))[None]
    raw = torch.cat([torch.logit(reg[:2].clamp(1e-6, 1 - 1e-6)), reg[2:]])[None]
    out = model.decode(logits, raw, scale[None])[0]
    top = out["scores"] > 0.99
    found = sorted(zip(out["labels"][top].tolist(), out["boxes"][top].tolist()))
    assert [y for y, _ in found] == [0, 2]
    assert torch.allclose(torch.tensor([b for _, b in found]), torch.tensor([[60.0, 30, 124, 50], [8, 8, 40, 30]]), atol=1e-3)


def test_centernet_trains_on_mixed_sizes_and_empty_images() -> None:
    torch.manual_seed(0)
    model = CenterNet(num_classes=2, input_size=[48, 64])
    images = [torch.rand(3, 40, 70), torch.rand(3, 64, 64), torch.rand(3, 30, 30)]
    targets = [_target([[5, 5, 30, 30]], [1]), _target([[0, 0, 64, 64]], [0], [1]), _target([], [])]
    targets[2]["boxes"] = torch.zeros(0, 4)
    losses = model(images, targets)
    assert set(losses) == {"heatmap", "offset", "size"} and all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    model.eval()
    with torch.no_grad():
        out = model(images)
    assert len(out) == 3 and all(o["boxes"].shape[1] == 4 for o in out)
    assert (out[0]["boxes"][:, 2] <= 70 + 1e-4).all()  # mapped back to the original image size


@pytest.mark.parametrize("config", ["fasterrcnn", "ssdlite",
                                    pytest.param("retinanet", marks=pytest.mark.slow),
                                    pytest.param("fcos", marks=pytest.mark.slow),
                                    pytest.param("fasterrcnn_resnet50", marks=pytest.mark.slow)])
def test_torchvision_detectors_by_name_train_and_predict(config: str) -> None:
    cfg = OmegaConf.load(Path(__file__).parents[2] / "plugins/taskhub_detection/configs/model" / f"{config}.yaml")
    kwargs = {k: v for k, v in OmegaConf.to_container(cfg).items() if k != "_target_"}
    if kwargs.get("min_size"):
        kwargs.update(min_size=96, max_size=128)
    torch.manual_seed(0)
    model = TorchvisionDetector(num_classes=3, **kwargs)
    images = [torch.rand(3, 80, 100), torch.rand(3, 96, 96)]
    targets = [_target([[10, 10, 50, 60]], [2]), _target([[5, 5, 40, 40], [50, 50, 90, 90]], [0, 1], [0, 1])]
    losses = model(images, targets)
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        out = model(images)
    assert len(out) == 2 and all((o["labels"] >= 0).all() and (o["labels"] < 3).all() for o in out)


def test_torchvision_detector_local_weights_and_bad_names(tmp_path: Path) -> None:
    kwargs = dict(name="fasterrcnn_mobilenet_v3_large_fpn", min_size=96, max_size=128)
    source = TorchvisionDetector(num_classes=2, **kwargs)
    torch.save(source.net.state_dict(), tmp_path / "det.pt")
    loaded = TorchvisionDetector(num_classes=2, weights=str(tmp_path / "det.pt"), **kwargs)
    key = "backbone.body.0.0.weight"
    assert torch.equal(loaded.net.state_dict()[key], source.net.state_dict()[key])
    other = TorchvisionDetector(num_classes=5, weights=str(tmp_path / "det.pt"), **kwargs)  # head re-initialised
    assert torch.equal(other.net.state_dict()[key], source.net.state_dict()[key])
    with pytest.raises(UserError, match="model.weights=.*nope.pt: file not found"):
        TorchvisionDetector(num_classes=2, weights=str(tmp_path / "nope.pt"), **kwargs)
    with pytest.raises(UserError, match="did you mean 'fcos_resnet50_fpn'"):
        TorchvisionDetector(num_classes=2, name="fcos_resnet50")
    with pytest.raises(UserError, match="none of its 1 tensors fit"):
        load_matching(torch.nn.Linear(2, 2), {"x": torch.zeros(3)}, "model.weights_backbone")


def test_anchor_settings_from_config() -> None:
    with pytest.raises(UserError, match="fcos_resnet50_fpn fixes its own anchors"):
        TorchvisionDetector(num_classes=2, name="fcos_resnet50_fpn", anchor_sizes=[[8]] * 5)
    with pytest.raises(UserError, match="give 5 lists"):
        TorchvisionDetector(num_classes=2, name="retinanet_resnet50_fpn", anchor_sizes=[[8]])


@pytest.mark.slow
def test_retinanet_custom_anchors() -> None:
    model = TorchvisionDetector(num_classes=2, name="retinanet_resnet50_fpn", min_size=64, max_size=64,
                                anchor_sizes=[[8], [16], [32], [64], [128]], aspect_ratios=[1.0])
    assert model.net.anchor_generator.sizes[0] == (8,) and model.net.head.classification_head.num_anchors == 1
