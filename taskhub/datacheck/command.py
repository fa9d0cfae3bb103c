"""The ``taskhub data`` verb: ``taskhub data check task=NAME [dataset=...] [overrides] [out=DIR]``.

The overrides go to Hydra exactly as ``taskhub run``'s do (a ``mode=datacheck`` job), so the
splits checked are the ones a run with the same overrides would train on.
"""
from __future__ import annotations

import argparse

CHECK_HELP = ("taskhub data check task=NAME [dataset=NAME] [dataset.root=DIR ...] [out=DIR]\n\n"
              "Build the splits as `taskhub run` would (same overrides), without training, and print per\n"
              "split the examples and class counts (boxes, durations, lengths, column ranges), skipped\n"
              "files, train/test duplicates, items of unusual size and near-duplicate labels. Writes\n"
              "data_report.md and pictures into out=DIR (default data_checks/TASK/TIME).\n"
              "Exit status 0: the data are usable; 2: one line per blocking problem.")


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Adds ``data check`` (and ``data`` itself unless a plugin made it first, e.g. for
    ``taskhub data convert``); returns the sub-verbs of ``data``, for other commands to join."""
    parser = subparsers.choices.get("data")
    if parser is None:
        parser = subparsers.add_parser("data", help="look at a dataset before training: taskhub data check task=NAME ...",
                                       description="Commands about datasets.")
        parser.set_defaults(handler=lambda args: parser.print_help() or 1)
    verbs = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    if verbs is None:
        verbs = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    check = verbs.add_parser("check", help="check a task's dataset and write data_report.md: "
                                           "taskhub data check task=NAME [overrides] [out=DIR]",
                             description=CHECK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("overrides", nargs=argparse.REMAINDER, help="Hydra overrides, as for taskhub run")
    check.set_defaults(handler=handle_check)
    return verbs


def handle_check(args: argparse.Namespace) -> int:
    from taskhub.launch import launch

    overrides = list(args.overrides)
    if any(a in ("--help", "-h") for a in overrides):
        print(CHECK_HELP)
        return 0
    out = [o.partition("=")[2] for o in overrides if o.startswith("out=")]
    overrides = [o for o in overrides if not o.startswith("out=")]
    if not any(o.startswith("hydra.run.dir=") for o in overrides):
        overrides.append("hydra.run.dir=" + (out[-1] if out else "data_checks/${task.name}/${now:%Y-%m-%d_%H-%M-%S}"))
    results = launch([*overrides, "mode=datacheck", "hydra.output_subdir=null"])
    problems = [p for summary in results for p in summary.get("problems", [])]
    return 2 if problems else 0
