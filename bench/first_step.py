"""Child process of ``bench/startup.py``: ``taskhub run OVERRIDES`` up to its first training step.

Prints one JSON line of wall-clock times (``time.time()``; the parent passes the moment it
started this process in ``TASKHUB_BENCH_SPAWNED``) and exits at the first optimizer step:
interpreter start, imports, plugin load, Hydra composition (from ``register_hydra_plugins``, called
just before Hydra composes), the task's data build (``taskhub.data.build_splits``), fit start
(model, optimizer, run directory), the on_fit_start hooks (manifest, data check, loggers) and the
first step. Usage: python bench/first_step.py task=vision ...
"""
from __future__ import annotations

import time

marks = {"interpreter": time.time()}

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


PROFILE = None
if os.environ.get("TASKHUB_BENCH_PROFILE"):
    import cProfile

    PROFILE = cProfile.Profile()
    PROFILE.enable()


def main() -> None:
    import taskhub
    import taskhub.cli
    import taskhub.data

    marks["imports"] = time.time()
    from taskhub.plugins import get_host

    host = get_host()
    marks["plugins"] = time.time()

    class Clock:
        @taskhub.hookimpl
        def register_hydra_plugins(self) -> None:
            marks.setdefault("hydra_start", time.time())

        @taskhub.hookimpl(tryfirst=True)
        def on_fit_start(self, run) -> None:  # type: ignore[no-untyped-def]
            marks["fit_start"] = time.time()

        @taskhub.hookimpl
        def on_train_batch_end(self, run, step, loss) -> None:  # type: ignore[no-untyped-def]
            marks["first_step"] = time.time()
            if PROFILE is not None:  # TASKHUB_BENCH_PROFILE=FILE: cProfile stats of the whole start-up
                PROFILE.disable()
                PROFILE.dump_stats(os.environ["TASKHUB_BENCH_PROFILE"])
            print(json.dumps({"spawned": float(os.environ.get("TASKHUB_BENCH_SPAWNED", marks["interpreter"])),
                              **marks}), flush=True)
            os._exit(0)

    build_splits = taskhub.data.build_splits

    def timed_build_splits(*args, **kwargs):  # type: ignore[no-untyped-def]
        marks["data_start"] = time.time()
        try:
            return build_splits(*args, **kwargs)
        finally:
            marks["data_end"] = time.time()

    class FitHooksDone:
        @taskhub.hookimpl(trylast=True)
        def on_fit_start(self, run) -> None:  # type: ignore[no-untyped-def]
            marks["fit_hooks_done"] = time.time()

    host.pm.register(FitHooksDone(), name="bench-first-step-hooks")
    taskhub.data.build_splits = timed_build_splits  # task modules import it lazily, after this line
    host.pm.register(Clock(), name="bench-first-step")
    taskhub.cli.main(["run", *sys.argv[1:]])
    print(json.dumps({"error": "no training step ran"}), flush=True)


if __name__ == "__main__":
    main()
