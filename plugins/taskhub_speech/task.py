"""Speech to text: the Task that ties CTC models, speech corpora, decoding and WER/CER to the engine.

Bad input policy (nothing is dropped silently; every case is logged with a count and file names):
- unreadable or empty audio, and clips shorter than one feature window (``task.features.win_ms``:
  no complete frame): an error naming the file, or with ``dataset.on_bad=skip`` those clips are
  left out and counted in one warning (``dataset.on_bad_audio`` is the deprecated old name);
- a missing file named in a manifest or transcript list: an error (see :mod:`datasets`);
- characters outside the vocabulary: with a fitted vocabulary (the default) training has none;
  on val/test (or a given ``task.vocabulary``) they stay in the reference (and so count as
  errors) but cannot be targets, and a warning names them;
- a clip longer than ``dataset.max_duration`` or with more units than the model has output
  frames (CTC cannot align it): left out of *training* with a warning; kept in val/test, where
  it counts against WER/CER.
"""
from __future__ import annotations

import logging
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from taskhub import Task, UserError
from taskhub.data import BadInputs, DataDescription, Splits, build_splits, expand_paths
from taskhub_speech.audio import AUDIO_SUFFIXES, BadAudio, FeatureConfig, Featurizer, read_audio, resample, spec_augment
from taskhub_speech.batching import BucketDataset, Example, collate
from taskhub_speech.datasets import Utterance
from taskhub_speech.decoding import Decoder, DecoderConfig
from taskhub_speech.text import BpeTokenizer, CharTokenizer, Normalization, Tokenizer, tokenizer_from_state

log = logging.getLogger("taskhub.speech")


def _dataclass(cls, cfg: Any, where: str):
    values = OmegaConf.to_container(cfg, resolve=True) if cfg is not None and not isinstance(cfg, dict) else (cfg or {})
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UserError(f"{where}: unknown key(s) {unknown}; known: {sorted(names)}")
    return cls(**values)


def _frames_needed(example: Example) -> int:
    """Output frames CTC needs for ``example``: one per unit, plus one between repeated units."""
    return len(example.targets) + int((example.targets[1:] == example.targets[:-1]).sum())


def _examples(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


class SpeechTask(Task):
    """Transcribe speech with a CTC model; reports WER and CER, a worst-utterances table and a spectrogram."""

    name = "speech"
    objective = ("val/wer", "min")
    metrics = ("wer", "cer")

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        self.tokenizer: Tokenizer | None = None
        self.normalization: Normalization | None = None
        self._data: dict[str, BucketDataset] = {}
        self._decoder: Decoder | None = None

    # --- configuration --------------------------------------------------------------------
    def _model_class(self):
        return get_class(str(self.cfg.model._target_))

    def features(self, info: dict[str, Any] | None = None) -> FeatureConfig:
        """The feature settings, with ``auto`` ones resolved from the training clips' ``info``
        (or restored from the checkpoint on eval, predict and resume)."""
        from taskhub_speech import defaults

        model_rate = getattr(self._model_class(), "sample_rate", None)
        rate = self._auto("task.features.sample_rate", info,
                          lambda: defaults.sample_rate((info or {}).get("sample_rates", {}), model_rate))
        win_ms = float(OmegaConf.select(self.cfg, "task.features.win_ms") or 25.0)
        self._auto("task.features.n_mels", info, lambda: defaults.n_mels(int(rate), int(round(int(rate) * win_ms / 1000))))
        fc = _dataclass(FeatureConfig, self.cfg.task.get("features"), "task.features")
        if getattr(self._model_class(), "input_kind", "features") == "waveform":
            fc.kind = "waveform"
        return fc

    def _auto(self, key: str, info: dict[str, Any] | None, choose) -> Any:
        """``key``'s value: resolved once (from ``info``, or restored from a checkpoint) when it is ``auto``."""
        value = OmegaConf.select(self.cfg, key)
        if str(value) != "auto":
            return value
        if info is None and key not in self.resolved:
            raise UserError(f"{key}=auto is chosen from the training data: build the data first, or set it")
        return self.resolve_auto(key, choose)

    def decoder(self) -> Decoder:
        if self._decoder is None:
            self._decoder = Decoder(_dataclass(DecoderConfig, self.cfg.task.get("decoder"), "task.decoder"), self.tokenizer)
        return self._decoder

    # --- building -------------------------------------------------------------------------
    def build_data(self, stage: str) -> Splits:
        from taskhub_speech import defaults

        data = build_splits(self.cfg.dataset)
        info = data.info
        feats = self.features(info)
        bucket = int(self._auto("dataset.bucket_size", info, lambda: defaults.bucket_size(info["durations"])))
        bad = BadInputs(str(info.get("on_bad", "error")))  # what decoding finds (the loader reported its own)

        if self.normalization is None:  # eval/resume: the checkpoint's normalization, never the new config's
            self.normalization = _dataclass(Normalization, info.get("normalize"), "dataset.normalize")
        norm = self.normalization
        splits: dict[str, list[Utterance]] = {"train": data.train or [], "val": data.val or [], "test": data.test or []}
        if stage == "eval":
            splits["train"] = []  # eval never trains: skip decoding the training audio
        refs = {name: [norm(u.text) for u in items] for name, items in splits.items()}
        if self.tokenizer is None:
            if not data.train:
                raise UserError(f"dataset {info.get('name', 'speech')}: no training utterances")
            self.tokenizer = self._fit_tokenizer([norm(u.text) for u in data.train])
        featurizer = Featurizer(feats)
        built: dict[str, BucketDataset | None] = {}
        for name, items in splits.items():
            examples = self._prepare(name, items, refs[name], featurizer, bad) if items else []
            if name == "train" and info.get("max_duration"):
                examples = self._drop_long(examples, float(info["max_duration"]), feats)
            built[name] = BucketDataset(examples, bucket) if examples else None
        bad.warn("audio clips")
        if stage == "fit" and built["train"] is None:
            raise UserError("no usable training utterances (see the warnings above)")
        self._data = {k: v for k, v in built.items() if v is not None}
        durations = info.pop("durations")
        info = {**info, "median_duration": statistics.median(durations) if durations else None,
                "clips": {k: len(v.examples) for k, v in self._data.items()}}
        skipped = {k: list(v) for k, v in data.skipped.items()}
        for problem, where in bad.skipped.items():
            skipped.setdefault(problem, []).extend(where)
        return Splits(train=built["train"], val=built["val"], test=built["test"], info=info, collate=collate,
                      skipped=skipped)

    def _fit_tokenizer(self, texts: list[str]) -> Tokenizer:
        units = str(self.cfg.task.get("units", "char"))
        vocabulary = self.cfg.task.get("vocabulary")
        if units == "bpe":
            return BpeTokenizer.fit(texts, int(self.cfg.task.get("bpe_vocab_size", 128)))
        if units != "char":
            raise UserError(f"task.units={units}: choose char or bpe")
        if vocabulary:
            return CharTokenizer(list(dict.fromkeys(str(vocabulary))))
        return CharTokenizer.fit(texts)

    def _wave(self, utt: Utterance, rate: int) -> torch.Tensor:
        if isinstance(utt.audio, torch.Tensor):
            return resample(utt.audio.float(), int(utt.sample_rate or rate), rate)
        return read_audio(utt.audio, rate)

    def _prepare(self, split: str, items: list[Utterance], refs: list[str], featurizer: Featurizer,
                 bad: BadInputs) -> list[Example]:
        """Read, resample and featurize every clip; bad audio goes to ``bad`` (the on_bad policy),
        characters outside the vocabulary are counted in a warning."""
        rate, window = featurizer.cfg.sample_rate, featurizer.cfg.window_samples
        examples, oov_files, oov_chars = [], [], set()
        for utt, ref in zip(items, refs):
            where = str(utt.audio) if not isinstance(utt.audio, torch.Tensor) else utt.id
            try:
                wave = self._wave(utt, rate)
            except BadAudio as exc:
                bad.report(where, str(exc).removeprefix(f"{where}: ").split(" (")[0])
                continue
            if wave.numel() == 0 or not torch.isfinite(wave).all():
                bad.report(where, "empty or non-finite audio")
                continue
            if wave.numel() < window:
                bad.report(where, f"shorter than one feature window ({featurizer.cfg.win_ms:g} ms, task.features.win_ms)")
                continue
            oov = self.tokenizer.oov(ref)
            if oov:
                oov_files.append(utt.id)
                oov_chars |= oov
            examples.append(Example(utt.id, ref, featurizer(wave), torch.tensor(self.tokenizer.encode(ref), dtype=torch.long)))
        if oov_files:
            log.warning("%s: %d transcripts contain characters outside the vocabulary %r (%s); they stay in the "
                        "references but cannot be predicted", split, len(oov_files), "".join(sorted(oov_chars)),
                        _examples(oov_files))
        return examples

    def _drop_long(self, examples: list[Example], max_duration: float, feats: FeatureConfig) -> list[Example]:
        per_second = feats.sample_rate if feats.kind == "waveform" else 1000.0 / feats.hop_ms
        keep = [e for e in examples if e.frames / per_second <= max_duration]
        if len(keep) < len(examples):
            long = [e.id for e in examples if e.frames / per_second > max_duration]
            log.warning("train: %d clips longer than dataset.max_duration=%ss left out of training: %s",
                        len(long), max_duration, _examples(long))
        return keep

    def build_model(self) -> torch.nn.Module:
        if self.tokenizer is None:
            raise UserError("the speech task has no vocabulary: build the data first or load a checkpoint")
        from taskhub_speech import defaults

        pretrained = bool(self.cfg.model.get("pretrained"))
        self._auto("optimizer.lr", {}, lambda: defaults.learning_rate(pretrained))
        if str(self.cfg.model.get("time_strides")) == "auto":
            self._auto("model.time_strides", {}, self._time_strides)
        model = instantiate(self.cfg.model, num_features=self.features().num_features,
                            vocab_size=len(self.tokenizer), _convert_="all")
        self._check_alignable(model)
        return model

    def _time_strides(self) -> tuple[list[int], str]:
        from taskhub_speech import defaults

        train = self._data.get("train")
        if train is None:
            raise UserError("model.time_strides=auto is chosen from the training clips: train first, or set it")
        needed = [_frames_needed(e) for e in train.examples]
        return defaults.time_strides([e.frames for e in train.examples], needed, len(self.cfg.model.channels))

    def _check_alignable(self, model) -> None:
        """CTC needs at least one output frame per unit (plus one between repeated units)."""
        for split, dataset in self._data.items():
            frames = model.output_lengths(torch.tensor([e.frames for e in dataset.examples]))
            needed = [_frames_needed(e) for e in dataset.examples]
            ok = [int(f) >= n for f, n in zip(frames.tolist(), needed)]
            if all(ok):
                continue
            names = [e.id for e, k in zip(dataset.examples, ok) if not k]
            if split == "train":
                dataset.drop(ok)
                log.warning("train: %d clips have more units than output frames (CTC cannot align them) and are "
                            "left out of training: %s", len(names), _examples(names))
                if not dataset.examples:
                    raise UserError("no training clip is long enough for its transcript: use a model with less "
                                    "time reduction (e.g. model.time_strides=[1,1]) or a smaller features.hop_ms")
            else:
                log.warning("%s: %d clips have more units than output frames; they are kept and count as errors: %s",
                            split, len(names), _examples(names))

    def build_metrics(self) -> MetricCollection:
        from taskhub_speech.metrics import speech_metrics

        return speech_metrics()

    # --- steps ----------------------------------------------------------------------------
    def _loss(self, log_probs: torch.Tensor, out_lengths: torch.Tensor, batch: dict) -> torch.Tensor:
        # zero_infinity only guards val/test clips already reported as unalignable
        return F.ctc_loss(log_probs.float().transpose(0, 1), batch["targets"], out_lengths, batch["target_lengths"],
                          blank=0, reduction="mean", zero_infinity=True)

    def training_step(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        x = batch["features"]
        sa = self.cfg.task.get("spec_augment")
        if sa:
            x = spec_augment(x, batch["lengths"], int(sa.freq_masks), int(sa.freq_width), int(sa.time_masks),
                             float(sa.time_width))
        log_probs, out_lengths = model(x, batch["lengths"])
        return self._loss(log_probs, out_lengths, batch)

    def evaluation_step(self, model: torch.nn.Module, batch: Any, metrics: MetricCollection) -> torch.Tensor:
        log_probs, out_lengths = model(batch["features"], batch["lengths"])
        hyps = [self.normalization(h) for h in self.decoder()(log_probs, out_lengths)]
        metrics.update(hyps, batch["texts"], ids=batch["ids"])
        return self._loss(log_probs, out_lengths, batch)

    def batch_size(self, batch: Any) -> int:
        return len(batch["ids"])

    def predict(self, model: torch.nn.Module, inputs: Sequence[Any]) -> Iterable[dict[str, Any]]:
        """One row per audio file: ``{"input", "transcript", "duration"}``, or ``{"input", "error"}``
        for a file that cannot be read (the others are still transcribed)."""
        feats = self.features()
        featurizer = Featurizer(feats)
        device = next(model.parameters()).device
        rows, ready = [], []
        for path in expand_paths([str(x) for x in inputs], AUDIO_SUFFIXES):
            try:
                wave = read_audio(path, feats.sample_rate)
            except BadAudio as exc:
                rows.append({"input": str(path), "error": str(exc)})
                continue
            if wave.numel() < feats.window_samples:
                rows.append({"input": str(path), "error": f"{path}: shorter than one feature window ({feats.win_ms:g} ms)"})
                continue
            ready.append((str(path), wave.numel() / feats.sample_rate, featurizer(wave)))
        size = self.cfg.dataset.get("bucket_size", 16)
        size = 16 if str(size) == "auto" else int(size)
        ready.sort(key=lambda r: r[2].shape[0])
        for start in range(0, len(ready), size):
            chunk = ready[start:start + size]
            batch = collate([[Example(p, "", f, torch.zeros(0, dtype=torch.long)) for p, _, f in chunk]])
            log_probs, out_lengths = model(batch["features"].to(device), batch["lengths"].to(device))
            for (path, seconds, _), text in zip(chunk, self.decoder()(log_probs, out_lengths)):
                rows.append({"input": path, "transcript": self.normalization(text), "duration": round(seconds, 3)})
        order = {str(p): i for i, p in enumerate(r["input"] for r in rows)}
        yield from sorted(rows, key=lambda r: order[r["input"]])

    # --- artefacts and state --------------------------------------------------------------
    def plots(self, run: Run) -> None:
        """worst_utterances.md (with word alignments), error_by_length.png and the worst utterance's
        spectrogram and CTC posteriors (spectrogram.png), on the test split (else validation)."""
        from taskhub_speech.plots import plot_error_by_length, plot_spectrogram, run_title, write_worst

        title = run_title(run, self)
        for split in ("test", "val"):
            rows = run.results.get(split, {}).get(f"{split}/utterances")
            if not rows:
                continue
            write_worst(run.dir / "worst_utterances.md", rows, int(self.cfg.task.get("worst", 20)), split, title)
            plot_error_by_length(run.dir / "error_by_length.png", rows, split, title)
            dataset = self._data.get(split)
            if dataset is not None:
                example = next((e for e in dataset.examples if e.id == rows[0]["id"]), dataset.examples[0])
                plot_spectrogram(run.dir / "spectrogram.png", example, run.model, self, rows[0], title)
            return

    def state_dict(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer.state_dict() if self.tokenizer else None,
                "normalize": self.normalization.to_dict() if self.normalization else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tokenizer = tokenizer_from_state(state["tokenizer"]) if state.get("tokenizer") else None
        self.normalization = Normalization(**state["normalize"]) if state.get("normalize") else None
        self._decoder = None

    def export_spec(self, model: torch.nn.Module, batch: Any) -> Any:
        from taskhub_speech.export import export_spec

        return export_spec(self, model, batch)

    def describe_data(self, data: Splits, samples: int = 16) -> DataDescription:  # for taskhub data check
        from taskhub_speech.data_check import describe

        return describe(self, data, samples)

