"""Box-aware augmentation: boxes move with the image and follow crops exactly."""
from __future__ import annotations

from pathlib import Path

import torch

from taskhub_detection.augment import augmentation
from taskhub_detection.data import collate


def _sample():
    image = torch.zeros(3, 40, 60, dtype=torch.uint8)
    image[:, 10:20, 5:15] = 255  # a white square exactly where its box says
    tgt = {"boxes": torch.tensor([[5.0, 10.0, 15.0, 20.0], [40.0, 30.0, 60.0, 40.0]]),
           "labels": torch.tensor([1, 2]), "iscrowd": torch.tensor([0, 1])}
    return image, tgt


def test_flip_moves_boxes_with_pixels() -> None:
    flip = augmentation([{"_target_": "torchvision.transforms.v2.RandomHorizontalFlip", "p": 1.0}])
    image, tgt = flip(*_sample())
    assert type(image) is torch.Tensor and image.dtype == torch.uint8
    assert tgt["boxes"].tolist() == [[45, 10, 55, 20], [0, 30, 20, 40]]
    assert image[0, 10:20, 45:55].eq(255).all() and image[0].sum() == 255 * 100
    assert tgt["labels"].tolist() == [1, 2] and tgt["iscrowd"].tolist() == [0, 1]


def test_crop_keeps_boxes_right_and_drops_labels_with_their_boxes() -> None:
    crop = augmentation([{"_target_": "torchvision.transforms.v2.RandomCrop", "size": [20, 30]}])
    torch.manual_seed(0)
    for _ in range(20):
        image, tgt = crop(*_sample())
        assert image.shape == (3, 20, 30)
        assert len(tgt["boxes"]) == len(tgt["labels"]) == len(tgt["iscrowd"])
        assert (tgt["boxes"] >= 0).all() and (tgt["boxes"][:, 2] <= 30).all() and (tgt["boxes"][:, 3] <= 20).all()
        for box, label in zip(tgt["boxes"].long().tolist(), tgt["labels"].tolist()):
            if label == 1:  # the white square's visible part fills its box
                x0, y0, x1, y1 = box
                assert image[0, y0:y1, x0:x1].eq(255).all() and image[0].sum() == 255 * (x1 - x0) * (y1 - y0)


def test_scale_jitter_and_collate_of_different_sizes() -> None:
    jitter = augmentation([{"_target_": "torchvision.transforms.v2.RandomResize", "min_size": 20, "max_size": 80}])
    torch.manual_seed(1)
    batch = [jitter(*_sample()) for _ in range(3)]
    images, targets = collate(batch)
    assert len({tuple(im.shape) for im in images}) > 1  # no padding: sizes may differ
    for image, tgt in zip(images, targets):
        scale = image.shape[-1] / 60
        assert torch.allclose(tgt["boxes"][0], torch.tensor([5.0, 10, 15, 20]) * scale, atol=1.0)


def test_iou_crop_zoom_out_and_colour_keep_boxes_valid() -> None:
    """The small-dataset default (task.auto.box_aware_augment): photometric distortion, zoom-out,
    IoU-preserving crops and flips."""
    from omegaconf import OmegaConf

    import taskhub_detection

    config = Path(taskhub_detection.__file__).parent / "configs" / "task" / "detection.yaml"
    spec = OmegaConf.load(config).task.auto.box_aware_augment
    strong = augmentation(OmegaConf.to_container(spec))
    torch.manual_seed(0)
    for _ in range(30):
        image, tgt = strong(*_sample())
        h, w = image.shape[-2:]
        assert image.dtype == torch.uint8 and len(tgt["boxes"]) == len(tgt["labels"]) == len(tgt["iscrowd"])
        assert (tgt["boxes"] >= 0).all() and (tgt["boxes"][:, 2] <= w).all() and (tgt["boxes"][:, 3] <= h).all()
        assert (tgt["boxes"][:, 2:] > tgt["boxes"][:, :2]).all()
