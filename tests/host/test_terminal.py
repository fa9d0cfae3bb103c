"""The live terminal, checked as a user sees it: a real tmux pane captured mid-epoch."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_the_bar_moves_every_step_with_throughput_and_eta(tmp_path):
    session = "run"
    tmux = [TMUX, "-L", f"taskhub-test-{os.getpid()}"]  # a private server: nobody else's sessions or kills
    taskhub = Path(sys.executable).parent / "taskhub"
    # Small batches, three epochs: on a fast machine an epoch must still last long enough to be seen.
    command = (f"{taskhub} run task=vision trainer.max_epochs=3 trainer.device=cpu dataset.batch_size=2 "
               f"hydra.run.dir={tmp_path / 'run'}; sleep 30")
    # The server takes its environment from this process: a COLUMNS inherited from the shell that
    # started pytest (80, say) would size the run's console instead of the 200-column pane.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "200", "-y", "40", command], check=True, env=env)
    screens: list[str] = []
    screen = ""
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            bar = re.search(r"epoch [12]/3 .*?(\d+)/(\d+) .*eta \d+:\d\d:\d\d.*samples/s", screen)
            if bar and 0 < int(bar.group(1)) < int(bar.group(2)) and (not screens or screen != screens[-1]):
                screens.append(screen)
                if len(screens) == 2:
                    break
            time.sleep(0.1)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    assert len(screens) == 2, f"no mid-epoch bar with samples/s and an ETA appeared; last screen:\n{screen}"
    first, second = (re.findall(r"epoch ([12])/3 .*?(\d+)/\d+ ", s)[-1] for s in screens)
    assert second != first  # it moved between two captures, not once per 50 steps
    header = screens[-1]
    assert "starting" in header and "parameters" in header and "run dir" in header and str(tmp_path / "run") in header
    assert "(run " in screens[-1]  # the run's ETA beside the epoch's


def test_a_narrow_terminal_keeps_the_numbers_and_shrinks_the_bar(monkeypatch):
    """80 columns (a common terminal) hold the step count, times, throughput and loss in full."""
    from rich.console import Console

    from taskhub.engine import progress

    console = Console(width=80, force_terminal=True, color_system=None)
    monkeypatch.setattr("rich.console.Console", lambda *a, **k: console)
    with progress.EpochProgress(mode="rich") as bar:
        bar._bar.add_task("epoch 1/3", total=2400, completed=363, eta="0:01:41 (run 0:05:39)",
                          speed="40 samples/s", live="loss=1.619")
        with console.capture() as captured:
            console.print(bar._bar.make_tasks_table(bar._bar.tasks))
    line = captured.get().rstrip()
    assert "363/2400" in line and "eta 0:01:41 (run 0:05:39)" in line and "loss=1.619" in line, line
    assert "…" not in line
