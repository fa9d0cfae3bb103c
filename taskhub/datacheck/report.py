"""``data_report.md`` and its pictures: what a person reads before training on a dataset."""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from taskhub.data.description import SPLITS, DataDescription
from taskhub.datacheck.checks import CheckResult

REPORT = "data_report.md"


def tables(desc: DataDescription) -> dict[str, str]:
    """The report's Markdown tables (kept in the cache, so a cached run rewrites the same report)."""
    present = {n: d for n in SPLITS if (d := desc.splits.get(n)) is not None}
    out: dict[str, str] = {}
    out["Splits"] = _md(["split", "examples"], [[n, f"{d.examples:,}"] for n, d in present.items()])
    if any(d.counts for d in present.values()):
        unit = next((d.count_unit for d in present.values() if d.counts), "examples")
        classes = list(desc.labels) + sorted({c for d in present.values() for c in d.counts} - set(desc.labels))
        rows = [[c, *(f"{d.counts.get(c, 0):,}" for d in present.values())] for c in classes[:200]]
        out[f"Classes ({unit})"] = _md(["class", *present], rows)
    rows = []
    for name, d in present.items():
        for key, values in d.lengths.items():
            if values:
                rows.append([key, name, f"{min(values):g}", f"{statistics.median(values):g}", f"{max(values):g}",
                             f"{statistics.fmean(values):.4g}"])
    if rows:
        out["Lengths"] = _md(["quantity", "split", "min", "median", "max", "mean"], rows)
    rows = []
    for name, d in present.items():
        if d.sizes:
            common: dict[tuple[int, int], int] = {}
            for s in d.sizes:
                common[s] = common.get(s, 0) + 1
            top = sorted(common.items(), key=lambda kv: -kv[1])[:5]
            rows.append([name, f"{len(common)}", ", ".join(f"{w}x{h} ({c})" for (w, h), c in top)])
    if rows:
        out["Sizes (width x height)"] = _md(["split", "distinct sizes", "most common"], rows)
    rows = [[c, name, s.get("kind", ""), _num(s.get("min")), _num(s.get("max")), s.get("missing", 0), s.get("distinct", "")]
            for name, d in present.items() for c, s in list(d.columns.items())[:100]]
    if rows:
        out["Columns"] = _md(["column", "split", "kind", "min", "max", "missing", "distinct"], rows)
    return out


def write_markdown(out_dir: Path, title: str, result: CheckResult, pictures: list[Path]) -> Path:
    lines = [f"# Data check: {title}", ""]
    lines += ["**Usable**: " + ("yes" if result.usable else "no"), ""]
    if result.problems:
        lines += ["## Problems (blocking)", ""] + [f"- {p}" for p in result.problems] + [""]
    if result.warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in result.warnings] + [""]
    for heading, table in result.sections.items():
        lines += [f"## {heading}", "", table, ""]
    skipped = result.summary.get("skipped") or {}
    if skipped:
        lines += ["## Skipped", ""] + [f"- {reason}: {n}" for reason, n in skipped.items()] + [""]
    if pictures:
        lines += ["## Pictures", ""]
        lines += [f"![{p.stem}]({p.name})" if p.suffix == ".png" else f"- [{p.name}]({p.name})" for p in pictures]
        lines.append("")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def draw(out_dir: Path, title: str, desc: DataDescription) -> list[Path]:
    """The pictures: sample grid (boxes drawn where there are some), class histogram, length
    histograms, spectrograms, and a table of sample texts."""
    from taskhub import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    images = [s for s in desc.samples if s.image is not None]
    if images:
        path = out_dir / "data_samples.png"
        if any(s.boxes for s in images):
            plots.image_grid_with_boxes(path, [s.image for s in images], [s.caption for s in images],
                                        [s.boxes for s in images], [s.box_labels for s in images],
                                        f"{title}: training samples")
        else:
            plots.image_grid(path, [s.image for s in images], [s.caption for s in images],
                             f"{title}: training samples", columns=min(8, len(images)), panel_inches=1.8)
        written.append(path)
    present = {n: d for n in SPLITS if (d := desc.splits.get(n)) is not None}
    counts = {n: d.counts for n, d in present.items() if d.counts}
    if counts:
        unit = next(d.count_unit for d in present.values() if d.counts)
        path = out_dir / "data_labels.png"
        plots.plot_class_counts(path, counts, f"{title}: {unit} per class", unit=unit)
        written.append(path)
    keys = sorted({k for d in present.values() for k in d.lengths})
    for key in keys:
        if all(len(d.lengths.get(key, [])) <= 1 for d in present.values()):
            continue  # one value per split (a series' length): the table says it
        path = out_dir / f"data_{_slug(key)}.png"
        plots.plot_histogram(path, {n: d.lengths.get(key, []) for n, d in present.items()}, f"{title}: {key}", key)
        written.append(path)
    clips = [s for s in desc.samples if s.audio is not None][:4]
    if clips:
        path = out_dir / "data_spectrograms.png"
        plots.plot_spectrograms(path, [s.audio for s in clips], [s.sample_rate for s in clips],
                                [s.caption for s in clips], f"{title}: training clips")
        written.append(path)
    texts = [s for s in desc.samples if s.text is not None]
    if texts:
        path = out_dir / "data_samples.md"
        plots.markdown_table(path, f"{title}: training samples", ["label", "text"],
                             [[s.caption, s.text[:300]] for s in texts])
        written.append(path)
    return written


def print_result(result: CheckResult, out: Any = None) -> None:
    """The check as a few lines: per split examples and class counts, then warnings and problems."""
    import sys

    out = out or sys.stdout
    for line in summary_lines(result.summary):
        print(line, file=out)
    for w in result.warnings:
        print(f"warning: {w}", file=out)
    for p in result.problems:
        print(f"problem: {p}", file=sys.stderr if out is sys.stdout else out)


def summary_lines(summary: dict[str, Any], classes: int = 8) -> list[str]:
    lines = []
    for name, entry in summary.get("splits", {}).items():
        text = f"data {name}: {entry['examples']:,} examples"
        for key in ("classes", "boxes"):
            per = entry.get(key)
            if per:
                shown = ", ".join(f"{k} {v:,}" for k, v in list(per.items())[:classes])
                more = f", ... ({len(per)} classes)" if len(per) > classes else ""
                text += f"; {key if key == 'boxes' else 'per class'}: {shown}{more}"
        for key, stats in entry.items():
            if isinstance(stats, dict) and "median" in stats:
                text += f"; {key} {stats['min']:g}" if stats["min"] == stats["max"] else \
                    f"; {key} {stats['min']:g}..{stats['max']:g} (median {stats['median']:g})"
        lines.append(text)
    return lines


def _md(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ") or " "
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                      *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)])


def _num(v: Any) -> str:
    return "" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_")
