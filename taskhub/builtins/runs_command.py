"""Adds ``taskhub runs`` (the table of runs, and ``runs diff A B``) through ``register_commands``."""
from __future__ import annotations

import argparse

from taskhub.hookspecs import hookimpl


@hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    from taskhub.tracking.command import register

    register(subparsers)
