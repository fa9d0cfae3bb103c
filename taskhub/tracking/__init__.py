"""Experiment tracking: the run manifest (what produced a run), data fingerprints, and the
table of runs (``taskhub runs``). The loggers that use it are built-in plugins in
``taskhub.builtins`` (``csv_logger``, ``tensorboard_logger``, ``mlflow_logger``).

Nothing here is imported by ``import taskhub``; see docs/tracking.md.
"""
