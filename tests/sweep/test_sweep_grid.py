"""Grid sweeps (Hydra's own -m): every sweep ends with a table, sweep_summary.csv and .json."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import taskhub
from taskhub.plugins import get_host


class _Recorder:
    """A third-party plugin implementing on_sweep_end."""

    def __init__(self) -> None:
        self.dirs: list[Path] = []

    @taskhub.hookimpl
    def on_sweep_end(self, sweep_dir: Path) -> None:
        self.dirs.append(sweep_dir)


def test_sweep_grid_writes_summary(tmp_path, tiny, capsys):
    recorder = _Recorder()
    get_host().pm.register(recorder, name="test-recorder")
    try:
        results = taskhub.run("vision", [*tiny, "trainer.max_epochs=1", "optimizer.lr=1e-3,0.5",
                                         f"hydra.sweep.dir={tmp_path / 'grid'}"], multirun=True)
    finally:
        get_host().pm.unregister(name="test-recorder")
    assert len(results) == 2
    sweep_dir = tmp_path / "grid"
    assert recorder.dirs == [sweep_dir]  # the hook spec: called once, with the sweep directory
    data = json.loads((sweep_dir / "sweep_summary.json").read_text())
    values = [r["value"] for r in data["runs"]]
    assert data["objective"] == {"name": "val/accuracy", "mode": "max"}
    assert values == sorted(values, reverse=True) and data["best"]["value"] == max(values)
    assert data["params"] == ["optimizer.lr"]
    rows = list(csv.DictReader((sweep_dir / "sweep_summary.csv").open()))
    assert [r["run"] for r in rows] == [r["run"] for r in data["runs"]]
    assert {r["optimizer.lr"] for r in rows} == {"0.001", "0.5"}
    assert "sweep" in capsys.readouterr().out  # the rich table
