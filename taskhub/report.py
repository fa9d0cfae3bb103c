"""``report.html``: one static page per run directory (no server, no external files).

It shows what the run directory holds, so it can be rebuilt at any time, also for runs made
before reports existed (``taskhub report RUN_DIR``): the summary table, the manifest's fields, the
data summary, every PNG plot (learning curves first) and links to the checkpoints and metrics files.
"""
from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

from taskhub.errors import UserError

REPORT = "report.html"
#: plots shown first, in this order; any other PNG follows, sorted by name
FIRST = ("learning_curves.png", "confusion_matrix.png", "confusion_matrix_normalized.png")
LINKED = ("summary.json", "manifest.json", "metrics.csv", "data_report.md", "checkpoints/best.pt",
          "checkpoints/last.pt", ".hydra/config.yaml", ".hydra/overrides.yaml")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { padding: .2rem .8rem; border-bottom: 1px solid #eee;
text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9rem; } .files a { margin-right: 1rem; } pre { background: #f7f7f7; padding: .8rem; }
"""
# Marks the page once every picture has loaded (or failed): a headless browser test reads it.
SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  document.body.setAttribute('data-images', imgs.length);
  document.body.setAttribute('data-images-loaded', imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length);
});
"""


def build_report(run_dir: str | Path, summary: dict[str, Any] | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` from what the directory holds (``summary`` if not yet on disk)."""
    root = Path(run_dir).expanduser()
    if not root.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    summary = summary if summary is not None else _json(root / "summary.json")
    manifest = _json(root / "manifest.json")
    if not summary and not manifest and not (root / "metrics.csv").is_file():
        raise UserError(f"{run_dir}: not a taskhub run directory (no summary.json, manifest.json or metrics.csv)")
    title = " / ".join(str(summary.get(k)) for k in ("task", "model", "dataset") if summary.get(k)) or root.name
    parts = [f"<h1>{_e(title)}</h1>", f"<p>{_e(str(root.resolve()))}</p>"]
    parts += _section("Results", _table(_results(summary)))
    parts += _section("Run", _table({k: v for k, v in summary.items() if "/" not in k and not isinstance(v, dict)}))
    if isinstance(summary.get("auto"), dict) and summary["auto"]:
        parts += _section("Settings chosen from the data", _table(summary["auto"]))
    if isinstance(summary.get("data"), dict):
        parts += _section("Data", f"<pre>{_e(json.dumps(summary['data'], indent=2, default=str))}</pre>")
    data_report = root / "data_report.md"
    if data_report.is_file():
        parts += _section("Data check", f"<pre>{_e(data_report.read_text(errors='replace')[:20000])}</pre>")
    parts += _section("Plots", "".join(_figure(p, root) for p in _plots(root)) or "<p>no plots in this run</p>")
    history = _metrics(root / "metrics.csv")
    if history:
        parts += _section("Epochs (metrics.csv)", _rows_table(history))
    if manifest:
        parts += _section("Manifest", _table(_flatten(manifest)))
    files = [f'<a href="{_e(name)}">{_e(name)}</a>' for name in LINKED if (root / name).is_file()]
    parts += _section("Files", f'<p class="files">{"".join(files)}</p>')
    page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body>{''.join(parts)}</body></html>\n")
    out = root / REPORT
    tmp = out.with_name(f".{REPORT}.tmp")
    tmp.write_text(page)
    tmp.replace(out)
    return out


def _results(summary: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in summary.items() if "/" in k and isinstance(v, (int, float))}
    objective = summary.get("objective")
    if isinstance(objective, dict) and objective.get("name"):
        out = {f"objective ({objective['name']}, {objective.get('mode')}), best": objective.get("value"), **out}
    return out


def _plots(root: Path) -> list[Path]:
    found = sorted(p for p in root.glob("*.png"))
    first = [root / name for name in FIRST if (root / name).is_file()]
    return first + [p for p in found if p not in first] + sorted((root / "plots").glob("*.png"))


def _figure(path: Path, root: Path) -> str:
    rel = path.relative_to(root).as_posix()
    caption = path.stem.replace("_", " ")
    return f'<figure><img src="{_e(rel)}" alt="{_e(caption)}" loading="eager"><figcaption>{_e(caption)}</figcaption></figure>'


def _section(title: str, body: str) -> list[str]:
    return [f"<h2>{_e(title)}</h2>", body]


def _table(values: dict[str, Any]) -> str:
    if not values:
        return "<p>none</p>"
    rows = "".join(f"<tr><th>{_e(str(k))}</th>{_cell(v)}</tr>" for k, v in values.items())
    return f"<table>{rows}</table>"


def _rows_table(rows: list[dict[str, str]]) -> str:
    columns = list(rows[0])
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c, "")) for c in columns) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    try:
        number = float(value)
        text = f"{number:.4g}" if isinstance(value, float) or "." in str(value) else str(value)
        return f'<td class="num">{_e(text)}</td>'
    except (TypeError, ValueError):
        return f"<td>{_e(str(value))}</td>"


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = ", ".join(map(str, value)) if all(not isinstance(v, (dict, list)) for v in value) \
                else json.dumps(value, default=str)[:500]
        else:
            out[name] = value
    return out


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _metrics(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def _e(text: str) -> str:
    return html.escape(text, quote=True)
