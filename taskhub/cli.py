"""The ``taskhub`` command: thin verbs over the launcher, the checkpoint loader and the plugin host.

User errors (bad config, missing file, unknown name) print one line and exit with status 2;
anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from taskhub.errors import UserError, user_message

log = logging.getLogger("taskhub")


def _split_overrides(items: list[str], multi: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """Pull ``key=value`` items named in ``multi`` (repeatable, bare values extend the last) from overrides."""
    picked: dict[str, Any] = {key: [] for key in multi}
    rest: list[str] = []
    last: str | None = None
    for item in items:
        key, eq, value = item.partition("=")
        if eq and key in picked:
            picked[key].append(value)
            last = key
        elif not eq and last is not None:
            picked[last].append(item)  # `input=a.png b.png`: the shell split the list
        else:
            rest.append(item)
            last = None
    return picked, rest


def cmd_run(args: argparse.Namespace) -> int:
    if sys.stdout.isatty() and "quiet=true" not in args.overrides:
        print(f"taskhub run {' '.join(args.overrides)}: starting", flush=True)  # imports take seconds: say so first
    from taskhub.launch import launch

    launch(args.overrides)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from taskhub.engine import checkpoint
    from taskhub.launch import launch

    ckpt_args = [o for o in args.overrides if o.startswith("ckpt=")]
    if not ckpt_args:
        raise UserError("taskhub eval needs ckpt=PATH (a checkpoints/best.pt or last.pt file)")
    ckpt_path = Path(ckpt_args[-1].partition("=")[2]).expanduser()
    ckpt = checkpoint.load(ckpt_path)
    user = [o for o in args.overrides if not o.startswith("ckpt=")]
    trust = [o.partition("=")[2] for o in user if o.partition("=")[0].lstrip("+") == "trust"]
    checkpoint.trusted_config(ckpt, ckpt_path, trust[-1] if trust else None)  # before anything is built from it
    base = [o for o in ckpt.get("overrides", []) if not _is_run_specific(o)]
    task = ckpt["config"]["task"]["name"]
    merged = _merge_overrides([f"task={task}", *base], user)
    run_dir = [] if any(o.startswith("hydra.run.dir=") for o in user) else \
        ["hydra.run.dir=runs/${task.name}/eval_${now:%Y-%m-%d_%H-%M-%S}"]
    launch([*merged, "mode=eval", f"ckpt={ckpt_path.resolve()}", *run_dir])
    return 0


def _is_run_specific(override: str) -> bool:
    key = override.partition("=")[0].lstrip("+~")
    return key.startswith("hydra.") or key in ("trainer.resume", "mode", "ckpt", "split", "trust") or key.startswith("sweep")


def _merge_overrides(base: list[str], newer: list[str]) -> list[str]:
    """Overrides with later keys replacing earlier ones (Hydra rejects a key given twice)."""
    merged: dict[str, str] = {}
    for item in [*base, *newer]:
        merged[item.partition("=")[0].lstrip("+")] = item
    return list(merged.values())


def cmd_predict(args: argparse.Namespace) -> int:
    from taskhub.api import load
    from taskhub.export.commands import predict_bundle

    if (done := predict_bundle(args)) is not None:  # predict bundle=DIR: the exported model (docs/export.md)
        return done
    picked, rest = _split_overrides(args.overrides, multi=("ckpt", "input", "out", "text"))
    if not picked["ckpt"]:
        raise UserError("taskhub predict needs ckpt=PATH and input=PATH...")
    inputs = picked["input"] + picked["text"]
    if not inputs:
        raise UserError("taskhub predict needs input=PATH... (files, directories or glob patterns)")
    predictor = load(picked["ckpt"][-1], overrides=rest)
    out = open(picked["out"][-1], "w") if picked["out"] else sys.stdout
    try:
        for row in predictor.predict(inputs):
            out.write(json.dumps(row) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from taskhub.inventory import plugin_inventory

    inventory = plugin_inventory()
    if args.json:
        print(json.dumps(inventory, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="taskhub plugins")
    for column in ("plugin", "version", "tasks", "models", "datasets", "experiments", "metrics", "status"):
        table.add_column(column)
    for p in inventory:
        table.add_row(p["name"], p.get("version") or "", ", ".join(p["tasks"]),
                      ", ".join(sorted({m for ms in p["models"].values() for m in ms})),
                      ", ".join(sorted({d for ds in p["datasets"].values() for d in ds})),
                      ", ".join(sorted({e for es in p.get("experiments", {}).values() for e in es})),
                      ", ".join(sorted({m for ms in p["metrics"].values() for m in ms})),
                      "[red]" + p["error"] + "[/red]" if p.get("error") else "ok")
    # Piped or redirected: one line per row with full names (a terminal's width would cut them).
    Console(width=None if sys.stdout.isatty() else 1000).print(table)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from taskhub.export.commands import cmd_export as export

    return export(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from taskhub.serve.commands import cmd_serve as serve

    return serve(args)


#: verbs whose key=value settings are read by their own module, not argparse: taskhub export / serve
OWN_VERBS = {"export": cmd_export, "serve": cmd_serve}


def build_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = argparse.ArgumentParser(prog="taskhub", description="Train, evaluate and use deep-learning task plugins.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for user errors too")
    parser.add_argument("--version", action="store_true", help="print taskhub's, torch's and the plugins' versions")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="train, validate and test: taskhub run task=NAME [overrides] [-m]",
                         description="Hydra overrides follow, e.g. task=vision model=cnn trainer.max_epochs=3; "
                                     "-m/--multirun sweeps comma-separated values.")
    run.add_argument("overrides", nargs=argparse.REMAINDER)
    run.set_defaults(handler=cmd_run)
    ev = sub.add_parser("eval", help="evaluate a checkpoint: taskhub eval ckpt=PATH [overrides] [split=test|val|all]")
    ev.add_argument("overrides", nargs=argparse.REMAINDER)
    ev.set_defaults(handler=cmd_eval)
    pr = sub.add_parser("predict", help="predict raw inputs as JSON lines: taskhub predict ckpt=PATH input=PATH...")
    pr.add_argument("overrides", nargs=argparse.REMAINDER)
    pr.set_defaults(handler=cmd_predict)
    sub.add_parser("export", help="export a checkpoint: taskhub export ckpt=PATH format=onnx|torch_export [out=DIR]")
    sub.add_parser("serve", help="serve predictions over HTTP: taskhub serve ckpt=PATH|bundle=DIR [host=] [port=]")
    co = sub.add_parser("completion", help="print a shell completion script: eval \"$(taskhub completion bash)\"")
    co.add_argument("shell", choices=("bash", "zsh"))
    co.set_defaults(handler=lambda args: print(__import__("taskhub.completion").completion.script(args.shell), end=""))
    pl = sub.add_parser("plugins", help="list installed plugins and what they contribute")
    pl.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pl.set_defaults(handler=cmd_plugins)
    from taskhub.scaffold import add_new_command

    add_new_command(pl)  # taskhub plugins new NAME
    return parser, sub


def version_text() -> str:
    """``taskhub --version``: taskhub, torch and its CUDA, and every loaded plugin's distribution."""
    from importlib import metadata

    import taskhub
    from taskhub.plugins import get_host

    lines = [f"taskhub {taskhub.__version__}"]
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    cuda = "unknown"
    if torch_version != "not installed":
        import torch

        cuda = f"CUDA {torch.version.cuda}, available" if torch.cuda.is_available() else \
            f"CUDA {'build ' + torch.version.cuda if torch.version.cuda else 'none'}, not available"
    lines.append(f"torch {torch_version} ({cuda})")
    for name, info in get_host().plugins.items():
        state = f" (failed to load: {info.error})" if info.error else ""
        lines.append(f"plugin {name}: {info.distribution or info.module} {info.version or ''}{state}".rstrip())
    return "\n".join(lines)


#: what `taskhub VERB --help` says for the verbs whose arguments are Hydra overrides
VERB_HELP = {
    "run": "taskhub run task=NAME [group=option ...] [key=value ...] [-m] [--quiet]\n\n"
           "Train, validate and test. Overrides are Hydra's: choose config groups (model=, dataset=,\n"
           "experiment=, optimizer=, scheduler=, debug=, logger=) and set values (trainer.max_epochs=3,\n"
           "dataset.root=DIR). -m sweeps comma-separated values; --cfg job prints the composed config.\n"
           "`taskhub run task=NAME --help` lists that task's choices.",
    "eval": "taskhub eval ckpt=PATH [split=test|val|all] [dataset.root=DIR ...] [--quiet]\n\n"
            "Evaluate a checkpoint (its model, fitted state and resolved settings) on a split, or on\n"
            "other data with the same classes.",
    "predict": "taskhub predict ckpt=PATH|bundle=DIR input=PATH... [out=FILE]\n\n"
               "Predict raw inputs (files, folders, globs; text=... for strings) as JSON lines.",
}


def verb_help(verb: str, overrides: list[str]) -> str:
    """Help for a Hydra verb; with ``task=NAME`` also that task's models, datasets and experiments."""
    from taskhub import config_groups
    from taskhub.config import task_from_overrides
    from taskhub.plugins import get_host

    text = VERB_HELP.get(verb, f"taskhub {verb} [overrides]")
    host = get_host()
    task = task_from_overrides(overrides)
    if task and task in host.tasks:
        packages = [package for _, package in host.config_packages(task)] + ["taskhub.configs"]
        lines = [f"\ntask={task} ({host.tasks[task].plugin}):"]
        for group in ("model", "dataset", "experiment"):
            options = config_groups.group_options(packages, group)
            lines.append(f"  {group}=  {', '.join(options) if options else '(none)'}")
        text += "\n" + "\n".join(lines)
    elif verb == "run":
        text += f"\n\ntasks: {', '.join(sorted(host.tasks)) or 'none installed'}"
    return text


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, sub = build_parser()
    debug = "--debug" in argv or bool(os.environ.get("TASKHUB_DEBUG"))
    argv = [a for a in argv if a != "--debug"]
    if argv and argv[0] in ("run", "eval") and any(a in ("--quiet", "-q") for a in argv[1:]):
        # Nothing but errors: no progress, no log lines on the console, no results table (files are still written).
        argv = [a for a in argv if a not in ("--quiet", "-q")] + ["quiet=true"]
    try:
        from taskhub.plugins import get_host

        if argv[:1] == ["--version"]:
            print(version_text())
            return 0
        if argv[:1] == ["__complete"]:  # the shell completion scripts call this on every Tab
            from taskhub.completion import candidates

            print("\n".join(candidates(argv[1] if len(argv) > 1 else "taskhub ")))
            return 0
        if argv and argv[0] in VERB_HELP and any(a in ("--help", "-h") for a in argv[1:]):
            print(verb_help(argv[0], [a for a in argv[1:] if "=" in a]))
            return 0

        if argv and argv[0] not in ("run", "eval", "predict", "plugins", *OWN_VERBS):
            get_host().hook.register_commands(subparsers=sub)  # plugin verbs, e.g. `taskhub sweep`
        if argv and argv[0] in ("run", "eval", "predict", *OWN_VERBS):
            # Everything after the verb is Hydra's (overrides, -m anywhere, --cfg job): no argparse.
            handlers = {"run": cmd_run, "eval": cmd_eval, "predict": cmd_predict, **OWN_VERBS}
            args = argparse.Namespace(command=argv[0], overrides=argv[1:], handler=handlers[argv[0]])
        else:
            args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 1
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        message = user_message(exc)
        if message is None or debug:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2



if __name__ == "__main__":
    sys.exit(main())
