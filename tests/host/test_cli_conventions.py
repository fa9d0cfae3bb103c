"""The CLI follows conventions: --version, help per verb (and per task), --quiet, shell completion."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import taskhub
from taskhub.cli import main


def test_version_names_taskhub_torch_and_the_plugins(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"taskhub {taskhub.__version__}\n")
    assert "torch 2.11" in out and "CUDA" in out
    assert "plugin vision: taskhub-dl" in out and "plugin speech: taskhub-dl" in out


@pytest.mark.parametrize("verb", ["run", "eval", "predict"])
def test_every_hydra_verb_has_help(verb, capsys):
    assert main([verb, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"taskhub {verb} ")
    assert "error" not in out.lower()


def test_run_help_for_a_task_lists_its_choices(capsys):
    assert main(["run", "task=vision", "--help"]) == 0
    out = capsys.readouterr().out
    model = next(line for line in out.splitlines() if line.strip().startswith("model="))
    dataset = next(line for line in out.splitlines() if line.strip().startswith("dataset="))
    assert "cnn" in model and "resnet" in model and "imagefolder" in dataset and "mnist" in dataset
    assert any(line.strip().startswith("experiment=") for line in out.splitlines())


def test_quiet_prints_nothing_but_writes_the_run(tmp_path, capfd):
    assert main(["run", "task=tabular", "--quiet", "trainer.max_epochs=1", "trainer.device=cpu",
                 "dataset.num_samples=600", f"hydra.run.dir={tmp_path / 'run'}"]) == 0
    out, err = capfd.readouterr()
    assert out.strip() == "" and err.strip() == ""
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs"] == 1 and "test/accuracy" in summary


def test_quiet_still_prints_errors(tmp_path, capfd):
    assert main(["run", "task=tabular", "-q", "model=mlpp", f"hydra.run.dir={tmp_path}"]) == 2
    out, err = capfd.readouterr()
    assert out.strip() == "" and err.startswith("error: unknown model 'mlpp'")


# --- completion, run by a real bash: the shell is the point ---------------------------------
BASH = shutil.which("bash")


def _complete(line: str) -> list[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    script = (f'eval "$(taskhub completion bash)"; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; '
              'COMP_WORDBREAKS=$\' \\t\\n"\\\'><=;|&(:\'; _taskhub; printf "%s\\n" "${COMPREPLY[@]}"')
    proc = subprocess.run([BASH, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and "error" not in proc.stderr.lower(), proc.stderr
    return [c for c in proc.stdout.splitlines() if c]


@pytest.mark.skipif(BASH is None, reason="no bash on this machine")
def test_bash_completes_verbs_tasks_and_the_tasks_groups():
    assert "run " in _complete("taskhub ru")
    assert _complete("taskhub run task=vi") == ["vision "]  # after '=' bash completes the value only
    models = _complete("taskhub run task=text model=")
    assert {"lstm ", "transformer ", "cnn "} <= set(models)
    assert "lstm " not in _complete("taskhub run task=vision model=")  # the chosen task's models only
    assert {"model=", "dataset=", "experiment="} <= set(_complete("taskhub run task=vision "))


def test_zsh_script_and_unknown_shell(capsys):
    assert main(["completion", "zsh"]) == 0
    assert "compdef _taskhub taskhub" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["completion", "fish"])  # argparse: usage and "invalid choice", status 2
    assert exit_.value.code == 2


def test_a_logger_typo_is_one_line_with_a_suggestion(tmp_path, capsys):
    assert main(["run", "task=tabular", "logger=[csv,tensorbord]", f"hydra.run.dir={tmp_path}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown logger 'tensorbord'" in err[0] and "did you mean 'tensorboard'" in err[0]


def test_plugins_keeps_full_names_when_piped(capsys):
    assert main(["plugins"]) == 0  # captured: not a terminal
    out = capsys.readouterr().out
    assert "pennfudan_centernet" in out and "fasterrcnn_resnet50" in out and "…" not in out
