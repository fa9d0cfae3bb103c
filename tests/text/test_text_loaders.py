"""Every text loader on small fixtures written here, and the clear errors for bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from taskhub import UserError
from taskhub_text import datasets
from taskhub_text.readers import read_csv, read_jsonl
from taskhub_text.task import TextTask


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_with_header_several_text_columns_and_quoted_fields(tmp_path):
    f = _write(tmp_path / "train.csv", 'title,body,label\nGreat,"loved it, truly",pos\nMeh,"dull\nand long",neg\n')
    ex = read_csv(f, ["title", "body"], "label")
    assert ex.texts == ["Great loved it, truly", "Meh dull\nand long"]
    assert ex.labels == ["pos", "neg"]
    assert ex.origins[0] == f"{f}:2"


def test_csv_without_header_label_by_index_and_tsv(tmp_path):
    f = _write(tmp_path / "train.tsv", "1\tgood film\n0\tbad film\n")
    ex = read_csv(f, 1, 0, header=False)
    assert (ex.texts, ex.labels) == (["good film", "bad film"], ["1", "0"])
    g = _write(tmp_path / "data.csv", "text;label\nfine;a\n")
    assert read_csv(g, "text", "label", delimiter=";").labels == ["a"]


def test_csv_splits_given_and_carved(tmp_path):
    rows = "text,label\n" + "".join(f"text number {i},{'ab'[i % 2]}\n" for i in range(50))
    train = _write(tmp_path / "train.csv", rows)
    test = _write(tmp_path / "test.csv", "text,label\nheld out,a\n")
    data = datasets.csv(str(train), test=str(test), val_fraction=0.2, seed=1)
    assert (len(data.train), len(data.val), len(data.test)) == (40, 10, 1)
    assert not set(data.train.texts) & set(data.val.texts)
    again = datasets.csv(str(train), test=str(test), val_fraction=0.2, seed=1)
    assert again.val.texts == data.val.texts  # seeded
    carved = datasets.csv(str(train), val_fraction=0.2, test_fraction=0.2)
    assert (len(carved.train), len(carved.val), len(carved.test)) == (30, 10, 10)


def test_jsonl_fields_and_numeric_labels(tmp_path):
    f = _write(tmp_path / "train.jsonl", '{"title": "A", "text": "good", "y": 1}\n\n{"title": "B", "text": "bad", "y": 0.0}\n')
    ex = read_jsonl(f, ["title", "text"], "y")
    assert (ex.texts, ex.labels, ex.origins[1]) == (["A good", "B bad"], ["1", "0"], f"{f}:3")


def test_textfolder_own_test_split_and_carved_val(tmp_path):
    for split, n in (("train", 10), ("test", 2)):
        for label in ("neg", "pos"):
            for i in range(n):
                _write(tmp_path / split / label / f"{i}.txt", f"{label} review {i}\n")
    (tmp_path / "train" / "unsup").mkdir()  # aclImdb's unlabelled folder holds no .txt here: ignored
    data = datasets.textfolder(str(tmp_path), val_fraction=0.25, seed=0)
    assert (len(data.train), len(data.val), len(data.test)) == (15, 5, 4)
    assert set(data.train.labels) == {"neg", "pos"} and data.test.texts[0] == "neg review 0"


def test_sst2_and_sms_spam_formats(tmp_path):
    for name in ("train", "dev", "test"):
        _write(tmp_path / "sst" / f"stsa.binary.{name}", "1 a fine film .\n0 a dull one .\n")
    data = datasets.sst2(str(tmp_path / "sst"))
    assert data.train.labels == ["positive", "negative"] and data.val.texts[0] == "a fine film ."
    spam = _write(tmp_path / "sms" / "SMSSpamCollection", "".join(f"{'spam' if i % 4 == 0 else 'ham'}\tmessage {i}\n" for i in range(40)))
    data = datasets.sms_spam(str(spam.parent), val_fraction=0.1, test_fraction=0.2)
    assert (len(data.train), len(data.val), len(data.test)) == (28, 4, 8)
    assert set(data.train.labels) | set(data.test.labels) == {"ham", "spam"}
    _write(tmp_path / "bad" / "SMSSpamCollection", "ham\tfine\neggs\tunknown label\n")
    with pytest.raises(UserError, match=r"SMSSpamCollection:2: unknown label 'eggs'"):
        datasets.sms_spam(str(tmp_path / "bad"))


def test_builtin_reviews_are_not_given_away_by_one_word():
    data = datasets.reviews(num_samples=2000, seed=0)
    assert {"positive", "negative"} == set(data.train.labels)
    for word in ("good", "bad", "not", "but", "awful", "great"):
        labels = [y for t, y in zip(data.train.texts, data.train.labels) if word in t.split()]
        share = labels.count("positive") / len(labels)
        assert 0.15 < share < 0.85, (word, share)  # every word occurs in both classes


# --- bad input: one clear message with the file and line ---------------------------------------
def test_malformed_csv_row_names_file_and_line(tmp_path):
    f = _write(tmp_path / "train.csv", "text,label\nfine,a\nnot, quoted, b\n")
    with pytest.raises(UserError, match=r"train.csv:3: expected 2 fields, found 3"):
        read_csv(f, "text", "label")


def test_wrong_column_name_lists_the_columns(tmp_path):
    f = _write(tmp_path / "train.csv", "texts,label\nfine,a\n")
    with pytest.raises(UserError, match=r"no column 'text'.*did you mean 'texts'.*columns are: texts, label"):
        read_csv(f, "text", "label")
    with pytest.raises(UserError, match="header=false"):
        read_csv(f, "texts", "label", header=False)
    g = _write(tmp_path / "train.jsonl", '{"review": "x", "label": 1}\n')
    with pytest.raises(UserError, match=r"train.jsonl:1: no field 'text'"):
        read_jsonl(g, "text", "label")


def test_other_encoding_names_the_line_and_the_fix(tmp_path):
    f = _write(tmp_path / "train.csv", "text,label\nfine,a\ncafé crème,b\n", encoding="latin-1")
    with pytest.raises(UserError, match=r"train.csv:3: not valid utf-8.*dataset.encoding=latin-1"):
        read_csv(f, "text", "label")
    assert read_csv(f, "text", "label", encoding="latin-1").texts[1] == "café crème"


def test_empty_text_is_an_error_or_skipped(tmp_path):
    f = _write(tmp_path / "train.csv", 'text,label\nfine,a\n"  ",b\nok,b\n')
    with pytest.raises(UserError, match=r"train.csv:3: empty text.*dataset.on_bad=skip"):
        read_csv(f, "text", "label")
    assert read_csv(f, "text", "label", on_bad="skip").texts == ["fine", "ok"]


def test_bad_json_line(tmp_path):
    f = _write(tmp_path / "train.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label: 2}\n')
    with pytest.raises(UserError, match=r"train.jsonl:2: not valid JSON"):
        read_jsonl(f, "text", "label")


def _task(tmp_path: Path, **dataset) -> TextTask:
    cfg = OmegaConf.create({
        "task": {"name": "text", "tokenizer": {"kind": "word", "max_length": 32}},
        "model": {"_target_": "taskhub_text.models.BagOfEmbeddings", "ngrams": 1},
        "dataset": {"_target_": "taskhub_text.datasets.csv", "batch_size": 4, **dataset},
    })
    return TextTask(cfg)


def test_label_unseen_in_training_stops_at_its_line(tmp_path):
    train = _write(tmp_path / "train.csv", "text,label\ngood,pos\nbad,neg\nfine,pos\n")
    test = _write(tmp_path / "test.csv", "text,label\ngreat,pos\nso so,neutral\n")
    task = _task(tmp_path, train=str(train), val=str(train), test=str(test))
    with pytest.raises(UserError, match=r"test.csv:3: label 'neutral' in the test split does not occur in training"):
        task.build_data("fit")


def test_eval_reuses_the_saved_tokenizer_and_labels(tmp_path):
    train = _write(tmp_path / "train.csv", "text,label\ngood film,pos\nbad film,neg\nfine film,pos\n")
    task = _task(tmp_path, train=str(train), val=str(train))
    task.build_data("fit")
    state = json.loads(json.dumps(task.state_dict()))  # plain data only: fits a weights_only checkpoint
    other = _write(tmp_path / "other.csv", "text,label\nunseen words here,neg\n")
    restored = _task(tmp_path, train=str(other), val=str(other), test=str(other))
    restored.load_state_dict(state)
    data = restored.build_data("eval")
    assert restored.labels == ["neg", "pos"] and data.train is None
    ids, label = data.test[0]
    assert label.item() == 0 and set(ids.tolist()) == {restored.tokenizer.unk_id}  # old vocabulary, not refit
