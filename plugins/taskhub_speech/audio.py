"""Audio in: reading, mono mix-down, resampling, features and SpecAugment.

Audio is read with ``soundfile`` because ``torchaudio.load`` (2.9+) needs torchcodec and the
FFmpeg libraries, which a plain install lacks. torchaudio is imported inside functions so that
importing the plugin stays cheap.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from taskhub import UserError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")


class BadAudio(Exception):
    """One audio file that cannot be used (unreadable or empty); the caller counts and reports them."""


def read_audio(path: str | Path, sample_rate: int) -> torch.Tensor:
    """The file as a mono float32 waveform at ``sample_rate``; :class:`BadAudio` when unusable."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise BadAudio(f"{path}: unreadable audio ({' '.join(str(exc).split())[:120]})") from None
    if data.shape[0] == 0:
        raise BadAudio(f"{path}: empty audio (0 samples)")
    wave = torch.from_numpy(data).mean(dim=1)  # mono mix-down
    return resample(wave, int(rate), sample_rate)


def resample(wave: torch.Tensor, rate: int, sample_rate: int) -> torch.Tensor:
    if rate == sample_rate:
        return wave.contiguous()
    import torchaudio.functional as AF

    return AF.resample(wave, rate, sample_rate)


@dataclass
class FeatureConfig:
    """How waveforms become model inputs; saved in checkpoints through the run config."""

    sample_rate: int = 16000      # auto in the task YAML: chosen from the training clips
    kind: str = "logmel"          # logmel | mfcc | waveform
    n_mels: int = 40              # auto in the task YAML: chosen from the sample rate
    n_mfcc: int = 40
    win_ms: float = 25.0
    hop_ms: float = 10.0

    @property
    def window_samples(self) -> int:
        """Samples in one analysis window: a clip shorter than this has no complete frame."""
        return int(round(int(self.sample_rate) * float(self.win_ms) / 1000))

    @property
    def num_features(self) -> int:
        return {"logmel": self.n_mels, "mfcc": self.n_mfcc, "waveform": 1}[self.kind]


class Featurizer:
    """Waveform -> (frames, features), normalized per utterance (zero mean, unit variance per bin).

    Per-utterance normalization removes gain and channel differences without fitting global
    statistics, so nothing but the config has to travel in the checkpoint.
    """

    def __init__(self, cfg: FeatureConfig) -> None:
        if cfg.kind not in ("logmel", "mfcc", "waveform"):
            raise UserError(f"task.features.kind={cfg.kind}: choose logmel, mfcc or waveform")
        self.cfg = cfg
        self._transform = None

    def _build(self):
        import torchaudio.transforms as T

        c = self.cfg
        n_fft = int(round(c.sample_rate * c.win_ms / 1000))
        hop = int(round(c.sample_rate * c.hop_ms / 1000))
        mel = {"n_fft": n_fft, "hop_length": hop, "n_mels": c.n_mels, "win_length": n_fft}
        if c.kind == "mfcc":
            return T.MFCC(sample_rate=c.sample_rate, n_mfcc=c.n_mfcc, melkwargs=mel)
        return T.MelSpectrogram(sample_rate=c.sample_rate, **mel)

    @torch.no_grad()
    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        if self.cfg.kind == "waveform":  # models with their own front end (wav2vec2)
            return ((wave - wave.mean()) / (wave.std() + 1e-5)).unsqueeze(-1)
        if self._transform is None:
            self._transform = self._build()
        spec = self._transform(wave)
        if self.cfg.kind == "logmel":
            spec = torch.log(spec + 1e-6)
        spec = spec.transpose(0, 1)  # (frames, features)
        return (spec - spec.mean(0)) / (spec.std(0) + 1e-5)


def spec_augment(x: torch.Tensor, lengths: torch.Tensor, freq_masks: int, freq_width: int,
                 time_masks: int, time_width: float) -> torch.Tensor:
    """SpecAugment on a padded batch (B, T, F) with torchaudio's iid masking: ``freq_masks`` bands
    of up to ``freq_width`` bins and ``time_masks`` spans of up to ``time_width`` times the
    longest utterance's length (a bucket holds utterances of similar length), per utterance.

    Done per batch on the device rather than per sample in workers: features are precomputed,
    so this is the only random step and it is cheap as tensor ops.
    """
    if x.dim() != 3 or x.shape[-1] == 1:  # waveform inputs: no spectrogram to mask
        return x
    import torchaudio.functional as AF

    spec = x.transpose(1, 2)  # (B, F, T): torchaudio's (..., freq, time)
    for _ in range(int(freq_masks)):
        spec = AF.mask_along_axis_iid(spec, int(freq_width), 0.0, axis=1)
    width = int(float(time_width) * int(lengths.max()))
    for _ in range(int(time_masks)):
        spec = AF.mask_along_axis_iid(spec, width, 0.0, axis=2)
    return spec.transpose(1, 2)
