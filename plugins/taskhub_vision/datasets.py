"""Image datasets in their standard layouts, all returned as :class:`VisionData`.

Images are kept as uint8 tensors (N, C, H, W) in memory where they fit, so the engine batches
them by slicing; the task normalizes whole batches on the device.
"""
from __future__ import annotations

import gzip
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from taskhub import UserError
from taskhub.data import InMemoryDataset, require_dir, seeded_split
from taskhub.data import safe_unpickle

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


@dataclass
class VisionData:
    train: Dataset | None
    val: Dataset | None
    test: Dataset | None
    labels: list[str]
    channels: int
    image_size: tuple[int, int]
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)


def _in_memory(images: torch.Tensor, labels: torch.Tensor) -> InMemoryDataset:
    return InMemoryDataset({"image": images, "label": labels.long()})


def _carve(images: torch.Tensor, labels: torch.Tensor, val_fraction: float, test_fraction: float,
           seed: int) -> tuple[InMemoryDataset, InMemoryDataset, InMemoryDataset | None]:
    train, val, test = seeded_split(len(labels), val_fraction, test_fraction, seed)
    make = lambda idx: _in_memory(images[idx], labels[idx])  # noqa: E731
    return make(train), make(val), make(test) if len(test) else None


# --- built-in default: shapes -------------------------------------------------------------------
SHAPES = ("circle", "square", "triangle", "cross", "ring", "diamond")


def shapes(size: int = 32, num_samples: int = 6000, val_fraction: float = 0.1, test_fraction: float = 0.1,
           seed: int = 0, noise: float = 0.15) -> VisionData:
    """Coloured shapes (circle, square, triangle, cross, ring, diamond) at random places, sizes and
    colours on noisy, cluttered backgrounds: generated, so no download, and learnable only
    from shape (colour and position carry no label information)."""
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
    train, val, test = _carve(x, torch.from_numpy(labels), val_fraction, test_fraction, seed)
    return VisionData(train, val, test, list(SHAPES), 3, (size, size), [0.35] * 3, [0.3] * 3)


# --- MNIST / Fashion-MNIST (idx files, .gz as distributed or extracted) ---------------------------
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MNIST_LABELS = [str(i) for i in range(10)]
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path: Path) -> np.ndarray:
    """Parse an idx file (the MNIST format: magic, dims, big-endian data), gzipped or not."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
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


def _idx_dataset(root: str | None, folder: str, labels: list[str], download: bool, val_fraction: float,
                 seed: int, mean: float, std: float, setting: str) -> VisionData:
    base = require_dir(root, hint=f" (a folder holding {folder}/raw/*-idx*-ubyte[.gz])") if not download else Path(root or ".")
    paths = {split: [_find_idx(base, folder, stem) for stem in stems] for split, stems in MNIST_FILES.items()}
    if any(p is None for ps in paths.values() for p in ps):
        if download:
            import torchvision

            cls = torchvision.datasets.MNIST if folder == "MNIST" else torchvision.datasets.FashionMNIST
            cls(str(base), train=True, download=True)
            cls(str(base), train=False, download=True)
            return _idx_dataset(str(base), folder, labels, False, val_fraction, seed, mean, std, setting)
        missing = [stem for split, stems in MNIST_FILES.items() for stem, p in zip(stems, paths[split]) if p is None]
        raise UserError(f"dataset.root={root}: {setting} files not found ({', '.join(missing)}[.gz] under "
                        f"{folder}/raw/); download them or pass dataset.download=true")
    arrays = {split: (read_idx(img), read_idx(lab)) for split, (img, lab) in paths.items()}
    for split, (img, lab) in arrays.items():
        if len(img) != len(lab):
            raise UserError(f"{paths[split][0]}: {len(img)} images but {len(lab)} labels")
    x_train = torch.from_numpy(arrays["train"][0].copy()).unsqueeze(1)
    y_train = torch.from_numpy(arrays["train"][1].astype(np.int64))
    train, val, _ = _carve(x_train, y_train, val_fraction, 0.0, seed)
    test = _in_memory(torch.from_numpy(arrays["test"][0].copy()).unsqueeze(1),
                      torch.from_numpy(arrays["test"][1].astype(np.int64)))
    return VisionData(train, val, test, labels, 1, tuple(x_train.shape[-2:]), [mean], [std])


def mnist(root: str | None = None, download: bool = False, val_fraction: float = 0.1, seed: int = 0) -> VisionData:
    """MNIST in torchvision's layout (``root/MNIST/raw``), read without writing into ``root``."""
    return _idx_dataset(root, "MNIST", MNIST_LABELS, download, val_fraction, seed, 0.1307, 0.3081, "MNIST")


def fashion_mnist(root: str | None = None, download: bool = False, val_fraction: float = 0.1, seed: int = 0) -> VisionData:
    """Fashion-MNIST in torchvision's layout (``root/FashionMNIST/raw``)."""
    return _idx_dataset(root, "FashionMNIST", FASHION_LABELS, download, val_fraction, seed, 0.2860, 0.3530, "Fashion-MNIST")


# --- CIFAR-10 (python pickles, or the .tar.gz as distributed) -----------------------------------
def cifar10(root: str | None = None, download: bool = False, val_fraction: float = 0.1, seed: int = 0) -> VisionData:
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
    train, val, _ = _carve(x, y, val_fraction, 0.0, seed)
    tx, ty = load("test_batch")
    test = _in_memory(torch.from_numpy(tx), torch.from_numpy(ty.astype(np.int64)))
    return VisionData(train, val, test, labels, 3, (32, 32), [0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616])


# --- ImageFolder: root/{train,val,test}/<class>/*.png|jpg ----------------------------------------
def read_image(path: Path, channels: int, size: Sequence[int]) -> torch.Tensor:
    """Decode, convert to ``channels`` and resize one image to a uint8 (C, H, W) tensor."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB").resize((size[1], size[0]), Image.BILINEAR)
            array = np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read this image ({exc}); fix or remove the file") from None
    return torch.from_numpy(array.copy()).reshape(size[0], size[1], -1).permute(2, 0, 1)


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


def _scan(folder: Path) -> dict[str, list[Path]]:
    classes = {}
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(f for f in d.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            classes[d.name] = files
    return classes


def imagefolder(root: str | None = None, image_size: int = 64, grayscale: bool = False, val_fraction: float = 0.1,
                test_fraction: float = 0.1, seed: int = 0, in_memory: bool | None = None,
                mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> VisionData:
    """``root/{train,val,test}/<class>/*`` (val and test carved from train by a seeded split when
    absent), or ``root/<class>/*`` split entirely by seed. Class names come from the train folders."""
    base = require_dir(root, hint=" (holding train/<class>/*.png or <class>/*.png)")
    train_dir = base / "train" if (base / "train").is_dir() else base
    classes = _scan(train_dir)
    if not classes:
        raise UserError(f"{train_dir}: no class folders with images ({', '.join(IMAGE_SUFFIXES)})")
    labels = list(classes)
    channels, size = (1 if grayscale else 3), (int(image_size), int(image_size))
    index = {name: i for i, name in enumerate(labels)}

    def listing(folder_classes: dict[str, list[Path]], folder: Path) -> tuple[list[Path], list[int]]:
        unknown = sorted(set(folder_classes) - set(index))
        if unknown:
            raise UserError(f"{folder}: class folders {', '.join(unknown)} do not exist in {train_dir}; "
                            f"every class must have training images")
        files = [f for name, fs in folder_classes.items() for f in fs]
        return files, [index[name] for name, fs in folder_classes.items() for _ in fs]

    files, ys = listing(classes, train_dir)
    splits: dict[str, tuple[list[Path], list[int]]] = {}
    own = {s: base / s for s in ("val", "test") if train_dir != base and (base / s).is_dir()}
    carve_val = 0.0 if "val" in own else val_fraction
    carve_test = 0.0 if "test" in own else test_fraction
    tr, va, te = seeded_split(len(files), carve_val, carve_test, seed)
    pick = lambda idx: ([files[i] for i in idx.tolist()], [ys[i] for i in idx.tolist()])  # noqa: E731
    splits["train"] = pick(tr)
    splits["val"] = listing(_scan(own["val"]), own["val"]) if "val" in own else pick(va)
    splits["test"] = listing(_scan(own["test"]), own["test"]) if "test" in own else (pick(te) if len(te) else ([], []))
    total = sum(len(f) for f, _ in splits.values())
    if in_memory is None:  # hold decoded images in memory up to ~1 GiB
        in_memory = total * channels * size[0] * size[1] <= 1 << 30

    def build(part: tuple[list[Path], list[int]]) -> Dataset | None:
        fs, ls = part
        if not fs:
            return None
        if in_memory:
            return _in_memory(torch.stack([read_image(f, channels, size) for f in fs]), torch.tensor(ls))
        return ImageFiles(fs, ls, channels, size)

    return VisionData(build(splits["train"]), build(splits["val"]), build(splits["test"]), labels, channels, size,
                      list(mean) if mean else [0.5] * channels, list(std) if std else [0.25] * channels)
