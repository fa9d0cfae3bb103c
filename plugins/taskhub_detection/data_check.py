"""How the detection task describes its data for ``taskhub data check``: boxes per class, boxes
per image, each image's original size (from the files' headers, nothing decoded), files hashed by
content, and a few training images with their boxes drawn (only those are decoded)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import torch

from taskhub.data import DataDescription, Sample, SplitDescription, Splits, file_keys

#: training images drawn with their boxes
PICTURES = 6


def describe(task: Any, data: Splits, samples: int) -> DataDescription:
    labels = [str(n) for n in (getattr(task, "labels", None) or data.info.get("labels") or [])]
    desc = DataDescription(splits={}, labels=labels, zero_ok=["boxes per image"])
    for split in ("train", "val", "test"):
        ds = getattr(data, split, None)
        desc.splits[split] = None if ds is None else describe_split(ds, labels, split)
    train = data.train
    if samples and train is not None:
        for i in range(min(len(train), PICTURES, samples)):
            image, target = train.load(i)
            names = [_name(labels, int(v)) for v in target["labels"].tolist()]
            desc.samples.append(Sample(caption=f"{_short(train.images[i], i)}: {len(names)} box{'es' if len(names) != 1 else ''}", image=image,
                                       boxes=target["boxes"].tolist(), box_labels=names))
    for split, part in desc.splits.items():
        negatives = sum(1 for v in (part.lengths["boxes per image"] if part else []) if not v)
        if negatives:
            desc.notes.append(f"{negatives} {split} images hold no boxes (used as negatives)")
    empty = desc.splits.get("train")
    if empty is not None and empty.examples and not sum(empty.counts.values()):
        desc.problems.append("the training images hold no boxes at all: check the annotations (dataset.root)")
    return desc


def describe_split(ds: Any, labels: list[str], split: str) -> SplitDescription:
    counts: Counter[str] = Counter()
    per_image = []
    for target in ds.targets:
        values = target["labels"].tolist()
        counts.update(_name(labels, int(v)) for v in values)
        per_image.append(float(len(values)))
    part = SplitDescription(examples=len(ds), count_unit="boxes",
                            counts={**{n: counts.get(n, 0) for n in labels}, **{k: v for k, v in counts.items() if k not in labels}},
                            lengths={"boxes per image": per_image}, sizes=list(ds.sizes))
    if all(isinstance(im, Path) for im in ds.images):
        part.names = [str(im) for im in ds.images]
        part.keys = file_keys(ds.images)
    else:
        import hashlib

        part.keys = [hashlib.blake2b(im.contiguous().numpy().tobytes(), digest_size=16).hexdigest()
                     if isinstance(im, torch.Tensor) else str(im) for im in ds.images]
    return part


def _name(labels: list[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else str(index)


def _short(image: Any, index: int) -> str:
    return Path(image).name if isinstance(image, Path) else f"#{index}"
