"""How the speech task describes its data for ``taskhub data check``: per split the utterances,
their durations (from the feature frames: no audio is decoded again) and transcript lengths,
content hashes of the features (the same clip in train and test), and the features of a few
training clips drawn as spectrograms."""
from __future__ import annotations

import hashlib
from typing import Any

from omegaconf import OmegaConf

from taskhub.data import DataDescription, Sample, SplitDescription, Splits

#: training clips drawn as spectrograms
PICTURES = 3


def describe(task: Any, data: Splits, samples: int) -> DataDescription:
    cfg = task.cfg
    kind = str(OmegaConf.select(cfg, "task.features.kind") or "logmel")
    rate = int(OmegaConf.select(cfg, "task.features.sample_rate") or 16000)
    hop = float(OmegaConf.select(cfg, "task.features.hop_ms") or 10.0)
    seconds_per_frame = 1.0 / rate if kind == "waveform" else hop / 1000.0
    desc = DataDescription(splits={}, classification=False)
    for split in ("train", "val", "test"):
        ds = getattr(data, split, None)
        desc.splits[split] = None if ds is None else describe_split(ds.examples, seconds_per_frame)
    train = data.train
    if samples and train is not None and kind != "waveform":
        for example in train.examples[:min(PICTURES, samples)]:
            desc.samples.append(Sample(caption=f"{example.id}: {example.text}", audio=example.features,
                                       sample_rate=int(round(1 / seconds_per_frame))))
    return desc


def describe_split(examples: list[Any], seconds_per_frame: float) -> SplitDescription:
    return SplitDescription(
        examples=len(examples),
        lengths={"seconds": [round(e.frames * seconds_per_frame, 3) for e in examples],
                 "transcript characters": [float(len(e.text)) for e in examples]},
        keys=[hashlib.blake2b(e.features.contiguous().numpy().tobytes(), digest_size=16).hexdigest() for e in examples],
        names=[str(e.id) for e in examples])
