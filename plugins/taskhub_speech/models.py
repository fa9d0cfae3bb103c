"""CTC acoustic models. Every model maps padded inputs (B, T, F) and their lengths to
log-probabilities (B, T', vocab) over units with the blank at index 0, and the output lengths.

``output_lengths(lengths)`` is exposed so the task can find clips whose transcripts cannot be
aligned (more units than output frames) before training, instead of hiding them behind
``zero_infinity``. ``input_kind`` says whether a model wants features or raw waveforms.
"""
from __future__ import annotations

import warnings
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class CTCModel(nn.Module):
    input_kind: ClassVar[str] = "features"   # or "waveform"

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


def _conv_out(lengths: torch.Tensor, kernel: int, stride: int, padding: int) -> torch.Tensor:
    return torch.div(lengths + 2 * padding - kernel, stride, rounding_mode="floor") + 1


def renamed(new_value: Any, old_value: Any, new: str, old: str) -> Any:
    """The value of setting ``new``, or of its deprecated name ``old`` (0.1's name) with a warning."""
    if old_value is None:
        return new_value
    warnings.warn(f"model.{old} is deprecated: use model.{new} (the name every taskhub model uses); "
                  f"the old name will be removed in 0.4", FutureWarning, stacklevel=3)
    return old_value


def _rnn(kind: str, size: int, hidden: int, layers: int, dropout: float) -> nn.RNNBase:
    cls = {"lstm": nn.LSTM, "gru": nn.GRU}.get(kind)
    if cls is None:
        from taskhub import UserError

        raise UserError(f"model.cell={kind}: choose lstm or gru")
    return cls(size, hidden, num_layers=layers, bidirectional=True, batch_first=True,
               dropout=dropout if layers > 1 else 0.0)


def _run_rnn(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    # Packed so the backward direction starts at each utterance's real end, not in the padding.
    packed = pack_padded_sequence(x, lengths.clamp_min(1).cpu(), batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


class CRNN(CTCModel):
    """DeepSpeech2-style: a 2-D convolutional front end over (frequency, time) with strides from
    ``freq_strides`` and ``time_strides`` (one entry per conv layer), then bidirectional recurrent
    layers and a linear head. Less frequency striding keeps narrow-band cues (tones) apart."""

    def __init__(self, num_features: int, vocab_size: int, channels: tuple[int, ...] = (32, 32),
                 time_strides: tuple[int, ...] = (2, 1), freq_strides: tuple[int, ...] = (2, 2), cell: str = "gru",
                 hidden_size: int = 128, num_layers: int = 2, dropout: float = 0.1, rnn: str | None = None,
                 hidden: int | None = None, layers: int | None = None) -> None:
        super().__init__()
        cell = renamed(cell, rnn, "cell", "rnn")
        hidden_size = renamed(hidden_size, hidden, "hidden_size", "hidden")
        num_layers = renamed(num_layers, layers, "num_layers", "layers")
        if not len(channels) == len(time_strides) == len(freq_strides):
            from taskhub import UserError

            raise UserError("model.channels, model.time_strides and model.freq_strides need one entry per conv layer")
        convs: list[nn.Module] = []
        in_ch, freq = 1, num_features
        for ch, ts, fs in zip(channels, time_strides, freq_strides):
            convs += [nn.Conv2d(in_ch, ch, 3, stride=(fs, ts), padding=1), nn.BatchNorm2d(ch), nn.GELU()]
            in_ch, freq = ch, (freq - 1) // fs + 1
        self.conv = nn.Sequential(*convs)
        self.time_strides = list(time_strides)
        self.proj = nn.Linear(in_ch * freq, hidden_size)
        self.rnn = _rnn(cell, hidden_size, hidden_size, num_layers, dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden_size, vocab_size)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        for ts in self.time_strides:
            lengths = _conv_out(lengths, 3, ts, 1)
        return lengths

    def forward(self, x, lengths):
        h = self.conv(x.transpose(1, 2).unsqueeze(1))         # (B, C, F', T')
        b, c, f, t = h.shape
        h = self.proj(h.permute(0, 3, 1, 2).reshape(b, t, c * f))
        out_lengths = self.output_lengths(lengths)
        h = _run_rnn(self.rnn, self.dropout(h), out_lengths)
        return self.head(self.dropout(h)).log_softmax(-1), out_lengths


class BiLSTM(CTCModel):
    """Stacked bidirectional LSTMs over the features. ``stack`` concatenates that many adjacent
    frames first (frame stacking), which divides the sequence length the LSTMs run over."""

    def __init__(self, num_features: int, vocab_size: int, hidden_size: int = 192, num_layers: int = 3,
                 stack: int = 2, dropout: float = 0.1, hidden: int | None = None, layers: int | None = None) -> None:
        super().__init__()
        hidden_size = renamed(hidden_size, hidden, "hidden_size", "hidden")
        num_layers = renamed(num_layers, layers, "num_layers", "layers")
        self.stack = max(1, int(stack))
        self.rnn = _rnn("lstm", num_features * self.stack, hidden_size, num_layers, dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden_size, vocab_size)

    def output_lengths(self, lengths):
        return torch.div(lengths + self.stack - 1, self.stack, rounding_mode="floor")

    def forward(self, x, lengths):
        b, t, f = x.shape
        pad = (-t) % self.stack
        if pad:
            x = nn.functional.pad(x, (0, 0, 0, pad))
        x = x.reshape(b, (t + pad) // self.stack, f * self.stack)
        out_lengths = self.output_lengths(lengths)
        h = _run_rnn(self.rnn, x, out_lengths)
        return self.head(self.dropout(h)).log_softmax(-1), out_lengths


class _SeparableBlock(nn.Module):
    """QuartzNet block: ``repeat`` x (depthwise conv, pointwise conv, BN, ReLU) with a residual."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, repeat: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        ch = in_ch
        for r in range(repeat):
            layers += [nn.Conv1d(ch, ch, kernel, padding=kernel // 2, groups=ch), nn.Conv1d(ch, out_ch, 1),
                       nn.BatchNorm1d(out_ch)]
            if r < repeat - 1:
                layers += [nn.ReLU(), nn.Dropout(dropout)]
            ch = out_ch
        self.body = nn.Sequential(*layers)
        self.residual = nn.Sequential(nn.Conv1d(in_ch, out_ch, 1), nn.BatchNorm1d(out_ch))
        self.out = nn.Sequential(nn.ReLU(), nn.Dropout(dropout))

    def forward(self, x, mask):
        return self.out(self.body(x * mask) + self.residual(x)) * mask


class QuartzNet(CTCModel):
    """1-D time-channel separable convolutions (QuartzNet-style): a strided prologue conv, blocks of
    separable convs with residuals, and a pointwise head. Fast on CPU; no recurrence."""

    def __init__(self, num_features: int, vocab_size: int, channels: int = 128, blocks: tuple[int, ...] = (11, 13, 15),
                 repeat: int = 2, stride: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.stride = stride
        self.prologue = nn.Sequential(nn.Conv1d(num_features, channels, 11, stride=stride, padding=5),
                                      nn.BatchNorm1d(channels), nn.ReLU())
        self.blocks = nn.ModuleList(_SeparableBlock(channels, channels, k, repeat, dropout) for k in blocks)
        self.head = nn.Sequential(nn.Conv1d(channels, channels, 1), nn.ReLU(), nn.Conv1d(channels, vocab_size, 1))

    def output_lengths(self, lengths):
        return _conv_out(lengths, 11, self.stride, 5)

    def forward(self, x, lengths):
        h = self.prologue(x.transpose(1, 2))
        out_lengths = self.output_lengths(lengths)
        mask = (torch.arange(h.shape[-1], device=h.device)[None] < out_lengths[:, None]).unsqueeze(1).to(h.dtype)
        for block in self.blocks:
            h = block(h, mask)
        return self.head(h).transpose(1, 2).log_softmax(-1), out_lengths


class Wav2Vec2(CTCModel):
    """Hugging Face ``Wav2Vec2ForCTC`` on raw 16 kHz waveforms.

    ``pretrained``: a local folder or hub name (its CTC head is replaced to fit this vocabulary;
    hub names need network access). Without it, a model is built from ``config`` (by default a
    small one that trains from scratch, no download)."""

    input_kind = "waveform"
    sample_rate: ClassVar[int] = 16000   # what wav2vec2 models are trained on (features.sample_rate=auto picks it)

    def __init__(self, num_features: int, vocab_size: int, pretrained: str | None = None,
                 config: dict[str, Any] | None = None, freeze_feature_encoder: bool = True) -> None:
        super().__init__()
        from taskhub import require_extra

        require_extra("transformers", "hf", "model=wav2vec2")
        from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

        extra = {"vocab_size": vocab_size, "pad_token_id": 0, "ctc_loss_reduction": "mean"}
        if pretrained:
            try:
                self.net = Wav2Vec2ForCTC.from_pretrained(pretrained, ignore_mismatched_sizes=True, **extra)
            except OSError as exc:
                from taskhub import UserError

                raise UserError(f"model.pretrained={pretrained}: cannot load it ({str(exc).splitlines()[0][:150]}); "
                                f"give a local folder, or a hub name with network access") from None
        else:
            self.net = Wav2Vec2ForCTC(Wav2Vec2Config(**{**dict(config or {}), **extra}))
        if freeze_feature_encoder and pretrained:
            self.net.freeze_feature_encoder()

    def output_lengths(self, lengths):
        return self.net._get_feat_extract_output_lengths(lengths).long()

    def forward(self, x, lengths):
        wave = x.squeeze(-1)
        mask = (torch.arange(wave.shape[1], device=wave.device)[None] < lengths[:, None]).long()
        logits = self.net(input_values=wave, attention_mask=mask).logits
        return logits.float().log_softmax(-1), self.output_lengths(lengths)
