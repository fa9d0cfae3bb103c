"""The built-in default: keypad-tone (DTMF) sequences transcribed to key strings.

A real sequence-transcription problem that needs no download: each clip holds 2-7 key presses
with random tone and gap lengths, levels, leading/trailing silence and background noise, and
the transcript is the keys separated by spaces (``"4 7 # 1"``), so WER is the key error rate.
Repeated keys ("4 4") are only separable by the silence between them, as in speech.
"""
from __future__ import annotations

import numpy as np
import torch

KEYS = "123456789*0#"
_ROWS = (697.0, 770.0, 852.0, 941.0)
_COLS = (1209.0, 1336.0, 1477.0)


def tone(key: str, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    i = KEYS.index(key)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    low, high = _ROWS[i // 3], _COLS[i % 3]
    detune = rng.uniform(0.985, 1.015, 2)  # real keypads are off by up to ~1.5%
    wave = np.sin(2 * np.pi * low * detune[0] * t + rng.uniform(0, 6.3))
    wave += rng.uniform(0.6, 1.0) * np.sin(2 * np.pi * high * detune[1] * t + rng.uniform(0, 6.3))
    ramp = min(len(t) // 4, int(0.005 * sample_rate))  # 5 ms fades: no clicks
    if ramp:
        env = np.ones(len(t))
        env[:ramp] = np.linspace(0, 1, ramp)
        env[-ramp:] = np.linspace(1, 0, ramp)
        wave *= env
    return wave


def sequence(rng: np.random.Generator, sample_rate: int, min_keys: int, max_keys: int,
             snr_db: tuple[float, float]) -> tuple[np.ndarray, str]:
    """One noisy clip and its transcript."""
    keys = [KEYS[k] for k in rng.integers(0, len(KEYS), rng.integers(min_keys, max_keys + 1))]
    parts = [np.zeros(int(rng.uniform(0.02, 0.25) * sample_rate))]
    for key in keys:
        parts.append(rng.uniform(0.2, 1.0) * tone(key, rng.uniform(0.06, 0.15), sample_rate, rng))
        parts.append(np.zeros(int(rng.uniform(0.05, 0.15) * sample_rate)))
    parts.append(np.zeros(int(rng.uniform(0.0, 0.2) * sample_rate)))
    wave = np.concatenate(parts)
    power = np.mean(wave**2) + 1e-12
    snr = rng.uniform(*snr_db)
    wave = wave + rng.normal(0, np.sqrt(power / 10 ** (snr / 10)), len(wave))
    return (wave / (np.abs(wave).max() + 1e-9) * 0.9).astype(np.float32), " ".join(keys)


def generate(n: int, sample_rate: int, seed: int, min_keys: int = 2, max_keys: int = 7,
             snr_db: tuple[float, float] = (5.0, 25.0)) -> list[tuple[torch.Tensor, str]]:
    rng = np.random.default_rng(seed)
    return [(torch.from_numpy(w), t) for w, t in
            (sequence(rng, sample_rate, min_keys, max_keys, snr_db) for _ in range(n))]
