"""The conformance suite every task plugin runs against itself (``taskhub.testing.PluginConformance``).

In the plugin's own tests::

    from taskhub.testing import PluginConformance

    class TestLine(PluginConformance):
        task = "line"
        overrides = ("dataset.n=512",)          # keep every run small
        def predict_inputs(self, tmp_path):      # raw inputs, as `taskhub predict input=...` passes them
            return ["0.5", "-1"]

Each test says one thing the host relies on: the configs compose, every model x dataset pair
builds and trains a step, a short run learns (its objective beats the untrained model's), the
best checkpoint round-trips, ``eval`` of it reproduces the run's test metrics, ``predict``
returns JSON rows, a resumed run equals an uninterrupted one, and a typo is one line.
"""
from __future__ import annotations

import io
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from taskhub.errors import MissingExtra, UserError
from taskhub.hookspecs import hookimpl
from taskhub.run_state import Run


def _missing_extra(exc: BaseException) -> MissingExtra | None:
    """The :class:`MissingExtra` behind ``exc``, also when Hydra's instantiate wrapped it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MissingExtra):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def compose(task: str, *overrides: str) -> Any:
    """The config ``taskhub run task=TASK OVERRIDES`` composes (without running it)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from taskhub import config
    from taskhub.plugins import get_host
    from taskhub.schema import register_schemas

    host = get_host()
    packages = config.search_packages(host, config.check_task(host, task))
    config.check_choices([f"task={task}", *overrides], packages, task)
    register_schemas()
    host.prepare_hydra()
    searchpath = "hydra.searchpath=[" + ",".join(f"pkg://{p}" for p in packages[:-1]) + "]"
    with initialize_config_module(config_module=config.HOST_CONFIGS, version_base="1.3"):
        return hydra_compose("run", overrides=[f"task={task}", *overrides, searchpath])


def options(task: str, group: str) -> list[str]:
    """The options of config group ``group`` (``model``, ``dataset``) that runs of ``task`` see."""
    from taskhub import config
    from taskhub.plugins import get_host

    return config.group_options(config.search_packages(get_host(), task)[:-1], group)


def _scalars(summary: Mapping[str, Any], prefix: str) -> dict[str, float]:
    return {k: float(v) for k, v in summary.items()
            if k.startswith(prefix) and isinstance(v, (int, float)) and not isinstance(v, bool)}


def _same_numbers(a: dict[str, float], b: dict[str, float], rel: float, abs_: float) -> bool:
    if set(a) != set(b):
        return False
    return all((math.isnan(a[k]) and math.isnan(b[k])) or math.isclose(a[k], b[k], rel_tol=rel, abs_tol=abs_)
               for k in a)


def _equal_state(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape \
            and bool(torch.equal(a.cpu(), b.cpu()))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(_equal_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal_state(x, y) for x, y in zip(a, b))
    return bool(a == b)


class _StopAfterFirstEpoch:
    """Ends a run after its first epoch, as an interruption at an epoch boundary would."""

    @hookimpl
    def on_epoch_end(self, run: Run, epoch: int, metrics: dict[str, float]) -> None:
        if epoch == 1:
            run.should_stop = True


class PluginConformance:
    """Subclass as ``class TestMyTask(PluginConformance): task = "my"`` in a test module.

    Class attributes tune it for the plugin; the defaults suit a task whose default dataset is
    small and built in.
    """

    #: the task name to check (``taskhub run task=...``).
    task: ClassVar[str] = ""
    #: overrides for every run: shrink the default data and model so that the suite is quick.
    overrides: ClassVar[Sequence[str]] = ()
    #: epochs of the short run that must learn (and of the uninterrupted run resume is compared with).
    epochs: ClassVar[int] = 3
    #: how much the trained objective must beat the untrained model's (in the objective's units).
    min_improvement: ClassVar[float] = 0.0
    #: extra overrides for one model or dataset in the pairs check: {"model=big": ["model.width=8"]}.
    pair_overrides: ClassVar[Mapping[str, Sequence[str]]] = {}
    #: pairs not to build, with why: {"model=pretrained": "downloads weights"} or {"model=a dataset=b": "..."}.
    skip_pairs: ClassVar[Mapping[str, str]] = {}
    #: tolerances when comparing eval or a resumed run with the trained run's test metrics.
    rel_tolerance: ClassVar[float] = 1e-4
    abs_tolerance: ClassVar[float] = 1e-5

    def predict_inputs(self, tmp_path: Path) -> Sequence[Any] | None:
        """Raw inputs for ``predict`` as the CLI passes them (strings: paths, text, numbers); files
        may be written under ``tmp_path``. None skips the predict check."""
        return None

    # --- shared runs (once per class) -----------------------------------------------------
    @classmethod
    def _run(cls, run_dir: Path, *extra: str) -> dict[str, Any]:
        from taskhub.testing import run_task

        if not cls.task:
            pytest.skip("set PluginConformance.task")
        return run_task(cls.task, run_dir, *cls.overrides, *extra)

    @pytest.fixture(scope="class")
    @classmethod
    def trained(cls, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
        """A short run on the default data: (run directory, summary)."""
        run_dir = tmp_path_factory.mktemp(f"conformance_{cls.task}") / "trained"
        return run_dir, cls._run(run_dir, f"trainer.max_epochs={cls.epochs}")

    @pytest.fixture(scope="class")
    @classmethod
    def untrained(cls, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
        """The same config, untrained: one optimizer step at learning rate 0, so that the metrics are
        the initial weights' (a run needs at least one epoch)."""
        return cls._run(tmp_path_factory.mktemp(f"conformance_{cls.task}") / "untrained", "trainer.max_epochs=1",
                        "optimizer.lr=0.0", "trainer.limit_train_batches=1")

    # --- the checks -----------------------------------------------------------------------
    def test_registration_matches_the_class(self) -> None:
        from taskhub.plugins import get_host

        entry = get_host().tasks.get(self.task)
        assert entry is not None, f"task {self.task!r} is not registered (installed plugins: {sorted(get_host().tasks)})"
        cls = entry.task_cls
        assert cls.name in ("", self.task) or entry.name == self.task
        if entry.metrics is not None:
            assert tuple(entry.metrics) == tuple(cls.metrics), "register(metrics=...) differs from the class's metrics"
        if entry.objective is not None:
            assert tuple(entry.objective) == tuple(cls.objective), "register(objective=...) differs from the class's"
        assert cls.objective[1] in ("min", "max") and cls.objective[0].startswith("val/")

    def test_configs_compose(self) -> None:
        cfg = compose(self.task, *self.overrides)
        assert cfg.task.name == self.task and "_target_" in cfg.model and "_target_" in cfg.dataset
        for model in options(self.task, "model"):
            assert "_target_" in compose(self.task, f"model={model}").model, f"model={model}"
        for dataset in options(self.task, "dataset"):
            assert "_target_" in compose(self.task, f"dataset={dataset}").dataset, f"dataset={dataset}"

    def test_every_model_and_dataset_pair_builds_and_steps(self) -> None:
        """Build each buildable dataset once, then each model on it, and take one training step."""
        from omegaconf import OmegaConf

        from taskhub.plugins import get_host

        default = compose(self.task, *self.overrides)
        default_dataset = default.hydra.runtime.choices.get("dataset") if "hydra" in default else None
        built, skipped = [], []
        for dataset in options(self.task, "dataset"):
            extra = list(self.overrides) if dataset == default_dataset else []
            extra += list(self.pair_overrides.get(f"dataset={dataset}", ()))
            if f"dataset={dataset}" in self.skip_pairs:
                continue
            cfg = compose(self.task, f"dataset={dataset}", *extra)
            if OmegaConf.missing_keys(cfg.dataset):
                skipped.append(dataset)  # needs the user's files (root=..., train=...)
                continue
            cls = get_host().task_class(self.task)
            try:
                data = cls(cfg).build_data("fit")
            except UserError:
                if dataset == default_dataset:
                    raise
                skipped.append(dataset)  # a one-line "set dataset.train=..."-style error: needs input
                continue
            for model in options(self.task, "model"):
                if f"model={model}" in self.skip_pairs or f"model={model} dataset={dataset}" in self.skip_pairs:
                    continue
                try:
                    self._one_step(cls, dataset, model, [*extra, *self.pair_overrides.get(f"model={model}", ())])
                except Exception as exc:
                    lacking = _missing_extra(exc)
                    if lacking is None:
                        raise
                    # an optional library this environment lacks: said, not failed
                    warnings.warn(f"model={model} dataset={dataset} not checked: {lacking}", stacklevel=1)
                    skipped.append(f"model={model} ({lacking})")
                    continue
                built.append(f"model={model} dataset={dataset}")
        assert built, f"no model x dataset pair of task {self.task} could be built (skipped: {skipped})"

    def _one_step(self, cls: type, dataset: str, model_name: str, extra: list[str]) -> None:
        import torch

        from taskhub.engine.batches import Batches

        cfg = compose(self.task, f"dataset={dataset}", f"model={model_name}", *extra)
        task = cls(cfg)
        # This config's own data: what a task feeds a model may depend on the model (speech: waveforms
        # for wav2vec2, features for the others). It also fits the task's state (labels, vocabulary).
        data = task.build_data("fit")
        model = task.build_model()
        batch = next(iter(Batches(data.train, 4, shuffle=False, collate=data.collate, num_workers=0, seed=0)))
        model.train()
        loss = task.training_step(model, batch)
        assert isinstance(loss, torch.Tensor) and loss.dim() == 0, f"model={model_name}: training_step returned {loss!r}"
        assert torch.isfinite(loss), f"model={model_name} dataset={dataset}: loss {loss.item()}"
        loss.backward()
        assert any(p.grad is not None for p in model.parameters()), f"model={model_name}: no gradient reached it"

    def test_learns_above_an_untrained_model(self, trained: tuple[Path, dict[str, Any]],
                                              untrained: dict[str, Any]) -> None:
        _, summary = trained
        key, mode = summary["objective"]["name"], summary["objective"]["mode"]
        learned, before = summary["objective"]["value"], untrained.get(key)
        assert learned is not None and before is not None, f"no {key} in the summaries"
        gain = learned - before if mode == "max" else before - learned
        assert gain > self.min_improvement, f"{key}: {before:.4g} untrained, {learned:.4g} after {self.epochs} epochs"

    def test_checkpoint_round_trip(self, trained: tuple[Path, dict[str, Any]]) -> None:
        import torch

        import taskhub
        from taskhub.engine import checkpoint

        best = trained[0] / "checkpoints" / "best.pt"
        saved = checkpoint.load(best)
        predictor = taskhub.load(best, device="cpu")
        assert _equal_state(predictor.model.state_dict(), saved["model"]), "the loaded model differs from best.pt"
        state = predictor.task.state_dict()
        assert _equal_state(state, saved["task_state"]), "Task.load_state_dict/state_dict do not round-trip"
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        torch.load(buffer, weights_only=True)  # plain data: loadable without running code

    def test_eval_of_best_checkpoint_equals_the_runs_test_metrics(self, trained: tuple[Path, dict[str, Any]],
                                                                   tmp_path: Path) -> None:
        from taskhub.cli import main
        from taskhub.testing import read_summary

        run_dir, summary = trained
        assert main(["eval", f"ckpt={run_dir / 'checkpoints' / 'best.pt'}", f"hydra.run.dir={tmp_path / 'eval'}",
                     "trainer.device=cpu", "trainer.progress=none"]) == 0
        evaluated, expected = _scalars(read_summary(tmp_path / "eval"), "test/"), _scalars(summary, "test/")
        assert expected and _same_numbers(evaluated, expected, self.rel_tolerance, self.abs_tolerance), \
            f"eval {evaluated} != run {expected}"

    def test_predict_returns_json_rows(self, trained: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
        import taskhub

        inputs = self.predict_inputs(tmp_path)
        if inputs is None:
            pytest.skip("define predict_inputs(tmp_path) to check predict")
        rows = taskhub.load(trained[0] / "checkpoints" / "best.pt", device="cpu").predict(list(inputs))
        assert len(rows) >= len(inputs), f"{len(inputs)} inputs gave {len(rows)} rows"
        for row in rows:
            assert isinstance(row, dict), row
            json.dumps(row)  # JSON as it is: no numpy scalars, tensors or paths

    def test_resume_equals_an_uninterrupted_run(self, trained: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
        if self.epochs < 2:
            pytest.skip("epochs < 2: nothing to interrupt")
        from taskhub.plugins import get_host

        run_dir = tmp_path / "resumed"
        pm = get_host().pm
        # Interrupted after epoch 1 with the very same config (schedules sized for the whole run).
        pm.register(_StopAfterFirstEpoch(), name="conformance-interrupt")
        try:
            self._run(run_dir, f"trainer.max_epochs={self.epochs}")
        finally:
            pm.unregister(name="conformance-interrupt")
        resumed = self._run(run_dir, f"trainer.max_epochs={self.epochs}", "trainer.resume=auto")
        _, straight = trained
        assert resumed["epochs"] == straight["epochs"]
        got, expected = _scalars(resumed, "test/"), _scalars(straight, "test/")
        assert _same_numbers(got, expected, self.rel_tolerance, self.abs_tolerance), f"resumed {got} != straight {expected}"

    @pytest.mark.parametrize("group", ["model", "dataset"])
    def test_a_typo_in_a_choice_is_one_line(self, group: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        from taskhub.cli import main

        choice = options(self.task, group)[0]
        assert main(["run", f"task={self.task}", f"{group}={choice}x", f"hydra.run.dir={tmp_path}"]) == 2
        self._assert_one_line(capsys.readouterr().err, f"{choice}x", "did you mean")

    def test_a_typo_in_a_setting_is_one_line(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        from taskhub.cli import main

        keys = [k for k in compose(self.task, *self.overrides).dataset if not str(k).startswith("_")]
        assert keys, "the default dataset config has no settings"
        typo = f"{keys[0]}x"
        for override in (f"dataset.{typo}=1", f"+dataset.{typo}=1"):
            assert main(["run", f"task={self.task}", *self.overrides, override, "trainer.max_epochs=1",
                         "trainer.device=cpu", "trainer.progress=none", f"hydra.run.dir={tmp_path / 'typo'}"]) == 2, override
            self._assert_one_line(capsys.readouterr().err, typo)

    @staticmethod
    def _assert_one_line(err: str, *needles: str) -> None:
        assert "Traceback" not in err, err
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, err
        for needle in needles:
            assert needle in errors[0], errors[0]
