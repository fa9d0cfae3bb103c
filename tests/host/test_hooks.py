"""Every loop hook fires when documented, with what it promises; plugins can add CLI verbs."""
from __future__ import annotations

import json

import taskhub
from taskhub.cli import main
from taskhub.plugins import get_host
from taskhub.testing import run_task


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    @taskhub.hookimpl
    def on_fit_start(self, run):
        self.calls.append(("on_fit_start", run.epoch))

    @taskhub.hookimpl
    def on_epoch_end(self, run, epoch, metrics):
        self.calls.append(("on_epoch_end", epoch, "val/accuracy" in metrics and "train/loss" in metrics))

    @taskhub.hookimpl
    def on_checkpoint(self, run, path, best):
        self.calls.append(("on_checkpoint", path.name, best, path.is_file()))

    @taskhub.hookimpl
    def on_fit_end(self, run, summary):
        self.calls.append(("on_fit_end", "test/accuracy" in summary))
        summary["recorded_by"] = "recorder"


def test_loop_hooks_fire_in_order(tmp_path):
    recorder = Recorder()
    pm = get_host().pm
    pm.register(recorder, name="recorder")
    try:
        run_task("vision", tmp_path / "run", "model=mlp", "dataset.num_samples=300", "trainer.max_epochs=2")
    finally:
        pm.unregister(name="recorder")
    names = [c[0] for c in recorder.calls]
    assert names[0] == "on_fit_start" and names[-1] == "on_fit_end"
    assert [c for c in recorder.calls if c[0] == "on_epoch_end"] == [("on_epoch_end", 1, True), ("on_epoch_end", 2, True)]
    checkpoints = [c for c in recorder.calls if c[0] == "on_checkpoint"]
    assert all(c[3] for c in checkpoints)  # the file exists when the hook runs
    assert ("on_checkpoint", "last.pt", False, True) in checkpoints and checkpoints.count(checkpoints[0]) == 2
    assert recorder.calls[-1] == ("on_fit_end", True)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["recorded_by"] == "recorder"


class Hello:
    @taskhub.hookimpl
    def register_commands(self, subparsers):
        parser = subparsers.add_parser("hello", help="say hello")
        parser.add_argument("--name", default="world")
        parser.set_defaults(handler=lambda args: print(f"hello {args.name}"))


def test_register_commands_adds_a_verb(capsys):
    pm = get_host().pm
    pm.register(Hello(), name="hello-plugin")
    try:
        assert main(["hello", "--name", "taskhub"]) == 0
    finally:
        pm.unregister(name="hello-plugin")
    assert capsys.readouterr().out.strip() == "hello taskhub"


class HydraPluginsRecorder:
    def __init__(self) -> None:
        self.calls = 0

    @taskhub.hookimpl
    def register_hydra_plugins(self):
        self.calls += 1


def test_register_hydra_plugins_runs_once_before_composing_not_for_listing(capsys):
    from hydra.core.plugins import Plugins

    from taskhub.plugins import reset_host

    reset_host()
    recorder = HydraPluginsRecorder()
    get_host().pm.register(recorder, name="hydra-recorder")
    try:
        assert main(["plugins", "--json"]) == 0
        assert recorder.calls == 0  # listing composes nothing
        for _ in range(2):
            assert main(["run", "task=vision", "--cfg", "job"]) == 0
        assert recorder.calls == 1
        assert "name: vision" in capsys.readouterr().out
        # the sweep plugin's implementation registered its Optuna sweeper under Hydra's name for it
        assert "hydra_plugins.taskhub_sweep.OptunaSweeper" in Plugins.instance().class_name_to_class
    finally:
        reset_host()
