"""How the vision task describes its data for ``taskhub data check``: the generic description
(class counts, content hashes, a sample grid), plus the size of every image file read from its
header (nothing decoded) where the images are read from files, for images of unusual size."""
from __future__ import annotations

from typing import Any

from taskhub.data import DataDescription, Splits, describe_splits


def describe(task: Any, data: Splits, samples: int) -> DataDescription:
    desc = describe_splits(data, samples=samples)
    if getattr(task, "labels", None):
        desc.labels = list(task.labels)
    for split, part in desc.splits.items():
        files = getattr(getattr(data, split, None), "files", None)
        if part is not None and files:
            part.sizes = header_sizes(files)
    return desc


def header_sizes(files: list[Any]) -> list[tuple[int, int]]:
    """(width, height) of each image from its header; (0, 0) for a file that cannot be opened."""
    from PIL import Image, UnidentifiedImageError

    sizes = []
    for f in files:
        try:
            with Image.open(f) as img:
                sizes.append((int(img.width), int(img.height)))
        except (UnidentifiedImageError, OSError, ValueError):
            sizes.append((0, 0))
    return sizes
