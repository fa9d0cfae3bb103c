"""The six built-in task plugins pass the conformance suite that third-party plugins run
(``taskhub.testing.PluginConformance``), with overrides that keep each run tiny."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
from PIL import Image

from taskhub.testing import PluginConformance

ONE_THREAD = "trainer.num_threads=1"  # tiny models: one thread beats two contended ones


def _png(path: Path, size: int = 32) -> str:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)
    return str(path)


class TestVision(PluginConformance):
    task = "vision"
    overrides = ("dataset.num_samples=400", "model=mlp", ONE_THREAD)
    pair_overrides = {"model=torchvision": ["model.name=mobilenet_v3_small"]}

    def predict_inputs(self, tmp_path):
        return [_png(tmp_path / "a.png"), _png(tmp_path / "b.png", 40)]


class TestDetection(PluginConformance):
    task = "detection"
    overrides = ("dataset.num_samples=96", "dataset.batch_size=8", "task.plot_images=0", ONE_THREAD)
    skip_pairs = {"model=fasterrcnn_resnet50": "a ResNet-50 step takes most of a minute on a CPU"}

    def predict_inputs(self, tmp_path):
        return [_png(tmp_path / "a.png", 64)]


class TestText(PluginConformance):
    task = "text"
    overrides = ("dataset.num_samples=600", ONE_THREAD)

    def predict_inputs(self, tmp_path):
        return ["the food was great", "terrible service, never again"]


class TestSpeech(PluginConformance):
    task = "speech"
    # tests/speech/test_speech_learning.py's quick setting: CTC needs a few epochs before WER leaves 1.0
    overrides = ("model=cnn", "model.channels=64", "model.blocks=[11,13]", "dataset.num_samples=800",
                 "dataset.bucket_size=8", "optimizer.lr=3e-3", "task.spec_augment=null", ONE_THREAD)
    epochs = 5
    pair_overrides = {"model=wav2vec2": ["model.config.hidden_size=32", "model.config.num_hidden_layers=1",
                                         "model.config.num_attention_heads=2", "model.config.intermediate_size=64",
                                         "model.config.conv_dim=[16,16]", "model.config.conv_stride=[5,4]",
                                         "model.config.conv_kernel=[10,4]", "model.config.num_conv_pos_embeddings=16",
                                         "model.config.num_conv_pos_embedding_groups=2"]}

    def predict_inputs(self, tmp_path):
        t = np.arange(8000) / 16000
        soundfile.write(tmp_path / "tone.wav", (0.3 * np.sin(2 * np.pi * 697 * t)).astype("float32"), 16000)
        return [str(tmp_path / "tone.wav")]


class TestTabular(PluginConformance):
    task = "tabular"
    overrides = ("dataset.num_samples=800", "dataset.batch_size=64", ONE_THREAD)

    def predict_inputs(self, tmp_path):
        rows = pd.DataFrame(np.random.default_rng(0).normal(size=(3, 20)), columns=[f"f{i}" for i in range(20)])
        rows.to_csv(tmp_path / "rows.csv", index=False)
        return [str(tmp_path / "rows.csv")]


class TestForecast(PluginConformance):
    task = "forecast"
    overrides = ("dataset.length=1200", "dataset.batch_size=64", ONE_THREAD)

    def predict_inputs(self, tmp_path):
        t = np.arange(200)
        pd.DataFrame({"value": 50 + 10 * np.sin(2 * np.pi * t / 24)}).to_csv(tmp_path / "history.csv", index=False)
        return [str(tmp_path / "history.csv")]
