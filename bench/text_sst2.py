"""Text benchmark: SST-2 (standard train/dev/test) with lstm, cnn and mlp, and SMS Spam with lstm.

No pretrained vectors. Reports test accuracy and training minutes on this machine; results go
in BENCHMARKS.md. Usage: .venv/bin/python bench/text_sst2.py [--threads 1] [--only lstm,cnn]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from taskhub.testing import run_task, shared_data

RUNS = {
    # name: (dataset overrides, model overrides)
    # The LSTM overfits SST-2 (6,920 sentences) within two epochs at its defaults: a smaller model,
    # embedding and word dropout, words seen once as [UNK], weight decay and a cosine schedule; the
    # best epoch by val accuracy (settings chosen on val over seeds 42 and 1).
    "sst2/lstm": (["dataset=sst2", "task.tokenizer.min_frequency=2"],
                  ["model=lstm", "model.embedding_dim=64", "model.hidden_size=64", "model.dropout=0.5",
                   "model.embedding_dropout=0.5", "model.word_dropout=0.3", "model.pooling=max", "optimizer=adamw",
                   "optimizer.lr=0.002", "optimizer.weight_decay=0.05", "scheduler=cosine", "trainer.max_epochs=8"]),
    "sst2/cnn": (["dataset=sst2"], ["model=cnn", "optimizer.lr=0.003", "trainer.max_epochs=3"]),
    "sst2/mlp": (["dataset=sst2"], ["model=mlp", "optimizer.lr=0.005", "trainer.max_epochs=4"]),
    "sms_spam/lstm": (["dataset=sms_spam"], ["model=lstm", "optimizer.lr=0.003", "trainer.max_epochs=3"]),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    results = {}
    for name, (data, model) in RUNS.items():
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        corpus = name.split("/")[0]
        root = shared_data(corpus)
        if not root.is_dir():
            print(f"{name}: skipped ({root} not found)")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            s = run_task("text", Path(tmp) / "run", *data, f"dataset.root={root}", *model,
                         f"trainer.num_threads={args.threads}")
        results[name] = {"val/accuracy": round(s["val/accuracy"], 4), "test/accuracy": round(s["test/accuracy"], 4), "test/f1_macro": round(s["test/f1_macro"], 4),
                         "train_minutes": round(s["train_seconds"] / 60, 2), "epochs": s["epochs"],
                         "best_epoch": s["best_epoch"]}
        print(name, json.dumps(results[name]), flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
