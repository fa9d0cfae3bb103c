"""The text task's `auto` settings (issue 12): chosen from the training split by a rule, logged,
stored in the checkpoint and summary.json, reused by eval; an explicit value wins."""
from __future__ import annotations

import json

import pytest
import torch

from taskhub.testing import cli, read_summary, run_task
from taskhub_text import defaults

FAST = ["model=lstm", "trainer.max_epochs=1", "trainer.num_threads=1"]  # width auto: 64 for this small corpus


def test_rules():
    assert defaults.min_frequency(6920)[0] == 2 and defaults.min_frequency(500)[0] == 1
    assert defaults.vocab_size(5_000)[0] == 20_000 and defaults.vocab_size(200_000)[0] == 50_000
    lengths = list(range(1, 101))  # 99th percentile 99 -> 104 (multiple of 8)
    assert defaults.max_length(lengths)[0] == 104
    assert defaults.max_length([3, 4, 5])[0] == 16 and defaults.max_length([2000] * 10)[0] == 512
    assert defaults.max_length([2000] * 10, limit=128)[0] == 128
    assert defaults.regularisation(20_000, 1_000)[0] == (0.5, 0.5, 0.3, 0.05)   # 20 per entry: rare words
    assert defaults.regularisation(400_000, 1_000)[0] == (0.3, 0.3, 0.0, 0.01)
    assert defaults.regularisation(5_000_000, 1_000)[0] == (0.2, 0.2, 0.0, 0.01)
    assert [defaults.width(n)[0] for n in (2_000, 999_999, 1_000_000, 20_000_000)] == [64, 64, 128, 256]


def test_width_follows_the_word_vectors(tmp_path):
    (tmp_path / "glove.txt").write_text("the 0.1 0.2 0.3\ncat 0.4 0.5 0.6\n")
    (tmp_path / "w2v.txt").write_text("2 5\nthe 1 2 3 4 5\n")
    assert defaults.vector_dim(str(tmp_path / "glove.txt")) == 3
    assert defaults.vector_dim(str(tmp_path / "w2v.txt")) == 5
    assert defaults.vector_dim(str(tmp_path / "missing.txt")) is None


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("text_auto")
    words = [f"w{i}" for i in range(300)]
    rows = []
    for i in range(240):  # lengths 3..26 words; rare words: strong regularisation
        label = "pos" if i % 2 else "neg"
        body = " ".join(words[(i * 7 + k) % 300] for k in range(3 + i % 24))
        rows.append(f"{'good' if label == 'pos' else 'bad'} {body},{label}\n")
    (tmp / "train.csv").write_text("text,label\n" + "".join(rows))
    run_dir = tmp / "run"
    summary = run_task("text", run_dir, "dataset=csv", f"dataset.train={tmp / 'train.csv'}", *FAST)
    return tmp, run_dir, summary


def test_auto_settings_are_chosen_from_the_data_and_recorded(trained, capfd):
    tmp, run_dir, summary = trained
    auto = summary["auto"]
    assert auto["task.tokenizer.min_frequency"] == 1  # 192 training texts (< 2,000)
    lengths = sorted(1 + 3 + i % 24 for i in range(240))  # what any split's texts can have (+1: good/bad)
    assert 16 <= auto["task.tokenizer.max_length"] <= 8 * -(-max(lengths) // 8)
    assert (auto["model.dropout"], auto["model.word_dropout"], auto["optimizer.weight_decay"]) == (0.5, 0.3, 0.05)
    assert auto["optimizer.lr"] == defaults.SCRATCH_LR and auto["scheduler.warmup"] == 0.0
    assert auto["model.embedding_dim"] == auto["model.hidden_size"] == 64  # a few thousand training tokens
    assert read_summary(run_dir)["auto"] == auto
    ckpt = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)
    assert {k: v["value"] for k, v in ckpt["auto"].items() if k in auto} == auto
    assert ckpt["task_state"]["max_length"] == auto["task.tokenizer.max_length"]
    assert ckpt["model"]["embedding.weight"].shape[1] == 64
    assert "model.hidden_size=64 (" in (run_dir / "launch.log").read_text()  # the choice and its reason, logged


def test_eval_reuses_the_checkpoint_choices(trained):
    tmp, run_dir, summary = trained
    out = tmp / "eval"
    proc = cli("eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"hydra.run.dir={out}", "trainer.device=cpu",
               "trainer.progress=none", "split=test")
    assert proc.returncode == 0, proc.stderr[-2000:]
    logged = proc.stdout + proc.stderr
    assert "max_length=" not in logged or "from the checkpoint" in logged
    again = read_summary(out)
    assert again["test/accuracy"] == pytest.approx(summary["test/accuracy"], abs=1e-6)


def test_an_explicit_value_wins(trained, tmp_path):
    tmp, _, _ = trained
    summary = run_task("text", tmp_path / "run", "dataset=csv", f"dataset.train={tmp / 'train.csv'}", *FAST,
                       "task.tokenizer.max_length=12", "model.dropout=0.1", "optimizer.lr=0.01", "model.hidden_size=8")
    auto = summary["auto"]
    assert "task.tokenizer.max_length" not in auto and "model.dropout" not in auto and "optimizer.lr" not in auto
    assert "model.hidden_size" not in auto and auto["model.embedding_dim"] == 64
    assert json.loads((tmp_path / "run" / "tokenizer.json").read_text())["truncation"]["max_length"] == 12
