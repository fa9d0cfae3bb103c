"""Text benchmark: SST-2 (standard train/dev/test) with lstm, cnn and mlp, and SMS Spam with lstm.

No pretrained vectors. Reports test accuracy, training minutes and the whole run's CPU minutes on
this machine; results go in BENCHMARKS.md. The SST-2 LSTM row is the shipped preset
``experiment=sst2_lstm``; ``--plain`` runs the plain command (``dataset=sst2 dataset.root=DIR``, every
default) instead. Usage: .venv/bin/python bench/text_sst2.py [--threads 1] [--only lstm,cnn] [--plain]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from taskhub.testing import run_task, shared_data

RUNS = {
    # name: overrides. sst2/lstm is the shipped preset (plugins/taskhub_text/configs/experiment/sst2_lstm.yaml);
    # the others are single-setting comparisons.
    "sst2/lstm": ["experiment=sst2_lstm"],
    "sst2/cnn": ["dataset=sst2", "model=cnn", "optimizer.lr=0.003", "trainer.max_epochs=3"],
    "sst2/mlp": ["dataset=sst2", "model=mlp", "optimizer.lr=0.005", "trainer.max_epochs=4"],
    "sms_spam/lstm": ["dataset=sms_spam", "model=lstm", "optimizer.lr=0.003", "trainer.max_epochs=3"],
}
#: --plain: the command a user types, every default (data-aware auto settings).
PLAIN = {"sst2/lstm": ["dataset=sst2"], "sms_spam/lstm": ["dataset=sms_spam"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default="")
    parser.add_argument("--plain", action="store_true", help="run the plain commands (PLAIN) instead")
    args = parser.parse_args()
    results = {}
    for name, overrides in (PLAIN if args.plain else RUNS).items():
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        corpus = name.split("/")[0]
        root = shared_data(corpus)
        if not root.is_dir():
            print(f"{name}: skipped ({root} not found)")
            continue
        cpu = time.process_time()
        with tempfile.TemporaryDirectory() as tmp:
            s = run_task("text", Path(tmp) / "run", *overrides, f"dataset.root={root}",
                         f"trainer.num_threads={args.threads}")
        cpu_minutes = (time.process_time() - cpu) / 60  # the whole run: data, tokenizer, training, test
        results[name] = {"val/accuracy": round(s["val/accuracy"], 4), "test/accuracy": round(s["test/accuracy"], 4), "test/f1_macro": round(s["test/f1_macro"], 4),
                         "train_minutes": round(s["train_seconds"] / 60, 2), "epochs": s["epochs"],
                         "best_epoch": s["best_epoch"], "cpu_minutes": round(cpu_minutes, 2),
                         "auto": s.get("auto", {}),
                         "command": f"taskhub run task=text {' '.join(overrides)} dataset.root={root}"}
        print(name, json.dumps(results[name]), flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
