"""Text classification: the Task that ties tokenizers, text models, datasets and metrics to the engine."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import Dataset

from taskhub import Run, Task, UserError
from taskhub.data import DataDescription, Splits, build_splits
from taskhub_text import defaults
from taskhub_text.plots import classification_curves
from taskhub_text.readers import Examples
from taskhub_text.tokenization import TextTokenizer, pretrained_tokenizer, train_tokenizer

log = logging.getLogger("taskhub")

if TYPE_CHECKING:
    from torchmetrics import MetricCollection  # imported by build_metrics: not needed before validation


class EncodedTexts(Dataset):
    """Token-id sequences of different lengths with their label ids; batched by :func:`collate`."""

    def __init__(self, ids: list[list[int]], labels: list[int]) -> None:
        self.ids = [torch.tensor(x, dtype=torch.long) for x in ids]
        self.labels = torch.tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.ids[index], self.labels[index]


class Collate:
    """Pad a batch to its own longest sequence (dynamic padding) and keep the true lengths.

    A class, not a closure, so DataLoader workers can pickle it."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
        seqs = [ids for ids, _ in items]
        return {
            "input_ids": torch.nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=self.pad_id),
            "lengths": torch.tensor([len(s) for s in seqs], dtype=torch.long),
            "label": torch.stack([label for _, label in items]),
        }


class TextTask(Task):
    """Classify texts into named classes; reports accuracy, macro F1 and a confusion matrix."""

    name = "text"
    objective = ("val/accuracy", "max")
    metrics = ("accuracy", "f1_macro", "confusion_matrix")

    def __init__(self, cfg: DictConfig) -> None:
        super().__init__(cfg)
        self.labels: list[str] = []
        self.tokenizer: TextTokenizer | None = None
        self.restored = False  # state came from a checkpoint: the model's rows come from it too

    # --- building -------------------------------------------------------------------------
    def _tcfg(self, key: str, default: Any = None) -> Any:
        tok = self.cfg.task.get("tokenizer") or {}
        value = tok.get(key, default)
        return default if value is None else value

    def _auto(self, key: str, choose) -> Any:
        """``key``'s value; when it is ``auto``, chosen once by ``choose`` (or restored from a checkpoint).
        A key that is absent or null means the default, which is the same rule (not recorded)."""
        value = OmegaConf.select(self.cfg, key)
        if value is None:
            return choose()[0]
        return self.resolve_auto(key, choose) if str(value) == "auto" else value

    def _when_auto(self, key: str, choose) -> None:
        """Resolve ``key`` only when it is ``auto`` (null keeps its meaning: the model's default)."""
        if str(OmegaConf.select(self.cfg, key)) == "auto":
            self.resolve_auto(key, choose)

    def build_data(self, stage: str) -> Splits:
        data = build_splits(self.cfg.dataset)
        if stage == "fit" and data.train is not None and not self.labels:
            self.labels = sorted(data.info["labels"], key=_label_order)
            if len(self.labels) < 2:
                raise UserError(f"the training split has {len(self.labels)} class ({', '.join(self.labels)}); "
                                f"classification needs at least two labels")
        if self.tokenizer is None:
            if stage != "fit" or data.train is None:
                raise UserError("no tokenizer: evaluate a checkpoint that carries one")
            self.tokenizer = self._new_tokenizer(data.train.texts)
        pad = self.tokenizer.pad_id
        info = {k: v for k, v in data.info.items() if k != "words"}
        return Splits(train=self._encode(data.train, "train") if stage == "fit" else None,
                      val=self._encode(data.val, "val"), test=self._encode(data.test, "test"), info=info,
                      collate=Collate(pad), skipped=data.skipped)

    def _pretrained(self) -> tuple[str, str] | None:
        """(setting, value) of the pretrained tokenizer to use, if any."""
        if self._tcfg("pretrained"):
            return "task.tokenizer.pretrained", str(self._tcfg("pretrained"))
        if self.cfg.model.get("pretrained"):
            return "model.pretrained", str(self.cfg.model.pretrained)
        return None

    def _position_limit(self) -> int | None:
        """The most tokens a transformer takes (its position embeddings), else None."""
        pretrained = self.cfg.model.get("pretrained")
        config = Path(str(pretrained)).expanduser() / "config.json" if pretrained else None
        if config is not None and config.is_file():
            limit = json.loads(config.read_text()).get("max_position_embeddings")
            return int(limit) if limit else None
        settings = self.cfg.model.get("config") or {}
        if not pretrained and settings.get("max_position_embeddings"):
            return int(settings["max_position_embeddings"])
        return None

    def _new_tokenizer(self, texts: list[str]) -> TextTokenizer:
        """The pretrained model's own tokenizer, or one trained on the training texts with the
        vocabulary cut-offs chosen from the corpus size; then ``max_length`` from their lengths."""
        pretrained = self._pretrained()
        if pretrained:
            tok = pretrained_tokenizer(pretrained[1], None, setting=pretrained[0])
        else:
            n = len(texts)
            min_frequency = int(self._auto("task.tokenizer.min_frequency", lambda: defaults.min_frequency(n)))
            vocab_size = int(self._auto("task.tokenizer.vocab_size", lambda: defaults.vocab_size(n)))
            tok = train_tokenizer(texts, kind=self._tcfg("kind", "word"), vocab_size=vocab_size,
                                  min_frequency=min_frequency, lowercase=self._tcfg("lowercase", True), max_length=None)
            log.info("tokenizer: %s, %d tokens, trained on %d training texts", self._tcfg("kind", "word"),
                     tok.vocab_size, n)
        lengths = [len(ids) for ids in tok.encode(texts)]
        self._corpus = (sum(lengths), tok.vocab_size)
        limit = self._position_limit()
        max_length = self._auto("task.tokenizer.max_length", lambda: defaults.max_length(lengths, limit))
        tok.set_max_length(int(max_length) if max_length else None)
        return tok

    def _resolve_training(self) -> None:
        """Width from the corpus size, regularisation from the corpus (tokens per vocabulary entry),
        and the optimizer's rate and warm-up from whether the model starts from pretrained weights."""
        corpus = getattr(self, "_corpus", None)

        def level() -> tuple[tuple[float, float, float, float], str]:
            if corpus is None:
                raise UserError("model.dropout=auto is chosen from the training data: train first, or set it")
            return defaults.regularisation(*corpus)

        def width(key: str) -> tuple[int, str]:
            vectors = self.cfg.model.get("vectors")
            dim = defaults.vector_dim(str(vectors)) if vectors and key == "model.embedding_dim" else None
            if dim:
                return dim, f"the dimension of the word vectors in {vectors}"
            if corpus is None:
                raise UserError(f"{key}=auto is chosen from the training data: train first, or set it")
            return defaults.width(corpus[0])

        for key in ("model.embedding_dim", "model.hidden_size"):
            if key.split(".")[1] in self.cfg.model:
                self._when_auto(key, lambda key=key: width(key))
        for i, key in enumerate(("model.dropout", "model.embedding_dropout", "model.word_dropout")):
            if key.split(".")[1] in self.cfg.model:
                self._when_auto(key, lambda i=i: (level()[0][i], level()[1]))
        pretrained = bool(self.cfg.model.get("pretrained"))
        if "optimizer" in self.cfg:
            target = str(self.cfg.optimizer.get("_target_", ""))
            decoupled = target.endswith("AdamW")
            self._when_auto("optimizer.weight_decay", lambda: (level()[0][3], level()[1]) if decoupled and not pretrained
                       else (0.01 if decoupled else 0.0, "pretrained weights: AdamW's usual 0.01" if decoupled
                             else f"{target.rsplit('.', 1)[-1]} couples weight decay with the gradient: off"))
            self._when_auto("optimizer.lr", lambda: (defaults.FINETUNE_LR, "fine-tuning pretrained weights") if pretrained
                       else (defaults.SCRATCH_LR, "training from scratch"))
        if self.cfg.get("scheduler") and "warmup" in self.cfg.scheduler:
            self._when_auto("scheduler.warmup", lambda: (defaults.FINETUNE_WARMUP, "fine-tuning pretrained weights: linear "
                                                    "warm-up, then linear decay") if pretrained
                       else (0.0, "training from scratch: linear decay, no warm-up"))

    def _encode(self, examples: Examples | None, split: str) -> EncodedTexts | None:
        """Token ids and label ids; a label the training split never had stops the run at its line."""
        if examples is None or not len(examples):
            return None
        assert self.tokenizer is not None
        index = {name: i for i, name in enumerate(self.labels)}
        ys = []
        for label, origin in zip(examples.labels, examples.origins):
            if label not in index:
                raise UserError(f"{origin}: label '{label}' in the {split} split does not occur in training "
                                f"(known labels: {', '.join(self.labels[:20])}); fix the label or add training examples")
            ys.append(index[label])
        return EncodedTexts(self.tokenizer.encode(examples.texts), ys)

    def build_model(self) -> torch.nn.Module:
        if self.tokenizer is None:
            raise UserError("no tokenizer: build the data (or load a checkpoint) before the model")
        self._resolve_training()
        extra = {}
        if self.cfg.model.get("vectors") and not self.restored:
            extra["vocab"] = self.tokenizer.vocab()  # align pretrained vectors to our ids (first build only)
        return instantiate(self.cfg.model, vocab_size=self.tokenizer.vocab_size, num_classes=len(self.labels),
                           pad_id=self.tokenizer.pad_id, **extra)

    def build_metrics(self) -> MetricCollection:
        from torchmetrics import MetricCollection
        from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassF1Score

        n = len(self.labels)
        return MetricCollection({
            "accuracy": MulticlassAccuracy(num_classes=n, average="micro"),
            "f1_macro": MulticlassF1Score(num_classes=n, average="macro"),
            "confusion_matrix": MulticlassConfusionMatrix(num_classes=n),
            **classification_curves(n),  # ROC and PR curves for the run directory's plots
        })

    # --- steps ----------------------------------------------------------------------------
    def training_step(self, model: torch.nn.Module, batch: Any) -> torch.Tensor:
        logits = model(batch["input_ids"], batch["lengths"])
        return F.cross_entropy(logits, batch["label"], label_smoothing=float(self.cfg.task.get("label_smoothing", 0.0)))

    def evaluation_step(self, model: torch.nn.Module, batch: Any, metrics: MetricCollection) -> torch.Tensor:
        logits = model(batch["input_ids"], batch["lengths"])
        metrics.update(logits, batch["label"])
        return F.cross_entropy(logits, batch["label"])

    def predict(self, model: torch.nn.Module, inputs: Sequence[Any]) -> Iterable[dict[str, Any]]:
        """Files (one text per line, or CSV/TSV/JSONL with the text column) and literal strings."""
        from taskhub_text.predict_inputs import gather_inputs

        assert self.tokenizer is not None
        items = gather_inputs(inputs, self._predict_columns(), self.cfg.dataset.get("encoding") or "utf-8")
        device = next(model.parameters()).device
        batch_size = int(self.cfg.dataset.get("eval_batch_size") or self.cfg.dataset.get("batch_size", 64))
        collate = Collate(self.tokenizer.pad_id)
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            ids = self.tokenizer.encode([text for _, text in chunk])
            batch = collate([(torch.tensor(x), torch.tensor(0)) for x in ids])
            probs = model(batch["input_ids"].to(device), batch["lengths"].to(device)).float().softmax(-1).cpu()
            for (origin, text), p in zip(chunk, probs.tolist()):
                best = max(range(len(p)), key=p.__getitem__)
                yield {"input": origin, "text": text, "label": self.labels[best],
                       "probabilities": {label: round(q, 6) for label, q in zip(self.labels, p)}}

    def _predict_columns(self) -> list[str]:
        """The text column(s) of CSV/JSONL predict files: task.text_columns, else the dataset's, else 'text'."""
        cols = self.cfg.task.get("text_columns") or self.cfg.dataset.get("text_columns") or "text"
        cols = OmegaConf.to_container(cols) if OmegaConf.is_config(cols) else cols
        return [str(c) for c in ([cols] if isinstance(cols, (str, int)) else cols)]

    # --- artefacts and state --------------------------------------------------------------
    def plots(self, run: Run) -> None:
        """The tokenizer and labels beside the checkpoints (what predict needs); confusion matrices,
        per-class scores, ROC and PR curves and the most confidently wrong texts (most_confident_errors.md)."""
        from taskhub_text.plots import draw

        if self.tokenizer is not None:
            self.tokenizer.save(Path(run.dir) / "tokenizer.json")
        (Path(run.dir) / "labels.json").write_text(json.dumps(self.labels, indent=1) + "\n")
        draw(run, self)

    def state_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "tokenizer": self.tokenizer.to_json() if self.tokenizer else None,
                "max_length": self.tokenizer.max_length if self.tokenizer else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.labels = list(state["labels"])
        if state.get("tokenizer"):
            self.tokenizer = TextTokenizer.from_json(state["tokenizer"], state.get("max_length"))
        self.restored = True

    def model_name(self) -> str:
        target = str(self.cfg.model.get("_target_", "model")).rsplit(".", 1)[-1]
        return str(self.cfg.model.get("cell", target)) if target == "RecurrentClassifier" else target

    def export_spec(self, model: torch.nn.Module, batch: Any) -> Any:
        from taskhub_text.export import export_spec

        return export_spec(self, model, batch)

    def load_bundle_state(self, state: dict[str, Any], folder: Path) -> None:
        from taskhub_text.export import load_bundle_state

        load_bundle_state(self, state, folder)

    def describe_data(self, data: Splits, samples: int = 16) -> DataDescription:  # for taskhub data check
        from taskhub_text.data_check import describe

        return describe(self, data, samples)


def _label_order(label: str) -> tuple[int, float | str]:
    """Numeric labels in numeric order (2 before 10), then names alphabetically."""
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)
