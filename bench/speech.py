"""Speech-to-text benchmarks (issue 5): FSDD digits and an LJSpeech subset, no pretrained weights.

Each benchmark is one ``taskhub run task=speech experiment=PRESET dataset.root=DIR`` in this
process (``taskhub.testing.run_task``): the presets ship with the plugin
(``plugins/taskhub_speech/configs/experiment/fsdd_cnn.yaml``, ``ljspeech_crnn.yaml``) and this
script only adds the data folder and measurement, on the CPU with ``trainer.num_threads`` threads
(1 by default: the benchmark machine is shared). The test metrics are those of the best-validation
weights (greedy CTC decoding); ``--beam`` also re-decodes the test set of that checkpoint with
beam search (torchaudio's ctc_decoder, no language model) through ``taskhub eval``. Training minutes are the
engine's ``train_seconds`` (training epochs only: no data preparation, validation or test).

- fsdd: ``../shared/data/fsdd/recordings``, the standard split (indexes 0-4 are test). Target: test WER <= 0.05.
- ljspeech: ``../shared/data/ljspeech_subset/LJSpeech-1.1`` (385 clips, 0.69 h, one speaker),
  a seeded (seed 0) 10% test split (and 10% val). Target: test CER <= 0.35.

Usage: .venv/bin/python bench/speech.py [--only fsdd|ljspeech] [--plain] [--threads 1] [--beam]
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
    # name: (data folder under ../shared/data, the shipped preset it runs: plugins/taskhub_speech/configs/experiment/)
    "fsdd": (("fsdd", "recordings"), "fsdd_cnn"),
    "ljspeech": (("ljspeech_subset", "LJSpeech-1.1"), "ljspeech_crnn"),
}


def _resolved(run_dir: Path, key: str) -> str:
    """A setting of the run's composed config (what the preset chose), for the table."""
    from omegaconf import OmegaConf

    return str(OmegaConf.select(OmegaConf.load(run_dir / ".hydra" / "config.yaml"), key))


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
    parser.add_argument("--plain", action="store_true",
                        help="run the plain command instead (dataset=NAME dataset.root=DIR, every default)")
    parser.add_argument("--beam", action="store_true", help="also report beam-search (no LM) test metrics")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "bench_speech")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra overrides (experiments; the reported numbers use none)")
    args = parser.parse_args()
    rows = []
    for name, (folder, preset) in RUNS.items():
        if args.only and name != args.only:
            continue
        root = shared_data(*folder)
        if not root.is_dir():
            print(f"{name}: skipped ({root} not found)", file=sys.stderr)
            continue
        chosen = f"dataset={name}" if args.plain else f"experiment={preset}"
        overrides = [chosen, f"dataset.root={root}", f"trainer.num_threads={args.threads}", *args.set]
        run_dir = args.runs_dir / f"{name}_{time.strftime('%Y%m%d-%H%M%S')}"
        print(f"{name}: taskhub run task=speech {' '.join(overrides)} hydra.run.dir={run_dir}", flush=True)
        cpu = time.process_time()
        s = run_task("speech", run_dir, *overrides)
        cpu_minutes = (time.process_time() - cpu) / 60  # the whole run: data, training, validation, test
        row = {"dataset": name, "model": _resolved(run_dir, "model._target_").rsplit(".", 1)[-1],
               "epochs": s.get("epochs"),
               "decoder": "greedy", "wer": s.get("test/wer"), "cer": s.get("test/cer"),
               "val_cer": s.get("val/cer"), "minutes": s.get("train_seconds", 0.0) / 60,
               "cpu_minutes": round(cpu_minutes, 2),
               "command": f"taskhub run task=speech {chosen} dataset.root={root}", "run_dir": str(run_dir)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.beam:
            b = beam_eval(run_dir, args.threads)
            if b:
                rows.append({**row, "decoder": "beam (32, no LM)", "wer": b.get("test/wer"), "cer": b.get("test/cer")})
                print(json.dumps(rows[-1]), flush=True)
    print("\n| dataset | model | epochs | decoder | test WER | test CER | training minutes | CPU minutes (whole run) |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['dataset']} | {r['model']} | {r['epochs']} | {r['decoder']} | {r['wer']:.3f} | {r['cer']:.3f} "
              f"| {r['minutes']:.1f} | {r['cpu_minutes']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
