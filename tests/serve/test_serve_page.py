"""The page at ``/`` works in a real browser: headless Chromium uploads an image and shows the prediction."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from serve_helpers import running, write_png

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)")]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


def test_upload_on_the_page_shows_a_prediction(vision_bundle, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    from taskhub.serve import build_app
    from taskhub.serve.commands import load_predictor

    labels = json.loads((vision_bundle / "state.json").read_text())["labels"]
    predictor, info = load_predictor({"bundle": str(vision_bundle)}, [])
    image = write_png(tmp_path / "upload.png")
    with running(build_app(predictor, info)) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=str(CHROMIUM),
                                                       headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.goto(url + "/")
            assert "vision" in page.title()
            page.set_input_files("#file", str(image))
            page.click("#send-file")
            page.wait_for_function("document.getElementById('result').textContent.includes('label')", timeout=30_000)
            shown = json.loads(page.inner_text("#result"))
            assert shown[0]["input"] == "upload.png" and shown[0]["label"] in labels
            page.fill("#text", "")  # an empty input: the page shows the server's one-line error
            page.click("#send-text")
            page.wait_for_function("document.getElementById('result').className === 'error'", timeout=30_000)
            assert page.inner_text("#result").startswith("error:")
        finally:
            browser.close()
