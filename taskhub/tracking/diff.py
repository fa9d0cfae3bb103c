"""``taskhub runs diff A B``: what differs between two runs: resolved config values, versions
(taskhub, plugins, libraries, Python, git), data fingerprints, and metrics side by side."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from taskhub.tracking.manifest import FILENAME as MANIFEST
from taskhub.tracking.runs import read_json, resolved_config

#: Config keys that differ between any two runs and say nothing about them.
_IGNORED = ("run_dir", "hydra.", "trainer.resume")
Row = tuple[str, Any, Any]


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict) and tree:
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree}


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[Row]:
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _versions(manifest: dict[str, Any] | None) -> dict[str, Any]:
    if not manifest:
        return {}
    out: dict[str, Any] = {"taskhub": manifest.get("taskhub"),
                           "python": (manifest.get("python") or {}).get("version")}
    out.update({f"library {k}": v for k, v in (manifest.get("libraries") or {}).items()})
    out.update({f"plugin {p.get('name')}": p.get("version") for p in manifest.get("plugins") or []})
    git = manifest.get("git") or {}
    if git:
        out["git commit"] = git.get("commit")
        out["git dirty"] = git.get("dirty")
    out["host"] = (manifest.get("host") or {}).get("name")
    device = manifest.get("device") or {}
    out["device"] = device.get("type")
    out["cpu"] = device.get("cpu")
    out["gpus"] = ", ".join(g.get("name", "") for g in device.get("gpus") or []) or None
    return out


def _data(manifest: dict[str, Any] | None) -> dict[str, Any]:
    return {f"{split} ({k})": fp.get(k) for split, fp in ((manifest or {}).get("data") or {}).items()
            for k in ("examples", "sha256")}


def _metrics(summary: dict[str, Any] | None) -> dict[str, Any]:
    s = summary or {}
    out = {k: v for k, v in s.items() if "/" in k and isinstance(v, (int, float)) and not isinstance(v, bool)}
    for key in ("epochs", "train_seconds", "samples_per_second", "num_parameters"):
        if isinstance(s.get(key), (int, float)):
            out[key] = s[key]
    objective = s.get("objective")
    if isinstance(objective, dict) and objective.get("value") is not None:
        out[f"objective ({objective.get('name')})"] = objective["value"]
    return out


def diff(a: Path, b: Path) -> dict[str, Any]:
    """The four sections, each a list of (key, value in A, value in B); metrics list every metric."""
    ma, mb = read_json(a / MANIFEST), read_json(b / MANIFEST)
    ca = {k: v for k, v in flatten(resolved_config(a)).items() if not k.startswith(_IGNORED)}
    cb = {k: v for k, v in flatten(resolved_config(b)).items() if not k.startswith(_IGNORED)}
    sa, sb = _metrics(read_json(a / "summary.json")), _metrics(read_json(b / "summary.json"))
    return {
        "a": str(a), "b": str(b),
        "config": _differences(ca, cb),
        # Only two manifests can be compared: a run from before them knows neither.
        "versions": _differences(_versions(ma), _versions(mb)) if ma and mb else [],
        "data": _differences(_data(ma), _data(mb)) if ma and mb else [],
        "metrics": [(k, sa.get(k), sb.get(k)) for k in sorted(set(sa) | set(sb))],
        "manifests": [name for name, m in (("A", ma), ("B", mb)) if m is None],
    }
