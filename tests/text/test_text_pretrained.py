"""Pretrained transformers (issue 12): a local Hugging Face folder brings its own tokenizer, the task
fine-tunes with AdamW at a small rate and a linear warm-up, model.freeze trains only the head (or
the last N blocks), and a hub name that cannot be downloaded is one line asking for a local folder."""
from __future__ import annotations

import pytest

from taskhub.cli import main
from taskhub.testing import run_task

FAST = ["trainer.max_epochs=1", "trainer.num_threads=1", "trainer.device=cpu", "trainer.progress=none",
        "dataset.num_samples=200"]


@pytest.fixture(scope="module")
def local_bert(tmp_path_factory):
    """A tiny BERT saved as a Hugging Face folder (config, weights, tokenizer.json): no download."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BertConfig, BertForSequenceClassification

    from taskhub_text.datasets import reviews

    folder = tmp_path_factory.mktemp("bert")
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(reviews(num_samples=300).train.texts,
                            trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    tok.save(str(folder / "tokenizer.json"))
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64, pad_token_id=0)
    BertForSequenceClassification(config).save_pretrained(str(folder))
    return folder


def test_local_folder_fine_tunes_with_its_tokenizer_warmup_and_frozen_backbone(local_bert, tmp_path, capfd):
    summary = run_task("text", tmp_path / "run", "model=transformer", f"model.pretrained={local_bert}",
                       "model.freeze=head", *FAST)
    auto = summary["auto"]
    assert auto["optimizer.lr"] == 3e-5 and auto["scheduler.warmup"] == 0.06
    assert auto["task.tokenizer.max_length"] <= 64  # the model's position limit caps the rule
    out = "".join(capfd.readouterr())
    assert "model.freeze=head:" in out and "parameters train (the head)" in out
    saved = (tmp_path / "run" / "tokenizer.json").read_text()
    assert saved.count('"[CLS]"') >= 1  # the folder's own vocabulary, not one trained on the data


def test_freeze_last_blocks_trains_the_head_and_those_blocks(local_bert):
    from taskhub_text.models import HFClassifier

    model = HFClassifier(vocab_size=10, num_classes=2, pretrained=str(local_bert), freeze=1)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all("classifier" in n or "encoder.layer.2." in n for n in names), names
    assert any("encoder.layer.2." in n for n in names) and any("classifier" in n for n in names), names


def test_unreachable_hub_name_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["run", "task=text", "model=transformer", "model.pretrained=surely-not/a-model-name",
                 f"hydra.run.dir={tmp_path / 'run'}", *FAST])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1, errors
    assert "model.pretrained=surely-not/a-model-name" in errors[0] and "local folder" in errors[0]
