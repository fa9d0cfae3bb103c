"""Data pipelines: taskhub's loaders through the engine's batches vs what a practitioner writes with
torchvision/torchaudio and a plain ``DataLoader``, the same work, at num_workers 0, 1 and 2.

``--pipelines imagefolder,detection,speech`` (all by default; detection and speech read
../shared/data and are skipped without it). No model runs: this is the data pipeline alone.

imagefolder:

A temporary folder of ``--images`` small JPEGs (4 classes, 96x96, written once with PIL) is read
for whole epochs (batch 32, shuffled); no model runs, so this is the data pipeline alone.
taskhub: ``taskhub_vision.datasets.imagefolder(..., image_size=64, in_memory=False)`` (decoding with
``torchvision.io.decode_image``, resize to 64x64 uint8) iterated by ``taskhub.engine.batches.Batches``.
Reference: ``torchvision.datasets.ImageFolder`` (PIL loader) with ``v2.PILToTensor()`` and
``v2.Resize((64, 64))``, a plain ``DataLoader``. Variants interleaved in every repeat after one
warm-up epoch each; samples/second medians and the ratio taskhub / reference per worker count.
Before that, the in-memory decode (``in_memory: null`` for folders that fit) of that folder and of
300 400x300 JPEGs: ``decode_images``' default (threads when the first images decode slowly enough
to gain from them) against one thread.

detection: Penn-Fudan (170 PNGs with instance masks) with the box-aware augmentation that
``dataset.augment=auto`` picks for it (the task config's ``task.auto.box_aware_augment``), batch 8,
longer side shrunk to 320. taskhub: ``taskhub_detection.formats.pennfudan`` (boxes read from the
masks once) with ``taskhub_detection.augment.augmentation``. Reference: the torchvision detection
tutorial's dataset on the v2 API, with the boxes also computed once (a stricter reference than the
tutorial, which decodes every mask every epoch): ``decode_image``, a resize to 320,
``tv_tensors.BoundingBoxes`` and the same v2 ops with ``ClampBoundingBoxes``/``SanitizeBoundingBoxes``.

speech: FSDD (3,000 clips, 8 kHz). taskhub reads, resamples and featurizes every clip once when it
builds the data (``Task.build_data``: 40 log-Mels, 25/10 ms, per-utterance normalisation) and then
collates length buckets; its epochs are reported both alone and with that preparation added (the
first epoch's cost). Reference: a ``Dataset`` whose ``__getitem__`` reads the clip with soundfile and
computes the same torchaudio ``MelSpectrogram`` and normalisation, a padding collate, batch 16.

Usage: python bench/pipelines.py [--pipelines imagefolder,detection,speech] [--images 2000] [--repeats 3]
       [--workers 0,1,2] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def make_jpegs(root: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96]
    for i in range(n):
        folder = root / f"class_{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        base = (np.sin(xx / (3 + i % 7)) + np.cos(yy / (2 + i % 5))) * 60 + 128
        pixels = np.clip(base[..., None] + rng.normal(0, 20, (96, 96, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:05d}.jpg", quality=90)


def batch_samples(batch) -> int:  # type: ignore[no-untyped-def]
    if isinstance(batch, dict):
        return len(batch["image"] if "image" in batch else batch["lengths"])
    return len(batch[0])


def epoch_rate(batches) -> float:  # type: ignore[no-untyped-def]
    started, samples = time.perf_counter(), 0
    for batch in batches:
        samples += batch_samples(batch)
    return samples / (time.perf_counter() - started)


def taskhub_batches(root: Path, workers: int):  # type: ignore[no-untyped-def]
    from taskhub.engine.batches import Batches
    from taskhub_vision.datasets import imagefolder

    splits = imagefolder(str(root), image_size=64, in_memory=False, val_fraction=0.0, test_fraction=0.0, seed=0)
    return Batches(splits.train, 32, shuffle=True, collate=splits.collate, num_workers=workers, seed=0)


def reference_batches(root: Path, workers: int):  # type: ignore[no-untyped-def]
    from torch.utils.data import DataLoader
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import v2

    dataset = ImageFolder(str(root), transform=v2.Compose([v2.PILToTensor(), v2.Resize((64, 64), antialias=True)]))
    return DataLoader(dataset, batch_size=32, shuffle=True, num_workers=workers)


def box_aware_ops() -> list:  # type: ignore[type-arg]
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(ROOT / "plugins" / "taskhub_detection" / "configs" / "task" / "detection.yaml")
    return OmegaConf.to_container(OmegaConf.select(cfg, "task.auto.box_aware_augment"), resolve=True)


def detection_taskhub(root: Path, workers: int):  # type: ignore[no-untyped-def]
    from taskhub.engine.batches import Batches
    from taskhub_detection.augment import augmentation
    from taskhub_detection.formats import pennfudan

    splits = pennfudan(str(root), val_fraction=0.0, test_fraction=0.0, max_size=320, seed=0)
    splits.train.transform = augmentation(box_aware_ops())
    return Batches(splits.train, 8, shuffle=True, collate=splits.collate, num_workers=workers, seed=0)


class TutorialPennFudan(torch.utils.data.Dataset):
    """torchvision's detection tutorial dataset on the v2 API (boxes from the masks, computed once)."""

    def __init__(self, root: Path, ops: list) -> None:  # type: ignore[type-arg]
        from hydra.utils import instantiate
        from torchvision.io import decode_image
        from torchvision.ops import masks_to_boxes
        from torchvision.transforms import v2

        base = root / "PennFudanPed"
        self.images = sorted((base / "PNGImages").glob("*.png"))
        self.boxes = []
        for path in self.images:
            mask = decode_image(str(base / "PedMasks" / f"{path.stem}_mask.png"))[0]
            ids = torch.unique(mask)[1:]
            self.boxes.append(masks_to_boxes(mask == ids[:, None, None]))
        self.pipeline = v2.Compose([*(instantiate(op) for op in ops), v2.ClampBoundingBoxes(),
                                    v2.SanitizeBoundingBoxes(min_size=1.0)])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):  # type: ignore[no-untyped-def]
        from torchvision import tv_tensors
        from torchvision.io import ImageReadMode, decode_image
        from torchvision.transforms.v2 import functional as TF

        image, boxes = decode_image(str(self.images[i]), mode=ImageReadMode.RGB), self.boxes[i]
        h, w = image.shape[-2:]
        if max(h, w) > 320:
            scale = 320 / max(h, w)
            image, boxes = TF.resize(image, [round(h * scale), round(w * scale)], antialias=True), boxes * scale
        target = {"boxes": tv_tensors.BoundingBoxes(boxes, format="XYXY", canvas_size=tuple(image.shape[-2:])),
                  "labels": torch.ones(len(boxes), dtype=torch.int64)}
        return self.pipeline(tv_tensors.Image(image), target)


def detection_reference(root: Path, workers: int):  # type: ignore[no-untyped-def]
    from torch.utils.data import DataLoader

    return DataLoader(TutorialPennFudan(root, box_aware_ops()), batch_size=8, shuffle=True, num_workers=workers,
                      collate_fn=lambda batch: tuple(zip(*batch)))


SPEECH_PREP: list[float] = []


def speech_taskhub(root: Path, workers: int):  # type: ignore[no-untyped-def]
    import taskhub
    from taskhub.conformance import compose
    from taskhub.engine.batches import Batches

    cfg = compose("speech", "dataset=fsdd", f"dataset.root={root}")
    started = time.perf_counter()
    splits = taskhub.task_class("speech")(cfg).build_data("fit")
    SPEECH_PREP.append(time.perf_counter() - started)
    return Batches(splits.train, 1, shuffle=True, collate=splits.collate, num_workers=workers, seed=0)


class ClipsOnTheFly(torch.utils.data.Dataset):
    """The usual hand-written ASR dataset: read and featurize each clip when it is asked for."""

    def __init__(self, root: Path) -> None:
        import torchaudio.transforms as T

        self.clips = sorted(root.glob("*.wav"))
        self.mel = T.MelSpectrogram(sample_rate=8000, n_fft=200, win_length=200, hop_length=80, n_mels=40)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int):  # type: ignore[no-untyped-def]
        import soundfile as sf

        wave, _ = sf.read(str(self.clips[i]), dtype="float32", always_2d=True)
        spec = torch.log(self.mel(torch.from_numpy(wave).mean(1)) + 1e-6).T
        return (spec - spec.mean(0)) / (spec.std(0) + 1e-5), self.clips[i].name[0]


def pad_clips(batch):  # type: ignore[no-untyped-def]
    lengths = torch.tensor([len(x) for x, _ in batch])
    features = torch.nn.utils.rnn.pad_sequence([x for x, _ in batch], batch_first=True)
    return {"features": features, "lengths": lengths, "texts": [t for _, t in batch]}


def speech_reference(root: Path, workers: int):  # type: ignore[no-untyped-def]
    from torch.utils.data import DataLoader

    return DataLoader(ClipsOnTheFly(root), batch_size=16, shuffle=True, num_workers=workers, collate_fn=pad_clips)


def in_memory_decode(folders: dict[str, Path], repeats: int) -> dict:  # type: ignore[type-arg]
    """``imagefolder``'s in-memory decode (``in_memory: null`` when the folder fits), its default
    (threads when the first images decode slowly enough to gain) against one thread, interleaved."""
    from unittest import mock

    from taskhub_vision.datasets import decode_images

    rows = {}
    for label, root in folders.items():
        files = sorted(root.rglob("*.jpg"))
        times: dict = {"1 thread": [], "default": []}  # type: ignore[type-arg]
        for _ in range(repeats + 1):  # the first round warms the page cache
            for name in times:
                started = time.perf_counter()
                if name == "1 thread":
                    with mock.patch("os.cpu_count", return_value=1):
                        decode_images(files, 3, (64, 64), "bench")
                else:
                    decode_images(files, 3, (64, 64), "bench")
                times[name].append(time.perf_counter() - started)
        rows[label] = {name: statistics.median(t[1:]) for name, t in times.items()}
        print(f"in-memory decode of {len(files)} {label} JPEGs: 1 thread {rows[label]['1 thread']:.3f} s, "
              f"default {rows[label]['default']:.3f} s, speed-up {rows[label]['1 thread'] / rows[label]['default']:.2f}x",
              flush=True)
    return rows


def make_large_jpegs(root: Path, n: int = 300) -> None:
    import numpy as np
    from PIL import Image

    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)).save(root / f"{i:04d}.jpg", quality=90)


def measure(name: str, variants: dict, root: Path, workers: list[int], repeats: int) -> dict:  # type: ignore[type-arg]
    """Interleaved epochs of every (variant, workers) loader after one warm-up epoch each."""
    loaders = {(v, w): fn(root, w) for v, fn in variants.items() for w in workers}
    rates: dict = {key: [] for key in loaders}  # type: ignore[type-arg]
    for loader in loaders.values():  # warm-up: page cache, imports, taskhub's decode cache at 0 workers
        epoch_rate(loader)
    for r in range(repeats):
        keys = list(loaders)
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:
            rates[key].append(epoch_rate(loaders[key]))
        print(f"{name} repeat {r + 1}: " + " | ".join(f"{v} w{w} {rates[(v, w)][-1]:.0f}/s" for v, w in loaders),
              flush=True)
    reference = [v for v in variants if v != "taskhub"][0]
    rows = {}
    print(f"\n{name}: medians of {repeats} repeats")
    print(f"| num_workers | taskhub samples/s | {reference} samples/s | ratio |")
    print("|---:|---:|---:|---:|")
    for w in workers:
        t, ref = rates[("taskhub", w)], rates[(reference, w)]
        ratio = statistics.median(a / b for a, b in zip(t, ref))
        rows[w] = {"taskhub": statistics.median(t), reference: statistics.median(ref), "ratio": ratio}
        print(f"| {w} | {rows[w]['taskhub']:.0f} | {rows[w][reference]:.0f} | {ratio:.3f} |", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", default="imagefolder,detection,speech")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} on {os.cpu_count()} cores; torch threads {torch.get_num_threads()}", flush=True)
    results: dict = {"load_average": load}  # type: ignore[type-arg]
    chosen = args.pipelines.split(",")
    if "imagefolder" in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "images"
            make_jpegs(root, args.images)
            make_large_jpegs(Path(tmp) / "large")
            results["in_memory_decode"] = in_memory_decode({"96x96": root, "400x300": Path(tmp) / "large"},
                                                           args.repeats)
            results["imagefolder"] = measure(f"imagefolder ({args.images} JPEGs 96x96 -> 64x64, batch 32)",
                                             {"taskhub": taskhub_batches, "torchvision": reference_batches},
                                             root, workers, args.repeats)
    if "detection" in chosen:
        if (DATA / "pennfudan" / "PennFudanPed").is_dir():
            results["detection"] = measure("detection (Penn-Fudan, box-aware augmentation, batch 8)",
                                           {"taskhub": detection_taskhub, "tutorial": detection_reference},
                                           DATA / "pennfudan", workers, args.repeats)
        else:
            print(f"detection: skipped ({DATA / 'pennfudan'} not found)")
    if "speech" in chosen:
        root = DATA / "fsdd" / "recordings"
        if root.is_dir():
            SPEECH_PREP.clear()
            rows = measure("speech (FSDD, 40 log-Mels; taskhub's epochs without its one-time preparation)",
                           {"taskhub": speech_taskhub, "on-the-fly": speech_reference}, root, workers, args.repeats)
            prep = statistics.median(SPEECH_PREP)
            clips = len(list(root.glob("*.wav")))  # every split is prepared: train, val and test
            print(f"speech: taskhub's one-time read + featurize of all {clips} clips: median {prep:.1f} s "
                  f"({clips / prep:.0f} clips/s, {len(SPEECH_PREP)} builds)", flush=True)
            results["speech"] = {"rows": rows, "taskhub_preparation_seconds": prep, "clips": clips}
        else:
            print(f"speech: skipped ({root} not found)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
