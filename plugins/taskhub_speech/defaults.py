"""The speech task's data-aware defaults: each rule turns what the training clips' headers say
(sample rates, durations) into one setting, with the reason that the run logs.

A setting is chosen by these rules only when it is ``auto`` in the config (the shipped YAML);
an explicit value always wins.
"""
from __future__ import annotations

import statistics

#: Mel bands for audio whose band reaches at most 4 kHz (8 kHz telephone-quality audio), and above.
NARROW_BAND_MELS, WIDE_BAND_MELS = 40, 64
#: Seconds of audio one bucket (one optimizer step at batch_size 1) aims at, and its bounds in clips.
BUCKET_SECONDS, MIN_BUCKET, MAX_BUCKET = 16.0, 4, 16


def sample_rate(rates: dict[int, int], model_rate: int | None = None) -> tuple[int, str]:
    """The clips' own rate when they share one (nothing is resampled), else the most common one
    (ties: the higher); a model that expects one rate (wav2vec2: 16 kHz) gets its own."""
    if model_rate:
        return int(model_rate), f"the model takes {model_rate} Hz audio"
    rates = {int(r): int(n) for r, n in rates.items() if int(r) > 0}
    if not rates:
        return 16000, "no clip reports a sample rate"
    if len(rates) == 1:
        rate = next(iter(rates))
        return rate, f"every training clip is {rate} Hz"
    rate = max(rates, key=lambda r: (rates[r], r))
    share = rates[rate] / sum(rates.values())
    return rate, f"the most common rate of the training clips ({share:.0%}); the others are resampled"


def n_mels(rate: int, n_fft: int) -> tuple[int, str]:
    """40 mel bands when the audio's band ends at 4 kHz or below, 64 above, and never more than
    half the FFT bins (more bands than bins leave empty filters)."""
    bands = NARROW_BAND_MELS if rate <= 8000 else WIDE_BAND_MELS
    cap = max(8, (n_fft // 2 + 1) // 2)
    chosen = min(bands, cap)
    why = f"{rate} Hz audio ({rate // 2000} kHz band)"
    return chosen, why + (f", capped at half of the {n_fft // 2 + 1} FFT bins" if chosen < bands else "")


def bucket_size(durations: list[float]) -> tuple[int, str]:
    """Clips per bucket so that a bucket holds about 16 s of audio at the median clip duration
    (short clips: more per step; long ones: fewer, so memory stays bounded and small corpora of
    long clips still get enough steps), between 4 and 16."""
    if not durations:
        return MAX_BUCKET, "no training clips"
    median = statistics.median(durations)
    size = int(min(MAX_BUCKET, max(MIN_BUCKET, round(BUCKET_SECONDS / max(median, 1e-3)))))
    return size, f"about {BUCKET_SECONDS:.0f} s of audio per bucket at the median clip duration of {median:.2f} s"


#: Time reduction of the recurrent model's conv front end: the largest of these whose output frames
#: still leave this much room per transcript unit (CTC needs one frame per unit, plus one between
#: repeats; the rest is room for blanks) on this share of the training clips.
TIME_REDUCTIONS, FRAMES_PER_UNIT, ALIGNABLE_SHARE = (4, 2, 1), 1.25, 0.99


def time_strides(frames: list[int], needed: list[int], layers: int) -> tuple[list[int], str]:
    """Per conv layer time strides (2 or 1) for ``layers`` layers: the most time reduction that
    keeps ``FRAMES_PER_UNIT`` output frames per unit on ``ALIGNABLE_SHARE`` of the training clips
    (fewer frames make the recurrent layers cheaper; too few and CTC cannot align)."""
    for reduction in TIME_REDUCTIONS:
        halvings = reduction.bit_length() - 1
        if halvings > layers:
            continue
        fits = sum(1 for f, n in zip(frames, needed) if -(-f // reduction) >= FRAMES_PER_UNIT * n)
        if not frames or fits / len(frames) >= ALIGNABLE_SHARE or reduction == 1:
            strides = [2] * halvings + [1] * (layers - halvings)
            share = fits / len(frames) if frames else 1.0
            return strides, (f"{reduction}x time reduction leaves {FRAMES_PER_UNIT} output frames per transcript "
                             f"unit on {share:.1%} of the training clips")
    raise AssertionError("unreachable: reduction 1 always returns")


#: Adam's rate from scratch, and for fine-tuning pretrained weights (wav2vec2 fine-tunes near 1e-4).
SCRATCH_LR, FINETUNE_LR = 2e-3, 1e-4


def learning_rate(pretrained: bool) -> tuple[float, str]:
    if pretrained:
        return FINETUNE_LR, "fine-tuning pretrained weights"
    return SCRATCH_LR, "training from scratch"
