"""``taskhub sweep report DIR [--promote NAME]``: the best run, the table, importances and plots.

Works on any sweep directory: an Optuna sweep (``sweep.json`` names its study) adds the
trials' states and errors, parameter importances and Optuna's plots; a grid sweep gets the table.
``taskhub sweep report --storage URL --study NAME [DIR]`` reads a study from its database instead
(every worker's trials of a shared sweep); plots then go to DIR when given.
"""
from __future__ import annotations

import argparse
import json
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from taskhub import UserError, require_extra
from taskhub_sweep.summary import summarize

log = logging.getLogger("taskhub")

#: Overrides of the best run that a promoted experiment leaves out: plumbing, not parameters.
_NOT_PROMOTED = ("task", "sweep", "sweep.", "hydra.", "trainer.num_threads", "trainer.progress", "trainer.device")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    sweep = subparsers.add_parser("sweep", help="hyperparameter sweeps: taskhub sweep report DIR")
    verbs = sweep.add_subparsers(dest="sweep_command", metavar="VERB")
    report = verbs.add_parser("report", help="best run, table, importances and plots of a sweep directory")
    report.add_argument("dir", type=Path, nargs="?",
                        help="the sweep directory (hydra.sweep.dir); with --storage: where plots go")
    report.add_argument("--storage", metavar="URL", help="read the study from this database (sweep.storage)")
    report.add_argument("--study", metavar="NAME", help="the study's name in --storage (sweep.study_name)")
    report.add_argument("--promote", metavar="NAME", help="write the best run's overrides as experiment NAME")
    report.add_argument("--to", type=Path, metavar="DIR",
                        help="config folder to write DIR/experiment/NAME.yaml into, found by `taskhub run "
                             "--config-dir DIR experiment=NAME` (default: ./configs, found without a flag)")
    report.add_argument("--no-plots", action="store_true", help="skip importances and PNG plots")
    report.set_defaults(handler=cmd_report)
    sweep.set_defaults(handler=lambda args: sweep.print_help() or 1)


def cmd_report(args: argparse.Namespace) -> int:
    if args.storage or args.study:
        return report_database(args)
    if args.dir is None:
        raise UserError("taskhub sweep report needs a sweep directory, or --storage URL --study NAME")
    sweep_dir: Path = args.dir
    if not sweep_dir.is_dir():
        raise UserError(f"{sweep_dir}: no such sweep directory")
    result = summarize(sweep_dir)
    if result is None:
        raise UserError(f"{sweep_dir}: no runs found (expected subfolders with .hydra/)")
    meta = _read_json(sweep_dir / "sweep.json")
    if meta:
        _optuna_report(sweep_dir, meta, plots=not args.no_plots)
    best = result["best"]
    if best is None:
        raise UserError(f"{sweep_dir}: no run finished with an objective value")
    objective = result["objective"]
    print(f"best: run {best['run']} {objective.get('name')}={best['value']:.4f} "
          + " ".join(f"{k}={v}" for k, v in best["overrides"].items() if k in result["params"]))
    if args.promote:
        path = promote(Path(best["run_dir"]), args.promote, args.to, note=(
            f"run {best['run']} of {sweep_dir}, {objective.get('name')}={best['value']:.4f} ({objective.get('mode')})"))
        flag = f" --config-dir {args.to}" if args.to is not None else ""
        print(f"promoted to {path}: taskhub run{flag} task={_task(Path(best['run_dir']))} experiment={args.promote}")
    return 0


def report_database(args: argparse.Namespace) -> int:
    """``--storage URL --study NAME``: the study as its database holds it, whichever workers ran it."""
    optuna = require_extra("optuna", "sweeps", "taskhub sweep report --storage")
    from taskhub_sweep import space, study as studies

    if not args.storage:
        raise UserError("--study needs --storage URL (the sweep's sweep.storage)")
    url = studies.normalize_url(args.storage)
    storage = studies.open_storage(url)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if not args.study or args.study not in names:
        what = f"no study {args.study!r}" if args.study else "which study?"
        raise UserError(f"--storage {studies.safe_url(url)}: {what}; studies there: {', '.join(names) or 'none'} "
                        "(pass --study NAME)")
    study = optuna.load_study(study_name=args.study, storage=storage)
    metric = study.user_attrs.get("objective", "value")
    print_study(study)
    for t in study.get_trials(deepcopy=False):
        value = "" if t.value is None else f"{t.value:.4f}"
        print(f"  trial {t.number:>3} {t.state.name.lower():<8} {value:>10}  "
              + " ".join(space.as_overrides(t.params)) + f"  [{t.user_attrs.get('worker', '?')}]")
    try:
        best = study.best_trial
    except ValueError:
        raise UserError(f"study {args.study}: no trial completed yet") from None
    print(f"best: trial {best.number} {metric}={best.value:.4f} " + " ".join(space.as_overrides(best.params))
          + (f" ({best.user_attrs['run_dir']})" if best.user_attrs.get("run_dir") else ""))
    if args.dir is not None and not args.no_plots:
        args.dir.mkdir(parents=True, exist_ok=True)
        _importances_and_plots(study, args.dir)
    if args.promote:
        run_dir = Path(str(best.user_attrs.get("run_dir", "")))
        if not (run_dir / ".hydra").is_dir():
            raise UserError(f"--promote: trial {best.number}'s run directory {run_dir} is not on this machine; "
                            "run the report there")
        path = promote(run_dir, args.promote, args.to, note=(
            f"trial {best.number} of study {args.study}, {metric}={best.value:.4f}"))
        print(f"promoted to {path}: taskhub run task={_task(run_dir)} experiment={args.promote}")
    return 0


def _optuna_report(sweep_dir: Path, meta: dict[str, Any], plots: bool) -> None:
    optuna = require_extra("optuna", "sweeps", f"taskhub sweep report {sweep_dir} (an Optuna study)")
    from taskhub_sweep import study as studies

    url = studies.normalize_url(meta["storage"])
    study = optuna.load_study(study_name=meta["study_name"], storage=studies.open_storage(url))
    print_study(study)
    if plots:
        _importances_and_plots(study, sweep_dir)


def print_study(study: Any) -> None:
    """The trials' states (all workers') and the failed trials' errors."""
    import optuna

    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    print(f"study {study.study_name}: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
        if t.user_attrs.get("error"):
            print(f"  trial {t.number} failed: {t.user_attrs['error'][:200]}")
        elif t.user_attrs.get("worker"):
            print(f"  trial {t.number} failed: its worker {t.user_attrs['worker']} stopped")


def _importances_and_plots(study: Any, sweep_dir: Path) -> None:
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) >= 2:
        try:
            importances = optuna.importance.get_param_importances(study)
            (sweep_dir / "param_importances.json").write_text(json.dumps(importances, indent=2) + "\n")
            print("importances: " + ", ".join(f"{k}={v:.2f}" for k, v in importances.items()))
        except Exception as exc:  # e.g. a single distinct value: nothing to attribute
            log.warning("parameter importances not computed: %s", exc)
    _plots(study, sweep_dir)


def _plots(study: Any, sweep_dir: Path) -> None:
    """Optuna's matplotlib plots as PNGs (plotly is not needed)."""
    import warnings

    import matplotlib
    import optuna

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    for name, plot in (("optimization_history", vis.plot_optimization_history),
                       ("parallel_coordinate", vis.plot_parallel_coordinate),
                       ("param_importances", vis.plot_param_importances)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                ax = plot(study)
            figure = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
            figure.savefig(sweep_dir / f"{name}.png", dpi=100, bbox_inches="tight")
            plt.close(figure)
        except Exception as exc:  # too few trials for a plot is not an error of the report
            log.warning("%s plot skipped: %s", name, exc)


def experiment_dir(config_dir: Path | None = None) -> Path:
    """Where a promoted experiment goes: ``<config_dir>/experiment``, by default
    ``./configs/experiment`` of the working directory; ``taskhub run experiment=NAME`` reads both
    (``config_dir`` with ``--config-dir``). Never taskhub's own configs (the source tree)."""
    folder = Path(config_dir) if config_dir is not None else Path.cwd() / "configs"
    own = Path(str(resources.files("taskhub.configs"))).resolve()
    if folder.resolve() == own or own in folder.resolve().parents:
        raise UserError(f"{folder}: that is taskhub's own config folder; run from your project's directory "
                        "(./configs/experiment) or pass --to DIR")
    return folder / "experiment"


def promote(run_dir: Path, name: str, to: Path | None = None, note: str = "") -> Path:
    """Write ``run_dir``'s overrides as ``<to>/experiment/<name>.yaml`` (``to`` default ``./configs``),
    a ``# @package _global_`` experiment that ``experiment=NAME`` finds."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    if not name.replace("_", "").replace("-", "").isalnum():
        raise UserError(f"--promote {name}: use letters, digits, - and _")
    overrides = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text()) or []
    hydra_cfg = yaml.safe_load((run_dir / ".hydra" / "hydra.yaml").read_text())
    groups = set((hydra_cfg.get("hydra", {}).get("runtime", {}).get("choices") or {}))
    defaults: list[Any] = []
    values = OmegaConf.create({})
    for item in OverridesParser.create().parse_overrides(
            [o for o in overrides if not o.lstrip("+~").partition("=")[0].startswith(_NOT_PROMOTED)]):
        key = item.key_or_group
        if key in groups and item.package is None:
            defaults.append({f"override /{key}": item.value()})
        else:
            OmegaConf.update(values, key, item.value(), force_add=True)
    folder = experiment_dir(to)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    body = {"defaults": [*defaults, "_self_"], **OmegaConf.to_container(values)}
    header = (f"# @package _global_\n# Promoted by `taskhub sweep report --promote {name}` from {note}.\n"
              f"# Use: taskhub run{f' --config-dir {to}' if to is not None else ''} task={_task(run_dir)} experiment={name}\n")
    path.write_text(header + yaml.safe_dump(body, sort_keys=False))
    return path


def _task(run_dir: Path) -> str:
    cfg = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text()) or {}
    return str(cfg.get("task", {}).get("name", "NAME"))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
