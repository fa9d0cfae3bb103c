"""report.html: written by every run, rebuilt by `taskhub report`, and every picture loads in a real browser."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from taskhub.cli import main
from taskhub.testing import run_task

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--virtual-time-budget=10000"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report") / "run"
    run_task("tabular", root, "trainer.max_epochs=2", "dataset.num_samples=800", "trainer.num_threads=1")
    return root


def _loaded_images(page, profile) -> tuple[int, int]:
    """(images on the page, images that loaded) as headless Chromium sees them after the load event."""
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    body = re.search(r'<body data-images="(\d+)" data-images-loaded="(\d+)"', proc.stdout)
    assert body, f"no load marker in the page Chromium rendered: {proc.stdout[:500]} {proc.stderr[-500:]}"
    return int(body.group(1)), int(body.group(2))


def test_every_run_writes_a_report_with_its_results_and_plots(run_dir):
    page = (run_dir / "report.html").read_text()
    assert "tabular / mlp / synthetic" in page and "test/accuracy" in page
    assert '<img src="learning_curves.png"' in page
    assert 'href="checkpoints/best.pt"' in page and 'href="metrics.csv"' in page and 'href="manifest.json"' in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
def test_every_image_of_the_report_loads_in_headless_chromium(run_dir, tmp_path):
    total, loaded = _loaded_images(run_dir / "report.html", tmp_path / "profile")
    pngs = len(list(run_dir.glob("*.png")))
    assert total == pngs >= 1 and loaded == total


def test_taskhub_report_rebuilds_it_for_an_older_run(run_dir, tmp_path, capsys):
    old = tmp_path / "old"
    shutil.copytree(run_dir, old)
    (old / "report.html").unlink()
    (old / "manifest.json").unlink()  # runs from before the manifest existed
    assert main(["report", str(old)]) == 0
    assert capsys.readouterr().out.strip().endswith("report.html")
    page = (old / "report.html").read_text()
    assert "test/accuracy" in page and "learning_curves.png" in page and 'href="manifest.json"' not in page


def test_report_of_a_folder_that_is_no_run_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a taskhub run directory" in err[0]
