"""Eager PyTorch vs the ONNX bundle, and /predict over HTTP, for the default vision and text models.

Trains each default model briefly on its built-in data (the architecture is what matters for
speed), exports it with ``taskhub export``, then times ``predict`` on the CPU: the eager
checkpoint (``taskhub.load``) against the bundle (``taskhub.export.load_bundle``, onnxruntime),
at batch 1 and 32, on the same in-memory inputs, interleaved, after warm-up; medians of the
repeats. Both paths run the task's same pre- and post-processing, so the difference is the
network. Then ``taskhub serve bundle=...`` in its own process answers ``POST /predict`` from 1
and 8 concurrent clients (image uploads for vision, JSON texts for text): p50, p99, requests/s,
and the HTTP overhead (p50 at one client minus the median in-process bundle latency at batch 1), with
the median ``GET /health`` round trip (no model) as the floor the machine itself sets.
Targets: bundle batch-1 latency <= 0.7 x eager; HTTP overhead < 5 ms at p50.
Usage: python bench/export_serve.py [--threads 1] [--repeats 100] [--requests 400]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TRAIN = {"vision": ["dataset.num_samples=600", "trainer.max_epochs=1"],
         "text": ["dataset.num_samples=600", "trainer.max_epochs=1"]}


def inputs(task: str, n: int, folder: Path) -> tuple[list, list]:
    """(in-memory inputs for predict, what one HTTP request sends) for ``task``."""
    import numpy as np

    rng = np.random.default_rng(0)
    if task == "vision":
        from PIL import Image

        images = [rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(n)]
        path = folder / "image.png"
        Image.fromarray(images[0]).save(path)
        return images, [path]
    words = "a the film movie great awful plot acting boring wonderful story slow".split()
    texts = [" ".join(rng.choice(words, 12)) for _ in range(n)]
    return texts, texts[:1]


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compare(eager, bundle, data: list, batch: int, repeats: int) -> tuple[float, float]:
    chunk = data[:batch]
    for _ in range(3):  # warm-up: first calls allocate and pick kernels
        eager.predict(chunk), bundle.predict(chunk)
    e, b = [], []
    for _ in range(repeats):  # interleaved, so load on the machine hits both alike
        e.append(timed(lambda: eager.predict(chunk), 1))
        b.append(timed(lambda: bundle.predict(chunk), 1))
    return statistics.median(e), statistics.median(b)


def network_only(eager, bundle, repeats: int) -> list[tuple[int, float, float]]:
    """The networks alone on a real validation batch (no pre/post-processing): (batch, eager, onnx)."""
    import torch
    from taskhub.export.writer import validation_batch

    spec = eager.task.export_spec(eager.model, validation_batch(eager.task))
    rows = []
    for n in (1, len(next(iter(spec.example_inputs.values())))):
        args = [t[:n] for t in spec.example_inputs.values()]
        with torch.inference_mode():
            for _ in range(3):
                spec.module(*args), bundle.model(*args)
            e = [timed(lambda: spec.module(*args), 1) for _ in range(repeats)]
            b = [timed(lambda: bundle.model(*args), 1) for _ in range(repeats)]
        rows.append((n, statistics.median(e), statistics.median(b)))
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_load(url: str, task: str, request: list, clients: int, total: int) -> dict[str, float]:
    import httpx

    def send(client: httpx.Client) -> None:
        if task == "vision":
            path = request[0]
            r = client.post(url, files=[("file", (path.name, path.read_bytes(), "image/png"))])
        else:
            r = client.post(url, json={"inputs": request})
        r.raise_for_status()

    latencies: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        # TCP_NODELAY: without it httpx's separate header and body writes meet delayed ACKs (~40 ms stalls)
        nodelay = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        with httpx.Client(timeout=60, transport=nodelay) as client:
            for _ in range(5):
                send(client)  # warm-up
            for _ in range(count):
                t = time.perf_counter()
                send(client)
                with lock:
                    latencies.append(time.perf_counter() - t)

    threads = [threading.Thread(target=worker, args=(total // clients,)) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()
    with httpx.Client(timeout=60, transport=httpx.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])) as client:
        health = timed(lambda: client.get(url.replace("/predict", "/health")), 50)
    return {"health": health, "p50": latencies[len(latencies) // 2], "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
            "rps": len(latencies) / wall}


def serve(bundle: Path, threads: int):
    import httpx

    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.Popen([sys.executable, "-m", "taskhub", "serve", f"bundle={bundle}", f"port={port}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/predict"
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("taskhub serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    import taskhub
    from taskhub.export import export_checkpoint, load_bundle

    work = Path(tempfile.mkdtemp(prefix="bench_export_"))
    print(f"threads={args.threads} repeats={args.repeats}; times in ms (median); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| task | model | batch | eager ms | ONNX bundle ms | bundle/eager |")
    print("|---|---|---|---|---|---|")
    http_rows = []
    for task, overrides in TRAIN.items():
        run_dir = work / task
        taskhub.run(task, [f"hydra.run.dir={run_dir}", "trainer.device=cpu", "trainer.progress=none", *overrides])
        ckpt = run_dir / "checkpoints" / "best.pt"
        bundle = export_checkpoint(ckpt, "onnx", work / f"{task}_bundle")
        torch.set_num_threads(args.threads)  # as asked, whatever the run left behind
        eager, onnx = taskhub.load(ckpt, device="cpu"), load_bundle(bundle, "cpu")
        data, request = inputs(task, 32, work)
        for batch in (1, 32):
            e, b = compare(eager, onnx, data, batch, args.repeats)
            print(f"| {task} | {eager.task.model_name()} | {batch} | {e * 1e3:.2f} | {b * 1e3:.2f} | {b / e:.2f} |", flush=True)
        for n, e, b in network_only(eager, onnx, args.repeats):
            print(f"| {task} (network only) | {eager.task.model_name()} | {n} | {e * 1e3:.2f} | {b * 1e3:.2f} | {b / e:.2f} |",
                  flush=True)
        direct = timed(lambda: onnx.predict(request), args.repeats)  # what one request asks of the model
        proc, url = serve(bundle, args.threads)
        try:
            for clients in (1, 8):
                http_rows.append((task, clients, http_load(url, task, request, clients, args.requests), direct))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print()
    print("| task | clients | p50 ms | p99 ms | requests/s | HTTP overhead at p50 ms | GET /health p50 ms |")
    print("|---|---|---|---|---|---|---|")
    for task, clients, r, direct in http_rows:
        overhead = f"{(r['p50'] - direct) * 1e3:.2f}" if clients == 1 else ""
        print(f"| {task} | {clients} | {r['p50'] * 1e3:.2f} | {r['p99'] * 1e3:.2f} | {r['rps']:.0f} | {overhead} | "
              f"{r['health'] * 1e3:.2f} |")


if __name__ == "__main__":
    main()
