"""A user's mistake gets one clear line (valid choices, did you mean), exit status 2, no traceback."""
from __future__ import annotations

import pytest

from taskhub.cli import main
from taskhub.testing import cli


def assert_one_line_error(result, *fragments: str) -> str:
    assert result.returncode == 2, (result.stdout[-1500:], result.stderr[-1500:])
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


class InProcess:
    """``taskhub ARGS`` run in this process (fast), with its exit status and captured output."""

    def __init__(self, capsys, *args: str) -> None:
        self.returncode = main(list(args))
        captured = capsys.readouterr()
        self.stdout, self.stderr = captured.out, captured.err


@pytest.mark.parametrize("args, fragments", [
    (["task=visoin"], ["unknown task 'visoin'", "did you mean 'vision'", "vision"]),
    (["task=vision", "model=cnnn"], ["unknown model 'cnnn'", "did you mean 'cnn'", "mlp", "resnet"]),
    (["task=vision", "dataset=mnsit"], ["unknown dataset 'mnsit'", "did you mean 'mnist'", "imagefolder"]),
    (["task=vision", "optimizer=adamm"], ["unknown optimizer 'adamm'", "did you mean 'adam'", "sgd"]),
    ([], ["choose a task", "vision"]),
    (["task=vision", "dataset=mnist"], ["error: dataset.root must be set", "dataset.root="]),
    (["task=vision", "+model.foo=1"], ["cannot build model", "unexpected keyword argument 'foo'"]),
    (["task=vision", "optimizer.lr=abc"], ["cannot build optimizer"]),
    (["task=vision", "dataset=mnist", "dataset.root=/nonexistent/mnist"], ["/nonexistent/mnist", "no such directory"]),
    (["task=vision", "trainer.max_epochs=abc"], ["trainer.max_epochs", "abc"]),
    (["task=vision", "trainer.max_epoch=1"], ["max_epoch"]),
    (["task=vision", "trainer.device=tpu9"], ["trainer.device=tpu9"]),
])
def test_user_errors_are_one_line(tmp_path, capsys, args, fragments):
    assert_one_line_error(InProcess(capsys, "run", *args, f"hydra.run.dir={tmp_path / 'run'}"), *fragments)


def test_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert_one_line_error(InProcess(capsys, "eval", f"ckpt={tmp_path / 'nope.pt'}"), "checkpoint not found", "nope.pt")
    assert_one_line_error(InProcess(capsys, "predict", f"ckpt={tmp_path / 'nope.pt'}", "input=x.png"),
                          "checkpoint not found")


def test_command_line_error_has_no_traceback(tmp_path):
    """The real console entry point, in its own process: one line on stderr, status 2."""
    assert_one_line_error(cli("run", "task=vision", "model=cnnn", f"hydra.run.dir={tmp_path}"), "did you mean 'cnn'")


def test_hydra_flags_pass_through(capsys):
    """Hydra's own flags work anywhere after `run`, with their values (`--cfg job`, `-m`)."""
    from taskhub.launch import hydra_args

    assert hydra_args(["-m", "task=vision", "--cfg", "job", "a=1"]) == (["task=vision", "a=1"], ["-m", "--cfg", "job"], True)
    assert main(["run", "task=vision", "--cfg", "job", "model=mlp"]) == 0
    assert "_target_: taskhub_vision.models.MLP" in capsys.readouterr().out


def test_user_error_from_a_dataloader_worker_is_one_line():
    """A corrupt file found inside a DataLoader worker still reads as one line."""
    from torch.utils.data import DataLoader, Dataset

    from taskhub import UserError
    from taskhub.errors import user_message

    class Broken(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            raise UserError("/data/cat/3.png: cannot read this image; fix or remove the file")

    with pytest.raises(UserError) as info:
        next(iter(DataLoader(Broken(), num_workers=1)))
    assert user_message(info.value) == "/data/cat/3.png: cannot read this image; fix or remove the file"
