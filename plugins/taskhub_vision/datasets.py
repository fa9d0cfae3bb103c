"""Image datasets in their standard layouts, all returned as :class:`taskhub.data.Splits`.

Images are kept as uint8 tensors (N, C, H, W) in memory where they fit, so the engine batches
them by slicing; the task normalizes whole batches on the device. ``info`` carries ``labels``,
``channels`` and ``image_size`` (height, width). Bad inputs follow ``on_bad`` (error | skip).
"""
from __future__ import annotations

import gzip
import logging
import os
import tarfile
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from taskhub import UserError
from taskhub.data import BadInputs, InMemoryDataset, Splits, cached_tensors, carve_splits, require_dir
from taskhub.data import safe_unpickle

log = logging.getLogger("taskhub")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _in_memory(images: torch.Tensor, labels: torch.Tensor) -> InMemoryDataset:
    return InMemoryDataset({"image": images, "label": labels.long()})


def _splits(images: torch.Tensor, labels: torch.Tensor, names: list[str], val_fraction: float, seed: int,
            test_fraction: float = 0.0, test: tuple[torch.Tensor, torch.Tensor] | None = None,
            skipped: dict[str, list[str]] | None = None) -> Splits:
    """In-memory splits: val (and test, unless the format ships one) carved from the training
    images by the one carving rule, seeded."""
    train, val, carved = carve_splits(len(labels), has_val=False, has_test=test is not None,
                                      val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    make = lambda idx: _in_memory(images[idx], labels[idx])  # noqa: E731
    test_set = _in_memory(*test) if test is not None else (make(carved) if carved is not None and len(carved) else None)
    info = {"labels": list(names), "channels": int(images.shape[1]), "image_size": [int(v) for v in images.shape[-2:]]}
    return Splits(train=make(train), val=make(val) if len(val) else None, test=test_set, info=info,
                  skipped=dict(skipped or {}))


# --- built-in default: shapes -------------------------------------------------------------------
SHAPES = ("circle", "square", "triangle", "cross", "ring", "diamond")
#: Bumped whenever _draw_shapes draws differently, so no cached set from an older drawing is reused.
SHAPES_VERSION = 1


def shapes(size: int = 32, num_samples: int = 6000, val_fraction: float = 0.1, test_fraction: float = 0.1,
           seed: int = 0, noise: float = 0.15) -> Splits:
    """Coloured shapes (circle, square, triangle, cross, ring, diamond) at random places, sizes and
    colours on noisy, cluttered backgrounds: generated, so no download, and learnable only
    from shape (colour and position carry no label information). Drawn once per machine and
    settings, then read from the generated-data cache (:func:`taskhub.data.cached_tensors`)."""
    settings = {"version": SHAPES_VERSION, "size": size, "num_samples": num_samples, "seed": seed, "noise": noise}
    made = cached_tensors("shapes", settings, lambda: _draw_shapes(size, num_samples, seed, noise))
    return _splits(made["images"], made["labels"], list(SHAPES), val_fraction, seed, test_fraction=test_fraction)


def _draw_shapes(size: int, num_samples: int, seed: int, noise: float) -> dict[str, torch.Tensor]:
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    images = np.empty((num_samples, size, size, 3), dtype=np.uint8)
    labels = rng.integers(0, len(SHAPES), num_samples)
    for i, label in enumerate(labels):
        bg = rng.integers(0, 120, 3)
        img = Image.new("RGB", (size, size), tuple(int(c) for c in bg))
        draw = ImageDraw.Draw(img)
        for _ in range(2):  # clutter: random thin lines
            pts = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(2)]
            draw.line(pts, fill=tuple(int(c) for c in rng.integers(0, 140, 3)), width=1)
        r = rng.uniform(size * 0.18, size * 0.38)
        cx, cy = rng.uniform(r + 1, size - r - 1, 2)
        color = tuple(int(c) for c in rng.integers(130, 256, 3))
        box = [cx - r, cy - r, cx + r, cy + r]
        kind = SHAPES[label]
        if kind == "circle":
            draw.ellipse(box, fill=color)
        elif kind == "square":
            draw.rectangle(box, fill=color)
        elif kind == "triangle":
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)
        elif kind == "cross":
            t = max(2.0, r / 3)
            draw.rectangle([cx - r, cy - t, cx + r, cy + t], fill=color)
            draw.rectangle([cx - t, cy - r, cx + t, cy + r], fill=color)
        elif kind == "ring":
            draw.ellipse(box, outline=color, width=max(2, int(r / 3)))
        else:
            draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=color)
        images[i] = np.asarray(img)
    noisy = images.astype(np.float32) + rng.normal(0, noise * 255, images.shape)
    x = torch.from_numpy(np.clip(noisy, 0, 255).astype(np.uint8)).permute(0, 3, 1, 2).contiguous()
    return {"images": x, "labels": torch.from_numpy(labels)}


# --- MNIST / Fashion-MNIST (idx files, .gz as distributed or extracted) ---------------------------
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MNIST_LABELS = [str(i) for i in range(10)]
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path: Path) -> np.ndarray:
    """Parse an idx file (the MNIST format: magic, dims, big-endian data), gzipped or not."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise UserError(f"{path}: not a valid gzip file ({exc}); download it again, or gunzip it and "
                        f"drop the .gz suffix if it is not compressed") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise UserError(f"{path}: not an idx file (bad magic number)")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise UserError(f"{path}: unknown idx data type 0x{raw[2]:02x}")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise UserError(f"{path}: truncated idx file ({data.size} values, header says {int(np.prod(shape))})")
    return data.reshape(shape)


def _find_idx(root: Path, folder: str, stem: str) -> Path | None:
    for base in (root / folder / "raw", root / "raw", root):
        for name in (stem, stem + ".gz"):
            if (base / name).is_file():
                return base / name
    return None


def _checked_labels(images: np.ndarray, labels: np.ndarray, paths: list[Path], classes: int,
                    bad: BadInputs) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one idx pair, every label a class index (0..classes-1)."""
    if images.ndim != 3:
        raise UserError(f"{paths[0]}: expected (N, height, width) images, found shape {tuple(images.shape)}")
    if labels.ndim != 1 or len(images) != len(labels):
        raise UserError(f"{paths[0]}: {len(images)} images but {paths[1].name} has {labels.size} labels")
    outside = np.flatnonzero((labels < 0) | (labels >= classes))
    for i in outside[:1000]:
        bad.report(f"{paths[1]}: item {int(i)}", f"label {int(labels[i])} is outside 0-{classes - 1}")
    if len(outside) > 1000:  # counted, not listed one by one
        bad.skipped.setdefault(f"label outside 0-{classes - 1}", []).extend(
            f"{paths[1]}: item {int(i)}" for i in outside[1000:])
    keep = np.ones(len(labels), dtype=bool)
    keep[outside] = False
    return images[keep], labels[keep].astype(np.int64)


def _idx_dataset(root: str | None, folder: str, labels: list[str], download: bool, val_fraction: float,
                 seed: int, setting: str, on_bad: str) -> Splits:
    bad = BadInputs(on_bad)
    base = require_dir(root, hint=f" (a folder holding {folder}/raw/*-idx*-ubyte[.gz])") if not download else Path(root or ".")
    paths = {split: [_find_idx(base, folder, stem) for stem in stems] for split, stems in MNIST_FILES.items()}
    if any(p is None for ps in paths.values() for p in ps):
        if download:
            import torchvision

            cls = torchvision.datasets.MNIST if folder == "MNIST" else torchvision.datasets.FashionMNIST
            cls(str(base), train=True, download=True)
            cls(str(base), train=False, download=True)
            return _idx_dataset(str(base), folder, labels, False, val_fraction, seed, setting, on_bad)
        missing = [stem for split, stems in MNIST_FILES.items() for stem, p in zip(stems, paths[split]) if p is None]
        raise UserError(f"dataset.root={root}: {setting} files not found ({', '.join(missing)}[.gz] under "
                        f"{folder}/raw/); download them or pass dataset.download=true")
    arrays = {split: _checked_labels(read_idx(img), read_idx(lab), [img, lab], len(labels), bad)
              for split, (img, lab) in paths.items()}
    bad.warn("images")
    x_train = torch.from_numpy(arrays["train"][0].copy()).unsqueeze(1)
    y_train = torch.from_numpy(arrays["train"][1])
    test = (torch.from_numpy(arrays["test"][0].copy()).unsqueeze(1), torch.from_numpy(arrays["test"][1]))
    return _splits(x_train, y_train, labels, val_fraction, seed, test=test, skipped=bad.skipped)


def mnist(root: str | None = None, download: bool = False, val_fraction: float = 0.1, seed: int = 0,
          on_bad: str = "error") -> Splits:
    """MNIST in torchvision's layout (``root/MNIST/raw``), read without writing into ``root``."""
    return _idx_dataset(root, "MNIST", MNIST_LABELS, download, val_fraction, seed, "MNIST", on_bad)


def fashion_mnist(root: str | None = None, download: bool = False, val_fraction: float = 0.1, seed: int = 0,
                  on_bad: str = "error") -> Splits:
    """Fashion-MNIST in torchvision's layout (``root/FashionMNIST/raw``)."""
    return _idx_dataset(root, "FashionMNIST", FASHION_LABELS, download, val_fraction, seed, "Fashion-MNIST", on_bad)


# --- CIFAR-10 (python pickles, or the .tar.gz as distributed) -----------------------------------
def cifar10(root: str | None = None, download: bool = False, val_fraction: float = 0.1, seed: int = 0) -> Splits:
    """CIFAR-10: ``root/cifar-10-batches-py/`` or ``root/cifar-10-python.tar.gz`` (read in place)."""
    base = Path(root or ".") if download else require_dir(root, hint=" (holding cifar-10-batches-py/ or cifar-10-python.tar.gz)")
    folder, archive = base / "cifar-10-batches-py", base / "cifar-10-python.tar.gz"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]
    if folder.is_dir():
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise UserError(f"{folder}: missing {', '.join(missing)}")
        blobs = {n: (folder / n).read_bytes() for n in names}
    elif archive.is_file():
        with tarfile.open(archive, "r:gz") as tar:
            blobs = {Path(m.name).name: tar.extractfile(m).read() for m in tar.getmembers()
                     if m.isfile() and Path(m.name).name in names}
        if [n for n in names if n not in blobs]:
            raise UserError(f"{archive}: missing {', '.join(n for n in names if n not in blobs)}")
    elif download:
        import torchvision

        torchvision.datasets.CIFAR10(str(base), download=True)
        return cifar10(str(base), False, val_fraction, seed)
    else:
        raise UserError(f"dataset.root={root}: no cifar-10-batches-py/ or cifar-10-python.tar.gz there "
                        f"(download it or pass dataset.download=true)")

    where = folder if folder.is_dir() else archive

    def load(name: str) -> tuple[np.ndarray, np.ndarray]:
        # CIFAR's official format is a Python pickle: read as data only (a crafted batch is refused).
        batch = safe_unpickle(blobs[name], source=where / name, encoding="bytes")
        if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
            raise UserError(f"{where / name}: not a CIFAR-10 batch (no data and labels inside); get the dataset again")
        images, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
        if (images.size != len(labels) * 3 * 32 * 32 or labels.dtype.kind not in "iu"
                or (labels.size and not 0 <= labels.min() <= labels.max() <= 9)):
            raise UserError(f"{where / name}: not a CIFAR-10 batch ({images.size} pixel values for {len(labels)} "
                            f"labels, labels must be 0-9); get the dataset again")
        return images.astype(np.uint8).reshape(-1, 3, 32, 32), labels

    parts = [load(f"data_batch_{i}") for i in range(1, 6)]
    x = torch.from_numpy(np.concatenate([p[0] for p in parts]))
    y = torch.from_numpy(np.concatenate([p[1] for p in parts]).astype(np.int64))
    meta = safe_unpickle(blobs["batches.meta"], source=where / "batches.meta", encoding="bytes")
    labels = [n.decode() for n in meta[b"label_names"]]
    tx, ty = load("test_batch")
    return _splits(x, y, labels, val_fraction, seed, test=(torch.from_numpy(tx), torch.from_numpy(ty.astype(np.int64))))


# --- ImageFolder: root/{train,val,test}/<class>/*.png|jpg ----------------------------------------
#: suffixes torchvision.io.decode_image reads; others go through PIL
DECODABLE = (".png", ".jpg", ".jpeg", ".webp", ".gif")
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F", "P;L")


def _pair(size: int | Sequence[int]) -> tuple[int, int]:
    """(height, width) from an int or a [height, width] list."""
    if isinstance(size, (int, float)):
        return int(size), int(size)
    values = [int(v) for v in size]
    if len(values) != 2 or min(values) < 1:
        raise UserError(f"dataset.image_size={list(size)}: give one side, or [height, width]")
    return values[0], values[1]


#: below this many seconds per image the decode is mostly Python under the GIL, and threads slow it
#: down (96x96 JPEGs: 0.17 ms each, 0.8x on 2 threads); above it they speed it up (400x300: 1.2 ms, 1.7x)
THREADED_DECODE_SECONDS = 5e-4


def decode_images(files: Sequence[Path], channels: int, size: Sequence[int], split: str) -> torch.Tensor:
    """Every file decoded and resized into one uint8 (N, C, H, W) tensor, with one line saying how
    long it took. The first images are timed: when one takes long enough for the C++ decode and resize
    (which release the GIL) to dominate, the rest are spread over a thread per core (at most 8)."""
    out = torch.empty(len(files), channels, *(int(v) for v in size), dtype=torch.uint8)

    def span(start: int, stop: int) -> None:
        for i in range(start, stop):
            out[i] = read_image(files[i], channels, size)

    started = time.perf_counter()
    probe = min(len(files), 32)
    span(0, probe)
    per_image = (time.perf_counter() - started) / max(probe, 1)
    workers = max(1, min(len(files) - probe, os.cpu_count() or 1, 8))
    if per_image < THREADED_DECODE_SECONDS:
        workers = 1
    if workers == 1:
        span(probe, len(files))
    else:  # one contiguous span per thread: a future per image costs more than a small image's decode
        bounds = [probe + (len(files) - probe) * k // workers for k in range(workers + 1)]
        with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
            for done in [pool.submit(span, a, b) for a, b in zip(bounds, bounds[1:])]:
                done.result()  # the first error is raised here
    log.info("%s: decoded %d images into memory (%.0f MB) in %.1fs on %d thread%s (%.2f ms per image)",
             split, len(files), out.numel() / 2**20, time.perf_counter() - started, workers,
             "" if workers == 1 else "s", per_image * 1e3)
    return out


def read_image(path: Path, channels: int, size: Sequence[int]) -> torch.Tensor:
    """Decode, convert to ``channels`` and resize one image to a uint8 (C, H, W) tensor."""
    from torchvision.transforms.v2 import functional as TF

    path = Path(path)
    try:
        if path.suffix.lower() in DECODABLE:
            from torchvision.io import ImageReadMode, decode_image

            image = decode_image(str(path), mode=ImageReadMode.GRAY if channels == 1 else ImageReadMode.RGB)
            image = image[0] if image.dim() == 4 else image  # an animated GIF: its first frame
        else:
            from PIL import Image

            with Image.open(path) as img:
                array = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
            image = torch.from_numpy(array.copy()).reshape(array.shape[0], array.shape[1], -1).permute(2, 0, 1)
    except (RuntimeError, OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"{path}: cannot read this image ({first}); fix or remove the file") from None
    size = tuple(int(v) for v in size)
    if tuple(image.shape[-2:]) != size:
        image = TF.resize(image, list(size), antialias=True)
    return image.contiguous()


class ImageFiles(Dataset):
    """Images decoded on access (for folders too big to hold in memory)."""

    def __init__(self, files: list[Path], labels: list[int], channels: int, size: Sequence[int]) -> None:
        self.files, self.labels, self.channels, self.size = files, labels, channels, tuple(size)
        self.transform: Callable | None = None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {"image": read_image(self.files[i], self.channels, self.size), "label": torch.tensor(self.labels[i])}
        return self.transform(item) if self.transform else item


def _scan(folder: Path, bad: BadInputs | None = None) -> dict[str, list[Path]]:
    """Class name -> its image files, through torchvision's ImageFolder rules (``find_classes``,
    ``make_dataset``). A class folder without images is reported (``bad``) or, for val/test
    folders, simply has no examples there."""
    from torchvision.datasets.folder import find_classes, make_dataset

    try:
        names, class_to_idx = find_classes(str(folder))
    except FileNotFoundError:
        return {}
    found = make_dataset(str(folder), class_to_idx, extensions=IMAGE_SUFFIXES, allow_empty=True)
    classes: dict[str, list[Path]] = {name: [] for name in names}
    for path, index in found:
        classes[names[index]].append(Path(path))
    for name in names:
        if not classes[name] and bad is not None:
            bad.report(str(folder / name), f"class folder holds no images ({', '.join(IMAGE_SUFFIXES)}); add images "
                                           f"or remove the folder")
    return {name: sorted(files) for name, files in classes.items() if files}


def _train_dir(base: Path) -> Path:
    return base / "train" if (base / "train").is_dir() else base


def survey(root: str | None, seed: int = 0, limit: int = 1000) -> dict[str, object]:
    """What ``auto`` image settings need, from (a seeded sample of at most ``limit``) training
    files' headers: ``sizes`` [(width, height)], ``modes``, ``files``, ``count``; nothing is decoded."""
    from PIL import Image, UnidentifiedImageError

    base = require_dir(root, hint=" (holding train/<class>/*.png or <class>/*.png)")
    files = [f for fs in _scan(_train_dir(base)).values() for f in fs]
    if len(files) > limit:
        pick = np.random.default_rng(seed).choice(len(files), limit, replace=False)
        sample = [files[i] for i in sorted(pick)]
    else:
        sample = files
    sizes, modes = [], []
    for f in sample:
        try:
            with Image.open(f) as img:
                sizes.append(img.size)
                modes.append(img.mode)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise UserError(f"{f}: cannot read this image ({exc}); fix or remove the file") from None
    return {"sizes": sizes, "modes": modes, "files": sample, "count": len(files)}


def imagefolder(root: str | None = None, image_size: int | list[int] = 64, grayscale: bool = False,
                val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0, in_memory: bool | None = None,
                on_bad: str = "error") -> Splits:
    """``root/{train,val,test}/<class>/*`` (val and test carved from train by a seeded split when
    absent), or ``root/<class>/*`` split entirely by seed. Class names come from the train folders;
    an empty class folder is one line (or, with ``on_bad=skip``, a warning naming it)."""
    bad = BadInputs(on_bad)
    base = require_dir(root, hint=" (holding train/<class>/*.png or <class>/*.png)")
    train_dir = _train_dir(base)
    classes = _scan(train_dir, bad)
    bad.warn("class folders")
    if not classes:
        raise UserError(f"{train_dir}: no class folders with images ({', '.join(IMAGE_SUFFIXES)})")
    labels = list(classes)
    channels, size = (1 if grayscale else 3), _pair(image_size)
    index = {name: i for i, name in enumerate(labels)}

    def listing(folder_classes: dict[str, list[Path]], folder: Path) -> tuple[list[Path], list[int]]:
        unknown = sorted(set(folder_classes) - set(index))
        if unknown:
            raise UserError(f"{folder}: class folders {', '.join(unknown)} do not exist in {train_dir}; "
                            f"every class must have training images")
        files = [f for name, fs in folder_classes.items() for f in fs]
        return files, [index[name] for name, fs in folder_classes.items() for _ in fs]

    files, ys = listing(classes, train_dir)
    own = {s: base / s for s in ("val", "test") if train_dir != base and (base / s).is_dir()}
    tr, va, te = carve_splits(len(files), has_val="val" in own, has_test="test" in own,
                              val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    pick = lambda idx: ([files[i] for i in idx.tolist()], [ys[i] for i in idx.tolist()])  # noqa: E731
    parts = {"train": pick(tr),
             "val": listing(_scan(own["val"]), own["val"]) if "val" in own else pick(va),
             "test": listing(_scan(own["test"]), own["test"]) if "test" in own else pick(te)}
    total = sum(len(f) for f, _ in parts.values())
    if in_memory is None:  # hold decoded images in memory up to ~1 GiB
        in_memory = total * channels * size[0] * size[1] <= 1 << 30

    def build(split: str) -> Dataset | None:
        fs, ls = parts[split]
        if not fs:
            return None
        if in_memory:
            return _in_memory(decode_images(fs, channels, size, split), torch.tensor(ls))
        return ImageFiles(fs, ls, channels, size)

    info = {"labels": labels, "channels": channels, "image_size": list(size)}
    return Splits(train=build("train"), val=build("val"), test=build("test"), info=info, skipped=bad.skipped)
