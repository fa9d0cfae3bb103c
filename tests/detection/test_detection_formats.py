"""Each format's loader on fixtures written here, and bad input giving one clear line."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import write_coco, write_image, write_pennfudan, write_voc

from taskhub import UserError
from taskhub_detection.data import DetectionDataset
from taskhub_detection.formats import coco, masks_to_boxes, pennfudan, voc


def _all(data) -> dict[str, tuple]:
    """file name -> (boxes, labels, iscrowd) over every split."""
    out = {}
    for split in (data.train, data.val, data.test):
        for img, tgt in zip(split.images, split.targets):
            out[Path(img).name] = (tgt["boxes"].tolist(), tgt["labels"].tolist(), tgt["iscrowd"].tolist())
    return out


# --- COCO -------------------------------------------------------------------------------------------
def test_coco_maps_categories_boxes_and_crowds(coco_dir: Path) -> None:
    data = coco(str(coco_dir / "images"), str(coco_dir / "instances.json"), max_size=None, seed=0)
    assert data.info["labels"] == ["cat", "dog"]  # ids 3 and 7 become labels 0 and 1
    rows = _all(data)
    assert len(rows) == 10 and sum(len(s) for s in (data.train, data.val, data.test)) == 10
    assert rows["1.png"] == ([[4, 5, 14, 25], [30, 10, 50, 40]], [0, 1], [0, 0])  # xywh -> xyxy
    assert rows["2.png"] == ([[0, 0, 64, 48]], [1], [1])  # crowd kept, marked
    assert rows["10.png"] == ([], [], [])  # no objects: a negative, not dropped


def test_coco_images_decode_and_shrink_with_boxes(coco_dir: Path) -> None:
    data = coco(str(coco_dir / "images"), str(coco_dir / "instances.json"), max_size=32, val_fraction=0,
                test_fraction=0, seed=0)
    i = [Path(p).name for p in data.train.images].index("1.png")
    image, tgt = data.train[i]
    assert image.dtype == torch.uint8 and tuple(image.shape) == (3, 24, 32)
    assert torch.allclose(tgt["boxes"][0], torch.tensor([2.0, 2.5, 7.0, 12.5]))


def test_decoded_images_are_cached_within_a_byte_budget(coco_dir: Path) -> None:
    """Each image decodes once while the cache has room; past the budget (COCO-sized sets) it
    decodes again on every access instead of filling the memory."""
    data = coco(str(coco_dir / "images"), str(coco_dir / "instances.json"), max_size=None, val_fraction=0,
                test_fraction=0, seed=0)
    files = list(data.train.images)
    one = 3 * 48 * 64  # the fixture's images: 64x48 RGB, uint8
    budget = DetectionDataset(files, data.train.targets, cache_bytes=2 * one)
    first = [budget[i][0] for i in range(len(files))]
    assert budget.cached_bytes == 2 * one
    assert sum(isinstance(im, torch.Tensor) for im in budget.images) == 2  # the rest stay file paths
    assert all(torch.equal(a, budget[i][0]) for i, a in enumerate(first))  # re-decoded, the same pixels
    unbounded = DetectionDataset(files, data.train.targets)
    for i in range(len(files)):
        unbounded[i]
    assert all(isinstance(im, torch.Tensor) for im in unbounded.images)


def test_coco_separate_val_file_maps_by_name(coco_dir: Path) -> None:
    val = write_coco(coco_dir, [{"id": 1, "file_name": "1.png", "width": 64, "height": 48}],
                     [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
                     categories=[{"id": 1, "name": "dog"}], name="val.json", write_files=False)
    data = coco(str(coco_dir / "images"), str(coco_dir / "instances.json"), val_annotations=str(val), seed=0)
    assert len(data.val) == 1 and data.val.targets[0]["labels"].tolist() == [1]  # "dog" is label 1


def test_coco_unknown_category_is_reported(coco_dir: Path) -> None:
    ann = [{"id": 1, "image_id": 1, "category_id": 99, "bbox": [1, 1, 5, 5]},
           {"id": 2, "image_id": 1, "category_id": 98, "bbox": [1, 1, 5, 5]}]
    path = write_coco(coco_dir, [{"id": 1, "file_name": "1.png", "width": 64, "height": 48}], ann, name="bad.json")
    with pytest.raises(UserError, match=r"bad\.json: 2 annotation\(s\) with a category_id not in categories"):
        coco(str(coco_dir / "images"), str(path))


def test_coco_missing_image_is_reported(coco_dir: Path) -> None:
    path = write_coco(coco_dir, [{"id": 1, "file_name": "gone.png", "width": 64, "height": 48}], [],
                      name="missing.json", write_files=False)
    with pytest.raises(UserError, match=r"missing\.json: 1 image file\(s\) not found .*gone\.png"):
        coco(str(coco_dir / "images"), str(path))


@pytest.mark.parametrize("bbox", [[60, 40, 20, 20], [5, 5, 0, 10]], ids=["outside", "zero-area"])
def test_coco_bad_box_is_reported_then_clipped_or_dropped(coco_dir: Path, bbox: list[float], caplog) -> None:
    images = [{"id": 1, "file_name": "1.png", "width": 64, "height": 48}]
    ann = [{"id": 1, "image_id": 1, "category_id": 3, "bbox": bbox}, {"id": 2, "image_id": 1, "category_id": 3,
                                                                      "bbox": [1, 1, 4, 4]}]
    path = write_coco(coco_dir, images, ann, name="boxes.json", write_files=False)
    with pytest.raises(UserError, match=r"boxes\.json: 1\.png: box .* in a 64x48 image: box (outside its image or )?with zero area"):
        coco(str(coco_dir / "images"), str(path))
    dropped = coco(str(coco_dir / "images"), str(path), on_bad="skip", val_fraction=0, test_fraction=0)
    assert dropped.train.targets[0]["boxes"].tolist() == [[1, 1, 5, 5]]
    assert "skipped 1 annotations" in caplog.text and dropped.skipped
    clipped = coco(str(coco_dir / "images"), str(path), on_bad="clip", val_fraction=0, test_fraction=0)
    expected = 2 if bbox[2] > 0 else 1  # a box poking out is clipped; one with no area cannot be
    assert len(clipped.train.targets[0]["boxes"]) == expected
    assert (clipped.train.targets[0]["boxes"][:, 2:] <= torch.tensor([64.0, 48.0])).all()


def test_coco_not_coco_json(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"images": []}')
    with pytest.raises(UserError, match="not a COCO detection file"):
        coco(str(tmp_path), str(tmp_path / "x.json"))


# --- VOC --------------------------------------------------------------------------------------------
def test_voc_layout_splits_difficult_and_classes(tmp_path: Path) -> None:
    objs = {"a": [("dog", (1, 1, 10, 20), 0), ("person", (20, 5, 40, 45), 1)],
            "b": [("cat", (5, 5, 64, 48), 0)], "c": [], "d": [("dog", (2, 2, 4, 4), 0)]}
    root = write_voc(tmp_path / "VOC", objs, splits={"train": ["a", "c"], "val": ["b"], "test": ["d"]})
    data = voc(str(root), max_size=None)
    assert data.info["labels"] == ["cat", "dog", "person"]
    assert [Path(p).stem for p in data.train.images] == ["a", "c"] and len(data.val) == 1 and len(data.test) == 1
    t = data.train.targets[0]
    assert t["boxes"].tolist() == [[0, 0, 10, 20], [19, 4, 40, 45]]  # 1-based inclusive -> pixel edges
    assert t["labels"].tolist() == [1, 2] and t["iscrowd"].tolist() == [0, 1]  # difficult is ignored in eval
    assert data.train.targets[1]["boxes"].shape == (0, 4)
    assert data.val.targets[0]["boxes"].tolist() == [[4, 4, 64, 48]]


def test_voc_without_lists_is_split_by_seed(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "VOC", {f"i{n}": [("car", (1, 1, 9, 9), 0)] for n in range(10)})
    a, b = voc(str(root), seed=1), voc(str(root), seed=1)
    assert [p.name for p in a.test.images] == [p.name for p in b.test.images]
    assert len(a.train) + len(a.val) + len(a.test) == 10


def test_voc_unknown_class_and_missing_image(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "VOC", {"a": [("dog", (1, 1, 10, 20), 0), ("zebra", (1, 1, 5, 5), 0)]})
    with pytest.raises(UserError, match=r"1 object\(s\) of classes \['zebra'\] not in dataset.classes"):
        voc(str(root), classes=["dog"])
    (root / "JPEGImages" / "a.jpg").unlink()
    with pytest.raises(UserError, match=r"1 image file\(s\) not found .*a\.jpg"):
        voc(str(root))


def test_voc_box_outside_image(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "VOC", {"a": [("dog", (1, 1, 90, 20), 0)]})
    with pytest.raises(UserError, match=r"a\.xml: box .* in a 64x48 image: box outside its image"):
        voc(str(root))


# --- Penn-Fudan -------------------------------------------------------------------------------------
def test_pennfudan_boxes_from_masks(tmp_path: Path) -> None:
    root = write_pennfudan(tmp_path / "PennFudanPed", count=5)
    data = pennfudan(str(root), max_size=None, val_fraction=0.2, test_fraction=0.2, seed=0)
    assert data.info["labels"] == ["person"] and len(data.train) + len(data.val) + len(data.test) == 5
    by_name = {Path(p).stem: t for s in (data.train, data.val, data.test) for p, t in zip(s.images, s.targets)}
    assert by_name["Ped002"]["boxes"].tolist() == [[7, 10, 22, 50], [40, 20, 52, 58]]
    assert by_name["Ped002"]["labels"].tolist() == [0, 0]


def test_pennfudan_missing_mask(tmp_path: Path) -> None:
    root = write_pennfudan(tmp_path / "P", count=2)
    (root / "PedMasks" / "Ped001_mask.png").unlink()
    with pytest.raises(UserError, match=r"PedMasks: 1 image\(s\) have no mask .*Ped001_mask\.png"):
        pennfudan(str(root))


def test_masks_to_boxes_ignores_background() -> None:
    import numpy as np

    mask = np.zeros((5, 6), dtype=np.uint8)
    mask[1:3, 2:5] = 4
    assert masks_to_boxes(mask).tolist() == [[2, 1, 5, 3]]


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not a png")
    ds = DetectionDataset([bad], [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long),
                                   "iscrowd": torch.zeros(0, dtype=torch.long)}])
    with pytest.raises(UserError, match=r"x\.png: cannot read this image"):
        ds[0]
    write_image(bad)
    assert ds[0][0].shape == (3, 48, 64)


def test_deprecated_bad_boxes_still_works(coco_dir: Path) -> None:
    images = [{"id": 1, "file_name": "1.png", "width": 64, "height": 48}]
    ann = [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [60, 40, 20, 20]}]
    path = write_coco(coco_dir, images, ann, name="old.json", write_files=False)
    with pytest.warns(DeprecationWarning, match="dataset.on_bad=skip"):
        data = coco(str(coco_dir / "images"), str(path), bad_boxes="drop", val_fraction=0, test_fraction=0)
    assert data.train.targets[0]["boxes"].shape == (0, 4)


def test_voc_eval_on_a_folder_with_fewer_classes_maps_onto_the_checkpoints(tmp_path: Path) -> None:
    from taskhub.cli import main
    from taskhub.testing import read_summary, run_task

    objs = {f"i{n}": [("cat", (2, 2, 20, 20), 0), ("dog", (30, 10, 60, 40), 0)] for n in range(6)}
    root = write_voc(tmp_path / "VOC", objs)
    run_task("detection", tmp_path / "run", "dataset=voc", f"dataset.root={root}", "model.input_size=64",
             "trainer.max_epochs=1", "trainer.num_threads=1", "task.plot_images=0")
    only_dogs = write_voc(tmp_path / "Dogs", {f"d{n}": [("dog", (30, 10, 60, 40), 0)] for n in range(6)})
    assert main(["eval", f"ckpt={tmp_path / 'run' / 'checkpoints' / 'best.pt'}", f"dataset.root={only_dogs}",
                 "split=all", f"hydra.run.dir={tmp_path / 'eval'}", "trainer.device=cpu", "trainer.progress=none"]) == 0
    assert "test/map_50" in read_summary(tmp_path / "eval")
