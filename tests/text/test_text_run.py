"""task=text end to end: learning on the built-in data, the run directory, predict and eval."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import taskhub
from taskhub.testing import cli, read_summary, run_task
from taskhub_text.datasets import reviews

FAST = ("trainer.num_threads=1",)  # tiny models: one thread beats two contended ones


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("text") / "run"
    run_task("text", run_dir, "trainer.max_epochs=4", *FAST)  # the default lstm (64 wide for this corpus)
    return run_dir


def test_default_run_learns_the_builtin_reviews(trained):
    summary = read_summary(trained)
    assert summary["task"] == "text" and summary["model"] == "lstm" and summary["dataset"] == "reviews"
    # Chance is 0.5, and no single word decides a label (see test_text_loaders).
    assert summary["test/accuracy"] > 0.85
    assert summary["test/f1_macro"] > 0.85
    assert (trained / "confusion_matrix.png").is_file()


def test_tokenizer_and_labels_round_trip_through_run_dir_and_checkpoint(trained):
    ckpt = torch.load(trained / "checkpoints" / "best.pt", map_location="cpu", weights_only=True)
    state = ckpt["task_state"]
    assert (trained / "tokenizer.json").read_text() == state["tokenizer"]
    assert json.loads((trained / "labels.json").read_text()) == state["labels"] == ["negative", "positive"]
    vocab = json.loads(state["tokenizer"])["model"]["vocab"]
    assert "[PAD]" in vocab and "good" in vocab
    predictor = taskhub.load(trained / "checkpoints" / "best.pt", device="cpu")
    assert predictor.task.tokenizer.to_json() == state["tokenizer"]


def test_predict_on_a_file_and_a_string(trained, tmp_path):
    lines = ["the food was not good", "", "honestly the plot was great but the ending was very awful and the music was dull",
             "the staff was really lovely"]
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("\n".join(lines) + "\n")
    ckpt = trained / "checkpoints" / "best.pt"
    result = cli("predict", f"ckpt={ckpt}", f"input={inputs}", "text=the staff was really lovely")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["input"] for r in rows] == [f"{inputs}:1", f"{inputs}:3", f"{inputs}:4", "text[1]"]  # blank line skipped
    for row in rows:
        assert set(row["probabilities"]) == {"negative", "positive"}
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-4
        assert row["label"] == max(row["probabilities"], key=row["probabilities"].get)
    # The same sentence alone (as text=) and padded in a batch (from the file) predicts the same.
    assert rows[2]["probabilities"] == pytest.approx(rows[3]["probabilities"], abs=1e-5)
    predictor = taskhub.load(ckpt, device="cpu")
    alone = predictor.predict(["the food was not good"])[0]
    assert alone["probabilities"] == pytest.approx(rows[0]["probabilities"], abs=1e-5)


def test_predict_reads_the_text_column_of_csv_and_jsonl(trained, tmp_path):
    (tmp_path / "in.csv").write_text('id,text\n1,"the menu was great, truly"\n2,the price was awful\n')
    (tmp_path / "in.jsonl").write_text('{"text": "the price was awful"}\n')
    predictor = taskhub.load(trained / "checkpoints" / "best.pt", device="cpu")
    rows = predictor.predict([str(tmp_path / "in.csv"), str(tmp_path / "in.jsonl")])
    assert [r["text"] for r in rows] == ["the menu was great, truly", "the price was awful", "the price was awful"]
    assert rows[1]["probabilities"] == pytest.approx(rows[2]["probabilities"], abs=1e-5)


def test_predict_errors_are_one_line(trained):
    result = cli("predict", f"ckpt={trained / 'checkpoints' / 'best.pt'}", "input=missing.txt")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: input file not found: missing.txt"


def test_csv_dataset_end_to_end_and_eval(tmp_path):
    data = reviews(num_samples=600, seed=3)
    for split in ("train", "test"):
        part = getattr(data, split)
        rows = "".join(f'"{t}",{y}\n' for t, y in zip(part.texts, part.labels))
        (tmp_path / f"{split}.csv").write_text("review,sentiment\n" + rows)
    summary = run_task("text", tmp_path / "run", "dataset=csv", f"dataset.train={tmp_path / 'train.csv'}",
                       f"dataset.test={tmp_path / 'test.csv'}", "dataset.text_columns=review",
                       "dataset.label_column=sentiment", "dataset.batch_size=16", "optimizer.lr=0.005",
                       "~scheduler", "trainer.max_epochs=4", "model.embedding_dim=128", "model.hidden_size=128",
                       *FAST)  # a constant rate for 4 short epochs: the loader and eval are the point here
    assert summary["dataset"] == "csv" and summary["test/accuracy"] > 0.75
    assert read_summary(tmp_path / "run")["test/accuracy"] == summary["test/accuracy"]
    result = cli("eval", f"ckpt={tmp_path / 'run' / 'checkpoints' / 'best.pt'}", f"hydra.run.dir={tmp_path / 'eval'}",
                 "trainer.device=cpu", "trainer.progress=none", *FAST)
    assert result.returncode == 0, result.stderr
    assert read_summary(tmp_path / "eval")["test/accuracy"] == pytest.approx(summary["test/accuracy"], abs=1e-6)


def test_wrong_column_through_the_cli_is_one_line(tmp_path):
    (tmp_path / "train.csv").write_text("texts,label\ngood,a\nbad,b\n")
    result = cli("run", "task=text", "dataset=csv", f"dataset.train={tmp_path / 'train.csv'}",
                 f"hydra.run.dir={tmp_path / 'run'}", "trainer.device=cpu")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'train.csv'}: no column 'text'")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["gru", "rnn", "cnn", "mlp", "transformer"])
def test_every_model_runs_an_epoch_and_scores_the_test_split(tmp_path, model):
    """Each model builds, trains one epoch and is tested (learning is the conformance suite's check)."""
    extra = ["model.config.hidden_size=32", "model.config.intermediate_size=64"] if model == "transformer" else []
    summary = run_task("text", tmp_path / "run", f"model={model}", "dataset.num_samples=600", "trainer.max_epochs=1",
                       *extra, *FAST)
    assert summary["model"] == model and 0.0 <= summary["test/accuracy"] <= 1.0


def test_run_directory_has_the_classification_plots(trained):
    from taskhub.testing import assert_picture

    for name in ("confusion_matrix.png", "confusion_matrix_normalized.png", "per_class_scores.png",
                 "roc_curves.png", "pr_curves.png", "learning_curves.png"):
        assert_picture(trained / name)
    table = (trained / "most_confident_errors.md").read_text().splitlines()
    assert table[0].startswith("# text / lstm / reviews: most confidently wrong test texts")
    assert table[2] == "| # | text | true | predicted | probability |"
    for row in table[4:]:  # each error: a real text, two different known labels, a probability
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells[1]) > 3 and cells[2] != cells[3] and 0 < float(cells[4]) <= 1
