"""The generic checks over a :class:`taskhub.data.DataDescription`: blocking problems (one line
each; ``taskhub data check`` exits 2) and warnings (printed, the data stay usable)."""
from __future__ import annotations

import difflib
import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from taskhub.data.description import SPLITS, DataDescription, SplitDescription

#: how many names a message lists before "and N more"
FIRST = 3
#: labels this similar (difflib ratio) are reported as possible near-duplicates
SIMILAR = 0.9


@dataclass
class CheckResult:
    """What the check found: ``summary`` (JSON: per split examples and class counts; stored in
    summary.json's ``data``), ``problems`` (blocking) and ``warnings``, and ``sections``
    (Markdown tables for the report)."""

    summary: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "problems": self.problems, "warnings": self.warnings,
                "sections": self.sections}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(summary=data["summary"], problems=list(data.get("problems", [])),
                   warnings=list(data.get("warnings", [])), sections=dict(data.get("sections", {})))


def run_checks(desc: DataDescription, skipped: dict[str, list[str]] | None = None) -> CheckResult:
    """Every generic check, in the order a reader wants them."""
    result = CheckResult(summary=summarize(desc, skipped or {}))
    result.problems += split_problems(desc)
    result.problems += class_problems(desc)
    result.problems += desc.problems
    result.warnings += skipped_warnings(skipped or {})
    result.warnings += near_duplicate_labels(_all_labels(desc))
    result.warnings += duplicate_warnings(desc)
    result.warnings += unusual_sizes(desc)
    result.warnings += unusual_lengths(desc)
    result.warnings += missing_values(desc)
    result.warnings += desc.notes
    result.summary["problems"], result.summary["warnings"] = result.problems, result.warnings
    return result


def _present(desc: DataDescription) -> dict[str, SplitDescription]:
    return {name: d for name in SPLITS if (d := desc.splits.get(name)) is not None}


def summarize(desc: DataDescription, skipped: dict[str, list[str]]) -> dict[str, Any]:
    """The few numbers worth keeping with every run: examples and class counts per split."""
    splits: dict[str, Any] = {}
    for name, d in _present(desc).items():
        entry: dict[str, Any] = {"examples": d.examples}
        if d.counts:
            entry[d.count_unit if d.count_unit != "examples" else "classes"] = dict(d.counts)
        for key, values in d.lengths.items():
            if values:
                entry[key] = {"min": min(values), "median": statistics.median(values), "max": max(values)}
        splits[name] = entry
    out: dict[str, Any] = {"splits": splits}
    if desc.labels:
        out["labels"] = list(desc.labels)
    if skipped:
        out["skipped"] = {reason: len(items) for reason, items in skipped.items()}
    return out


def split_problems(desc: DataDescription) -> list[str]:
    present = _present(desc)
    train = present.get("train")
    if train is None or train.examples == 0:
        return ["the training split has no examples: check dataset.root (or the dataset's files) and dataset.on_bad"]
    return [f"the {name} split is empty: add examples or let it be carved from train (dataset.{name}_fraction)"
            for name, d in present.items() if name != "train" and d.examples == 0]


def class_problems(desc: DataDescription) -> list[str]:
    present = _present(desc)
    train = present.get("train")
    if train is None or not train.examples or not desc.classification or not (train.counts or desc.labels):
        return []
    problems: list[str] = []
    seen = {k for k, v in train.counts.items() if v > 0}
    if train.counts:
        empty = [c for c in (desc.labels or list(train.counts)) if c not in seen]
        problems += [f"class '{c}' has no training {train.count_unit}: add some or remove the class" for c in empty[:10]]
        if len(empty) > 10:
            problems.append(f"... and {len(empty) - 10} more classes without training examples")
    for name, d in present.items():
        unknown = sorted(k for k, v in d.counts.items() if v > 0 and k not in seen) if name != "train" else []
        if unknown:
            problems.append(f"the {name} split has classes that training never has: {_first(unknown)}")
    if len(seen) == 1 and train.count_unit == "examples":
        problems.append(f"the training split has one class only ('{next(iter(seen))}'): classification needs at least two")
    return problems


def skipped_warnings(skipped: dict[str, list[str]]) -> list[str]:
    return [f"{len(items)} skipped ({reason}): {_first(items)}" for reason, items in skipped.items() if items]


def _all_labels(desc: DataDescription) -> list[str]:
    labels = list(desc.labels)
    for d in _present(desc).values():
        labels += [k for k in d.counts if k not in labels]
    return labels


def _normalized(label: str) -> str:
    return re.sub(r"[\W_]+", "", label.casefold())


def near_duplicate_labels(labels: list[str]) -> list[str]:
    """Labels that are probably one class spelt two ways: equal ignoring case, spaces and
    punctuation (``Pos`` / ``pos ``), or nearly equal (difflib ratio >= 0.9, not differing in digits only)."""
    found: list[str] = []
    pairs: set[tuple[str, str]] = set()
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(_normalized(label), []).append(label)
    for group in groups.values():
        if len(group) > 1:
            found.append("labels look like the same class: " + ", ".join(repr(g) for g in group))
            pairs.update((a, b) for a in group for b in group)
    keys = list(groups)[:500]  # pairwise: bounded
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if min(len(a), len(b)) < 4 or re.sub(r"\d", "", a) == re.sub(r"\d", "", b):
                continue
            if difflib.SequenceMatcher(None, a, b).ratio() >= SIMILAR:
                found.append(f"labels look alike: {groups[a][0]!r} and {groups[b][0]!r} (same class spelt twice?)")
    return found


def duplicate_warnings(desc: DataDescription) -> list[str]:
    """Examples of val/test whose content also occurs in train (by content hash)."""
    present = _present(desc)
    train = present.get("train")
    if train is None or not train.keys:
        return []
    train_keys = set(train.keys)
    out = []
    for name in ("val", "test"):
        d = present.get(name)
        if d is None or not d.keys:
            continue
        dup = [i for i, k in enumerate(d.keys) if k in train_keys]
        if dup:
            out.append(f"{len(dup)} of {d.examples} {name} examples also occur in train (same content): "
                       f"{_first([d.name(name, i) for i in dup])}")
    within = len(train.keys) - len(train_keys)
    if within:
        out.append(f"{within} training examples are exact copies of other training examples")
    return out


def unusual_sizes(desc: DataDescription) -> list[str]:
    """Items whose area is under a quarter or over four times the split's median, or whose
    aspect ratio is three times off the median's."""
    out = []
    for name, d in _present(desc).items():
        if len(d.sizes) < 2:
            continue
        areas = [w * h for w, h in d.sizes]
        median_area = statistics.median(areas)
        median_ratio = statistics.median(w / max(h, 1) for w, h in d.sizes)
        odd = [i for i, (w, h) in enumerate(d.sizes)
               if not median_area / 4 <= w * h <= median_area * 4
               or not median_ratio / 3 <= w / max(h, 1) <= median_ratio * 3]
        if odd:
            shown = [f"{d.name(name, i)} ({d.sizes[i][0]}x{d.sizes[i][1]})" for i in odd]
            out.append(f"{len(odd)} {name} items of unusual size (median {_median_size(d.sizes)}): {_first(shown)}")
    return out


def unusual_lengths(desc: DataDescription) -> list[str]:
    """Empty items, and items over ten times the median length (a clip of an hour among seconds)."""
    out = []
    for name, d in _present(desc).items():
        for key, values in d.lengths.items():
            if not values:
                continue
            median = statistics.median(values)
            empty = [i for i, v in enumerate(values) if v <= 0] if key not in desc.zero_ok else []
            long = [i for i, v in enumerate(values) if median > 0 and v > 10 * median]
            if empty:
                out.append(f"{len(empty)} {name} items have {key} 0: {_first([d.name(name, i) for i in empty])}")
            if long:
                shown = [f"{d.name(name, i)} ({values[i]:g})" for i in long]
                out.append(f"{len(long)} {name} items are over 10x the median {key} ({median:g}): {_first(shown)}")
    return out


def missing_values(desc: DataDescription) -> list[str]:
    out = []
    for name, d in _present(desc).items():
        missing = {c: s["missing"] for c, s in d.columns.items() if s.get("missing")}
        if missing:
            shown = [f"{c} ({n})" for c, n in missing.items()]
            out.append(f"{name}: missing values in {len(missing)} columns: {_first(shown, 5)}")
    return out


def _median_size(sizes: list[tuple[int, int]]) -> str:
    w = statistics.median(s[0] for s in sizes)
    h = statistics.median(s[1] for s in sizes)
    return f"{w:g}x{h:g}"


def _first(items: list[Any], count: int = FIRST) -> str:
    shown = ", ".join(str(i) for i in items[:count])
    return shown + (f" and {len(items) - count} more" if len(items) > count else "")
