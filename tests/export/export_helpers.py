"""Tiny runs of every built-in task and real inputs to predict (shared by the export tests)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: the smallest runs that still train each task's default model on its built-in data
TINY = {
    "vision": ["dataset.num_samples=120", "trainer.max_epochs=1"],
    "text": ["dataset.num_samples=200", "trainer.max_epochs=1", "model.hidden_size=16", "model.embedding_dim=16"],
    "speech": ["dataset.num_samples=24", "trainer.max_epochs=1", "model.channels=[8,8]", "model.hidden_size=16",
               "model.num_layers=1", "task.features.sample_rate=8000", "dataset.sample_rate=8000"],
    "tabular": ["dataset.num_samples=200", "dataset.num_features=5", "dataset.informative=3", "trainer.max_epochs=1"],
    "forecast": ["dataset.length=500", "trainer.max_epochs=1"],
    "detection": ["dataset.num_samples=24", "trainer.max_epochs=1", "model.input_size=64", "dataset.augment=null"],
}
TASKS = list(TINY)


def write_inputs(task: str, folder: Path) -> list[str]:
    """Real inputs for ``taskhub predict`` of ``task``: files (images, audio, CSV) or texts, of varied sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    if task in ("vision", "detection"):
        from PIL import Image

        paths = []
        for i, (h, w) in enumerate([(48, 48), (64, 80), (30, 40)]):
            image = np.full((h, w, 3), 30, dtype=np.uint8)
            image[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = (200, 60 * i, 90)  # a filled box on a dark ground
            image = np.clip(image + rng.integers(0, 20, image.shape), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(folder / f"image{i}.png")
            paths.append(str(folder / f"image{i}.png"))
        return paths
    if task == "speech":
        import soundfile as sf
        from taskhub_speech.dtmf import sequence

        paths = []
        for i, keys in enumerate([(2, 2), (5, 6)]):  # clips of different lengths: the time axis is dynamic
            wave, _ = sequence(rng, 8000, *keys, (20.0, 25.0))
            sf.write(str(folder / f"clip{i}.wav"), wave, 8000)
            paths.append(str(folder / f"clip{i}.wav"))
        return paths
    if task == "text":
        return ["a wonderful, moving film with great acting", "boring", "the plot was dull and the ending was worse"]
    if task == "tabular":
        import pandas as pd

        path = folder / "rows.csv"
        pd.DataFrame(rng.normal(size=(5, 5)), columns=[f"f{i}" for i in range(5)]).to_csv(path, index=False)
        return [str(path)]
    if task == "forecast":
        import pandas as pd

        t = np.arange(400)
        path = folder / "history.csv"
        pd.DataFrame({"value": 50 + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, len(t))}).to_csv(path, index=False)
        return [str(path)]
    raise KeyError(task)
