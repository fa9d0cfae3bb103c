"""``taskhub serve`` answers real HTTP requests: good, bad, too large and concurrent ones."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import httpx
import pytest

from serve_helpers import free_port, running, write_png

pytestmark = pytest.mark.slow


def _app(settings: dict, **limits):
    from taskhub.serve import build_app
    from taskhub.serve.commands import load_predictor

    predictor, info = load_predictor(settings, [])
    return build_app(predictor, info, **limits)


def _one_line(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"], body
    return body["error"]


def test_bundle_server_images(vision_bundle, tmp_path):
    labels = json.loads((vision_bundle / "state.json").read_text())["labels"]
    images = [write_png(tmp_path / f"im{i}.png", seed=i) for i in range(2)]
    with running(_app({"bundle": str(vision_bundle)}, max_request_mb=0.05)) as url:
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        info = httpx.get(f"{url}/info").json()
        assert info["task"] == "vision" and info["labels"] == labels and info["source"] == "bundle"
        assert "onnxruntime" in info["versions"]

        files = [("file", (p.name, p.read_bytes(), "image/png")) for p in images]
        r = httpx.post(f"{url}/predict", files=files)
        assert r.status_code == 200, r.text
        rows = r.json()["predictions"]
        assert [row["input"] for row in rows] == ["im0.png", "im1.png"] and all(row["label"] in labels for row in rows)

        bad = httpx.post(f"{url}/predict", files=[("file", ("notes.png", b"not an image at all", "image/png"))])
        assert bad.status_code == 400 and _one_line(bad)
        empty = httpx.post(f"{url}/predict", json={"inputs": []})
        assert empty.status_code == 400 and "non-empty" in _one_line(empty)
        wrong = httpx.post(f"{url}/predict", content=b"hello", headers={"content-type": "text/plain"})
        assert wrong.status_code == 415 and _one_line(wrong)
        big = httpx.post(f"{url}/predict", files=[("file", ("big.png", b"0" * 100_000, "image/png"))])
        assert big.status_code == 413 and "limit" in _one_line(big)


def test_concurrent_requests_are_batched(vision_bundle, tmp_path):
    app = _app({"bundle": str(vision_bundle)}, max_batch=8, max_wait_ms=300)
    payloads = [write_png(tmp_path / f"c{i}.png", seed=i).read_bytes() for i in range(8)]
    with running(app) as url:
        alone = httpx.post(f"{url}/predict", files=[("file", ("one.png", payloads[0], "image/png"))]).json()

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=60) as client:
                return await asyncio.gather(*(client.post(f"{url}/predict", files=[("file", (f"c{i}.png", p, "image/png"))])
                                              for i, p in enumerate(payloads)))

        responses = asyncio.run(burst())
    assert all(r.status_code == 200 for r in responses)
    rows = [r.json()["predictions"] for r in responses]
    assert [r[0]["input"] for r in rows] == [f"c{i}.png" for i in range(8)]  # each client got its own row
    batched, single = rows[0][0]["topk"], alone["predictions"][0]["topk"]  # the same image, batched and alone
    assert [t["label"] for t in batched] == [t["label"] for t in single]
    assert [t["probability"] for t in batched] == pytest.approx([t["probability"] for t in single], abs=1e-5)
    assert max(app.app.state.batcher.batches) > 1  # concurrent requests shared a predict call


def test_checkpoint_server_texts(checkpoint):
    with running(_app({"ckpt": str(checkpoint("text"))})) as url:
        info = httpx.get(f"{url}/info").json()
        assert info["task"] == "text" and info["source"] == "checkpoint"
        r = httpx.post(f"{url}/predict", json={"inputs": ["a great and moving film", "dull"]})
        assert r.status_code == 200, r.text
        rows = r.json()["predictions"]
        assert [row["text"] for row in rows] == ["a great and moving film", "dull"]
        assert all(row["label"] in info["labels"] for row in rows)
        peek = httpx.post(f"{url}/predict", json={"inputs": [sys.executable]})  # a server file, not a text
        assert peek.status_code == 400 and "names a file on the server" in _one_line(peek)
        garbage = httpx.post(f"{url}/predict", content=b"{nope", headers={"content-type": "application/json"})
        assert garbage.status_code == 400 and "not JSON" in _one_line(garbage)


def test_serve_command_in_its_own_process(vision_bundle, tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "taskhub", "serve", f"bundle={vision_bundle}", f"port={port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "taskhub serve did not come up"
            time.sleep(0.3)
        png = write_png(tmp_path / "x.png")
        r = httpx.post(f"http://127.0.0.1:{port}/predict", files=[("file", ("x.png", png.read_bytes(), "image/png"))])
        assert r.status_code == 200 and r.json()["predictions"][0]["input"] == "x.png"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_settings_errors(capsys):
    from taskhub.cli import main

    assert main(["serve", "port=eighty", "ckpt=x.pt"]) == 2
    assert "port=eighty: expected int" in capsys.readouterr().err
    assert main(["serve", "prot=80"]) == 2
    assert "did you mean" in capsys.readouterr().err
    assert main(["serve"]) == 2
    assert "ckpt=PATH" in capsys.readouterr().err
