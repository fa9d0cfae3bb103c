"""A real uvicorn server in a thread on a free 127.0.0.1 port, for the serve tests."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

TINY = {
    "vision": ["dataset.num_samples=120", "trainer.max_epochs=1"],
    "text": ["dataset.num_samples=200", "trainer.max_epochs=1", "model.hidden_size=16", "model.embedding_dim=16"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn until the block ends; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def write_png(path: Path, h: int = 40, w: int = 40, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    image = np.full((h, w, 3), 20, dtype=np.uint8)
    image[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = rng.integers(100, 255, 3)
    Image.fromarray(image).save(path)
    return path
