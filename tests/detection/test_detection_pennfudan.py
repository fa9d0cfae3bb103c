"""Real data: Penn-Fudan from ../shared/data (skipped when it is absent)."""
from __future__ import annotations

import pytest

from conftest import write_pennfudan

from taskhub.testing import cli, read_summary, run_task, shared_data

ROOT = shared_data("pennfudan", "PennFudanPed")
pytestmark = pytest.mark.skipif(not (ROOT / "PNGImages").is_dir(), reason=f"{ROOT} is absent")


def test_pennfudan_loads_boxes_from_real_masks() -> None:
    from taskhub_detection.formats import pennfudan

    data = pennfudan(str(ROOT), max_size=320, seed=0)
    splits = (data.train, data.val, data.test)
    assert data.info["labels"] == ["person"] and sum(len(s) for s in splits) == len(list((ROOT / "PNGImages").glob("*.png")))
    image, tgt = data.val[0]
    assert image.shape[0] == 3 and max(image.shape[1:]) <= 320 and len(tgt["boxes"]) >= 1
    boxes = tgt["boxes"]
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 2] <= image.shape[2]).all() and (boxes[:, 3] <= image.shape[1]).all()


@pytest.mark.slow
def test_pennfudan_run_then_eval_on_another_folder(tmp_path) -> None:
    run_task("detection", tmp_path / "run", "dataset=pennfudan", f"dataset.root={ROOT}", "trainer.max_epochs=1",
             "model.input_size=128", "dataset.max_size=160", "trainer.limit_train_batches=4")
    summary = read_summary(tmp_path / "run")
    assert summary["dataset"] == "pennfudan" and 0.0 <= summary["test/map_50"] <= 1.0
    other = write_pennfudan(tmp_path / "Other", count=6)
    result = cli("eval", f"ckpt={tmp_path / 'run' / 'checkpoints' / 'best.pt'}", f"dataset.root={other}", "split=all",
                 f"hydra.run.dir={tmp_path / 'eval'}", "trainer.device=cpu", "trainer.progress=none")
    assert result.returncode == 0, result.stderr
    evaluated = read_summary(tmp_path / "eval")
    assert evaluated["dataset"] == "pennfudan" and "val/map_50" in evaluated and "test/map_50" in evaluated
