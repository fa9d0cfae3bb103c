"""Shell completion for bash and zsh: verbs, ``task=`` values and the chosen task's config groups.

``taskhub completion bash|zsh`` prints a script that calls ``taskhub __complete LINE`` on every
Tab; that answers from the plugin registry and the config packages' files, so it imports no task
module, no torch and no Hydra.
"""
from __future__ import annotations

import shlex

#: groups whose options are completed after ``group=``
GROUPS = ("task", "model", "dataset", "experiment", "optimizer", "scheduler", "debug", "sweep", "logger")
#: verbs whose arguments are config overrides
OVERRIDE_VERBS = ("run", "eval", "data")
SETTINGS = ("trainer.", "dataset.", "model.", "optimizer.", "seed=", "hydra.run.dir=")

BASH = r'''# taskhub completion for bash: eval "$(taskhub completion bash)"
_taskhub() {
    local line="${COMP_LINE:0:COMP_POINT}"
    local cur="${line##* }"
    local IFS=$'\n'
    local cands=( $(command taskhub __complete "$line" 2>/dev/null) )
    if [[ "$cur" == *=* && "$COMP_WORDBREAKS" == *=* ]]; then
        local prefix="${cur%=*}="
        cands=( "${cands[@]#"$prefix"}" )
    fi
    COMPREPLY=( "${cands[@]}" )
}
complete -o nospace -o default -F _taskhub taskhub
'''

ZSH = r'''#compdef taskhub
# taskhub completion for zsh: eval "$(taskhub completion zsh)"
_taskhub() {
    local line="${BUFFER[1,CURSOR]}"
    local -a cands
    cands=( ${(f)"$(command taskhub __complete "$line" 2>/dev/null)"} )
    local c
    for c in $cands; do
        if [[ "$c" == *" " ]]; then compadd -Q -- "${c% }"; else compadd -Q -S '' -- "$c"; fi
    done
}
if (( $+functions[compdef] )); then compdef _taskhub taskhub; fi
'''


def script(shell: str) -> str:
    from taskhub.errors import UserError

    scripts = {"bash": BASH, "zsh": ZSH}
    if shell not in scripts:
        raise UserError(f"taskhub completion {shell}: choose bash or zsh")
    return scripts[shell]


def candidates(line: str) -> list[str]:
    """Completions of the last word of ``line`` (the command line up to the cursor). A finished
    word ends with a space; ``group=`` and ``trainer.`` prefixes do not, so typing goes on."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    if line.endswith(" ") or not words:
        words.append("")
    words = words[1:] if words and words[0].endswith("taskhub") else words
    current = words[-1]
    if len(words) == 1:
        return [v + " " for v in verbs() if v.startswith(current)]
    verb = words[0]
    if verb not in OVERRIDE_VERBS and verb != "completion":
        return []
    if verb == "completion":
        return [s + " " for s in ("bash", "zsh") if s.startswith(current)]
    if verb == "data" and len(words) == 2:  # taskhub data check|...: the sub-verb first
        return [s + " " for s in sub_verbs("data") if s.startswith(current)]
    task = next((w.partition("=")[2] for w in words[1:-1] if w.startswith("task=")), None)
    key, eq, value = current.partition("=")
    if eq:
        return [f"{key}={option} " for option in options(key, task) if option.startswith(value)]
    keys = [f"{g}=" for g in GROUPS if task or g == "task"] + (list(SETTINGS) if task else [])
    if verb == "eval":
        keys += ["ckpt=", "split="]
    return [k for k in keys if k.startswith(current)]


def verbs() -> list[str]:
    import argparse

    from taskhub.cli import build_parser
    from taskhub.plugins import get_host

    parser, sub = build_parser()
    get_host().hook.register_commands(subparsers=sub)
    names = [a for a in sub.choices if not a.startswith("_")]
    assert isinstance(sub, argparse._SubParsersAction)
    return sorted(set(names))


def sub_verbs(verb: str) -> list[str]:
    """The sub-commands of a plugin verb that has them (``taskhub data check``)."""
    import argparse

    from taskhub.cli import build_parser
    from taskhub.plugins import get_host

    parser, sub = build_parser()
    get_host().hook.register_commands(subparsers=sub)
    found = sub.choices.get(verb)
    actions = [a for a in (found._actions if found else []) if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices) if actions else []


def options(group: str, task: str | None) -> list[str]:
    """The options of ``group`` for ``task`` (task names themselves for ``task``)."""
    from taskhub import config_groups
    from taskhub.plugins import get_host

    host = get_host()
    if group == "task":
        return sorted(host.tasks)
    if group not in GROUPS or not task or task not in host.tasks:
        return []
    packages = [package for _, package in host.config_packages(task)] + ["taskhub.configs"]
    return config_groups.group_options(packages, group)
