"""The CLI side: ``taskhub export`` and the ``bundle=`` branch of ``taskhub predict``."""
from __future__ import annotations

import json
import sys
from typing import Any

from taskhub.errors import UserError


def _settings(items: list[str], keys: tuple[str, ...]) -> tuple[dict[str, list[str]], list[str]]:
    """``key=value`` items named in ``keys`` (bare words extend the last, as the shell split a list)."""
    picked: dict[str, list[str]] = {k: [] for k in keys}
    rest: list[str] = []
    last = None
    for item in items:
        key, eq, value = item.partition("=")
        if eq and key in picked:
            picked[key].append(value)
            last = key
        elif not eq and last in ("input", "text"):
            picked[last].append(item)
        else:
            rest.append(item)
            last = None
    return picked, rest


def cmd_export(args: Any) -> int:
    """``taskhub export ckpt=PATH format=onnx|torch_export [out=DIR] [dataset.*=...]``."""
    from taskhub.export import FORMATS, export_checkpoint

    picked, rest = _settings(list(args.overrides), ("ckpt", "format", "out"))
    if not picked["ckpt"]:
        raise UserError(f"taskhub export needs ckpt=PATH (and format={'|'.join(FORMATS)}, default onnx)")
    folder = export_checkpoint(picked["ckpt"][-1], (picked["format"] or ["onnx"])[-1],
                               picked["out"][-1] if picked["out"] else None, rest)
    manifest = json.loads((folder / "manifest.json").read_text())
    p = manifest["parity"]
    print(f"{folder}: {manifest['model_file']} (task={manifest['task']}); parity on {p['samples']} validation "
          f"samples: max |diff| {p['max_abs_diff']:.3g} (tolerance {p['tolerance']:g}), "
          f"{100 * p['agreement']:.0f}% predictions agree")
    return 0


def predict_bundle(args: Any) -> int | None:
    """``taskhub predict bundle=DIR input=...``: JSON lines as ``predict ckpt=``; None without bundle=."""
    if not any(o.startswith("bundle=") for o in args.overrides):
        return None
    from taskhub.export import load_bundle

    picked, rest = _settings(list(args.overrides), ("bundle", "input", "out", "text", "device"))
    if rest:
        raise UserError(f"predict bundle=: unknown setting(s) {' '.join(rest)}; a bundle takes input=, text=, "
                        f"out= and device= (its config was fixed at export)")
    inputs = picked["input"] + picked["text"]
    if not inputs:
        raise UserError("taskhub predict bundle=DIR needs input=PATH... (files, directories or glob patterns)")
    predictor = load_bundle(picked["bundle"][-1], (picked["device"] or ["auto"])[-1])
    out = open(picked["out"][-1], "w") if picked["out"] else sys.stdout
    try:
        for row in predictor.predict(inputs):
            out.write(json.dumps(row) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0
