"""Speech-to-text benchmarks (issue 5): FSDD digits and an LJSpeech subset, no pretrained weights.

Each benchmark is one ``taskhub run task=speech`` in this process (``taskhub.testing.run_task``)
with the fixed settings in ``RUNS`` below, on the CPU with ``trainer.num_threads`` threads (1 by
default: the benchmark machine is shared). The test metrics are those of the best-validation
weights (greedy CTC decoding); ``--beam`` also re-decodes the test set of that checkpoint with
beam search (pyctcdecode, no language model) through ``taskhub eval``. Training minutes are the
engine's ``train_seconds`` (training epochs only: no data preparation, validation or test).

- fsdd: ``../shared/data/fsdd/recordings``, the standard split (indexes 0-4 are test). Target: test WER <= 0.05.
- ljspeech: ``../shared/data/ljspeech_subset/LJSpeech-1.1`` (385 clips, 0.69 h, one speaker),
  a seeded (seed 0) 10% test split (and 10% val). Target: test CER <= 0.35.

Usage: .venv/bin/python bench/speech.py [--only fsdd|ljspeech] [--threads 1] [--beam]
       [--runs-dir runs/bench_speech] [--json out.json] [--set KEY=VALUE ...] (extra overrides, experiments only)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from taskhub.testing import cli, read_summary, run_task, shared_data

ROOT = Path(__file__).resolve().parents[1]

RUNS = {
    # name: (data folder under ../shared/data, dataset overrides, model and training overrides)
    "fsdd": (("fsdd", "recordings"), ["dataset=fsdd"],
             ["model=cnn", "scheduler=cosine", "trainer.max_epochs=20", "seed=0"]),
    # LJSpeech: character CTC from scratch on ~0.55 h of training audio. A CRNN with 4x time
    # reduction (25 output frames/s, enough for ~15 characters/s plus blanks between repeats) and a
    # 2-layer BiGRU of 160 keeps an epoch near 35 s on one idle core (the RNN dominates; 1x/2x time
    # reduction with a 3-layer BiGRU of 192 cost 4x more). 64 log-mels, SpecAugment, small buckets
    # (more steps per epoch), AdamW with cosine decay; 18 epochs took 13.2 min of training on the busy shared CPU
    # (test CER 0.276 greedy, 0.268 beam; val CER still falling slowly at the end).
    "ljspeech": (("ljspeech_subset", "LJSpeech-1.1"),
                 ["dataset=ljspeech", "dataset.bucket_size=4", "dataset.max_duration=12.0"],
                 ["model=crnn", "model.channels=[32,32]", "model.time_strides=[2,2]", "model.freq_strides=[2,2]",
                  "model.hidden=160", "model.layers=2", "model.dropout=0.2",
                  "task.features.n_mels=64",
                  "task.spec_augment.freq_masks=2", "task.spec_augment.freq_width=10",
                  "task.spec_augment.time_masks=2", "task.spec_augment.time_width=0.05",
                  "optimizer=adamw", "optimizer.lr=2e-3", "scheduler=cosine", "trainer.max_epochs=18", "seed=0"]),
}


def _model(overrides: list[str]) -> str:
    return next((o.partition("=")[2] for o in reversed(overrides) if o.startswith("model=")), "crnn")


def _epochs(overrides: list[str]) -> str:
    return next((o.partition("=")[2] for o in reversed(overrides) if o.startswith("trainer.max_epochs=")), "10")


def beam_eval(run_dir: Path, threads: int) -> dict:
    """Test metrics of the run's best checkpoint decoded with beam search (no LM)."""
    out = run_dir.parent / f"{run_dir.name}_beam"
    done = cli("eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", "task.decoder.type=beam",
               "task.decoder.beam_width=32", "trainer.device=cpu", "trainer.progress=none",
               f"trainer.num_threads={threads}", f"hydra.run.dir={out}", cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return {}
    return read_summary(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RUNS), help="run one benchmark")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--beam", action="store_true", help="also report beam-search (no LM) test metrics")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "bench_speech")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra overrides (experiments; the reported numbers use none)")
    args = parser.parse_args()
    rows = []
    for name, (folder, data, model) in RUNS.items():
        if args.only and name != args.only:
            continue
        root = shared_data(*folder)
        if not root.is_dir():
            print(f"{name}: skipped ({root} not found)", file=sys.stderr)
            continue
        overrides = [*data, f"dataset.root={root}", *model, f"trainer.num_threads={args.threads}", *args.set]
        run_dir = args.runs_dir / f"{name}_{time.strftime('%Y%m%d-%H%M%S')}"
        print(f"{name}: taskhub run task=speech {' '.join(overrides)} hydra.run.dir={run_dir}", flush=True)
        s = run_task("speech", run_dir, *overrides)
        row = {"dataset": name, "model": _model(overrides), "epochs": _epochs(overrides),
               "decoder": "greedy", "wer": s.get("test/wer"), "cer": s.get("test/cer"),
               "val_cer": s.get("val/cer"), "minutes": s.get("train_seconds", 0.0) / 60, "run_dir": str(run_dir)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.beam:
            b = beam_eval(run_dir, args.threads)
            if b:
                rows.append({**row, "decoder": "beam (32, no LM)", "wer": b.get("test/wer"), "cer": b.get("test/cer")})
                print(json.dumps(rows[-1]), flush=True)
    print("\n| dataset | model | epochs | decoder | test WER | test CER | training minutes |")
    print("|---|---|---:|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['dataset']} | {r['model']} | {r['epochs']} | {r['decoder']} | {r['wer']:.3f} | {r['cer']:.3f} "
              f"| {r['minutes']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
