"""How the text task describes its data for ``taskhub data check``: class counts by the task's
label order, token counts per example, content hashes of the token ids (train/test copies), and a
table of sample texts (decoded back from the ids)."""
from __future__ import annotations

from typing import Any

from taskhub.data import DataDescription, Sample, Splits, class_counts, describe_splits, spread_indices


def describe(task: Any, data: Splits, samples: int) -> DataDescription:
    desc = describe_splits(data, samples=0)
    labels = list(getattr(task, "labels", None) or desc.labels)
    desc.labels = labels
    for split, part in desc.splits.items():
        ds = getattr(data, split, None)
        if part is None or ds is None:
            continue
        part.counts, _ = class_counts(ds.labels, labels)
        part.lengths = {"tokens": [float(len(ids)) for ids in ds.ids]}
    train = data.train
    tokenizer = getattr(task, "tokenizer", None)
    if samples and train is not None and tokenizer is not None:
        for i in spread_indices(train.labels, len(train), samples):
            label = int(train.labels[i])
            text = tokenizer.decode(train.ids[i].tolist())
            desc.samples.append(Sample(caption=labels[label] if label < len(labels) else str(label), text=text))
    return desc
