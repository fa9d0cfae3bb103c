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
    command = (f"{taskhub} run task=vision trainer.max_epochs=2 trainer.device=cpu dataset.batch_size=16 "
               f"hydra.run.dir={tmp_path / 'run'}; sleep 30")
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "200", "-y", "40", command], check=True)
    screens: list[str] = []
    screen = ""
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout
            bar = re.search(r"epoch 1/2 .*?(\d+)/(\d+) .*eta \d+:\d\d:\d\d.*samples/s", screen)
            if bar and 0 < int(bar.group(1)) < int(bar.group(2)):
                screens.append(screen)
                if len(screens) == 2 and screens[0] != screens[1]:
                    break
            time.sleep(0.3)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    assert len(screens) == 2, f"no mid-epoch bar with samples/s and an ETA appeared; last screen:\n{screen}"
    first, second = (int(re.search(r"epoch 1/2 .*?(\d+)/\d+ ", s).group(1)) for s in screens)
    assert second > first  # it moved between two captures, not once per 50 steps
    header = screens[-1]
    assert "starting" in header and "parameters" in header and "run dir" in header and str(tmp_path / "run") in header
    assert "(run " in screens[-1]  # the run's ETA beside the epoch's
