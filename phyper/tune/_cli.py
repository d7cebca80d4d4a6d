"""The tuning sub-commands of the ``phyper`` command: ``decide``, ``runs``, ``study``.

    phyper decide (HASH | --study NAME) (--go | --no-go) [--note TEXT] [--root DIR]
    phyper runs [--root DIR] [--status S] [--wide] [--format table|csv|json]
    phyper study ls [--root DIR] [--format table|csv|json]
    phyper study show NAME [--root DIR] [--format table|csv|json]

Each also takes ``--config FILE``; without either, the store comes from ``[tool.phyper]``
(``phyper/_project.py``).

``add_commands(subparsers)`` registers them; each sets ``run``, a function of the parsed
namespace returning an exit code (0 ok, 2 usage error). Errors are ``PhyperError`` subclasses,
which the main command prints before exiting with 2. ``python -m phyper.tune._cli`` works alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import typing
from collections.abc import Sequence

from .._errors import PhyperError
from .._help import CommandParser
from .._output import write_frame
from .._project import add_store_options, locate, where
from ._gate import decide
from ._halving import with_rungs
from ._observe import SHOWN_STATUSES
from ._run import runs
from ._runs_table import format_runs
from ._study import StudyError, StudyView, decide_study, studies

OK_EXIT, USAGE_EXIT = 0, 2
DEFAULT_ROOT = "derived_data"


def command_decide(options: argparse.Namespace) -> int:
    if (options.hash is None) == (options.study is None):
        raise StudyError("give the HASH of a run or --study NAME, one of the two")
    if options.study is not None:
        path = decide_study(options.root, options.study, go=options.go, note=options.note)
    else:
        path = decide(
            options.root, options.hash, go=options.go, note=options.note, resource=options.resource
        )
    verdict = "go" if options.go else "no-go"
    gate = os.path.basename(path).removeprefix("decision-").removesuffix(".json")
    if options.study is not None:
        what, again = f"study {options.study}", "the study's optimize again (the same command)"
    else:
        run_hash = os.path.basename(os.path.dirname(path))
        what, again = f"run {run_hash[:12]}", "the run again (the command that trained it)"
    effect = "resumes" if options.go else "stops for good"
    print(
        f"recorded {verdict} for {what} at gate {gate!r} ({path}).\n"
        f"It {effect} when you start {again}; nothing runs until then."
    )
    return OK_EXIT


def _write_frame(frame: typing.Any, fmt: str, empty: str, hidden: Sequence[str] = ()) -> None:
    # the one writer of every command: exact floats in csv and json
    write_frame(frame, fmt, empty=empty, hidden=hidden, blank_missing=True)


def command_runs(options: argparse.Namespace) -> int:
    every = with_rungs(runs(options.root), options.root)  # rung: successive halving's
    frame = every[every["status"] == options.status] if options.status else every
    if options.format != "table" or not len(frame):
        _write_frame(frame, options.format, f"(no runs under {where(options)})", hidden=["folder"])
        return OK_EXIT
    # a person's table: fitted to the terminal, hyperparameters that vary (_runs_table.py)
    width = shutil.get_terminal_size().columns
    text = format_runs(frame, width=width, wide=options.wide, every_hash=list(every["hash"]))
    sys.stdout.write(text + "\n")
    return OK_EXIT


def command_study_ls(options: argparse.Namespace) -> int:
    _write_frame(studies(options.root), options.format, f"(no studies under {where(options)})")
    return OK_EXIT


def command_study_show(options: argparse.Namespace) -> int:
    view = StudyView.read(options.root, options.name)
    frame = view.trials_frame()
    if options.format != "table":
        _write_frame(frame, options.format, "")
        return OK_EXIT
    summary = view.summary()
    print(f"study {view.name}: {view.direction} {view.metric}, {summary['trials']} trials")
    counts = ", ".join(
        f"{state} {summary[state]}"
        for state in (
            "complete",
            "stopped_early",
            "from_store",
            "failed",
            "running",
            "interrupted",
            "paused",
            "promoted",
        )
        if summary[state]
    )
    print(f"  {counts or 'no trials yet'}")
    scheduler = view.definition.get("scheduler")
    if scheduler:
        print(f"  {_describe_scheduler(scheduler)}")
    if summary["best_hash"]:
        best = view.best_trial
        values = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in best.params.items()
        )
        print(f"  best: {best.value:.6g} (trial {best.number}, {best.hash[:12]}): {values}")
    if view.awaiting and summary["decision"]:
        print(f"  gate {view.awaiting!r} decided: {summary['decision']}")
    elif view.awaiting:
        print(
            f"  awaits a decision at gate {view.awaiting!r}: phyper decide --study {view.name} --go"
        )
    if view.stopped:
        print(f"  stopped: {view.stopped}")
    if not len(frame):
        print("(no trials)")
        return OK_EXIT
    width = shutil.get_terminal_size().columns
    print(format_runs(frame, width=width, first=["number", "state", "value", "best_so_far"]))
    return OK_EXIT


def _describe_scheduler(settings: dict[str, typing.Any]) -> str:
    """One line on a study's scheduler: its rungs, brackets and eta."""
    from ._scheduler import SchedulerError, SuccessiveHalving

    options = {k: v for k, v in settings.items() if k != "scheduler"}
    try:
        scheduler = SuccessiveHalving(**options)
    except (SchedulerError, TypeError):
        return f"scheduler: {settings}"
    rungs = ", ".join(str(r) for r in scheduler.rungs(0))
    brackets = f", {scheduler.brackets()} brackets" if scheduler.brackets() > 1 else ""
    return f"successive halving, eta {scheduler.eta}{brackets}: rungs at epochs {rungs}"


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``decide``, ``runs`` and ``study`` on the ``phyper`` command's sub-parsers."""
    formats = ["table", "csv", "json"]
    decide_parser = subparsers.add_parser(
        "decide", help="go/no-go for a run, or a study, that awaits a decision at a gate"
    )
    decide_parser.add_argument(
        "hash", nargs="?", metavar="HASH", help="the run's hash, or a unique prefix (6+ characters)"
    )
    decide_parser.add_argument(
        "--study", metavar="NAME", help="decide for the gate this study awaits, instead of a run"
    )
    verdict = decide_parser.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--go", dest="go", action="store_true", help="continue")
    verdict.add_argument("--no-go", dest="go", action="store_false", help="stop for good")
    decide_parser.add_argument(
        "--note", help="why (kept in the decision file and the run; default: none)"
    )
    add_store_options(decide_parser)
    decide_parser.add_argument("--resource", default="all", help="resource of the run folder")
    decide_parser.set_defaults(run=command_decide)

    runs_parser = subparsers.add_parser("runs", help="the training runs and their status")
    add_store_options(runs_parser)
    runs_parser.add_argument(
        "--status",
        choices=SHOWN_STATUSES,
        metavar="STATUS",
        help=f"only runs in this status: {', '.join(SHOWN_STATUSES)}",
    )
    runs_parser.add_argument(
        "--wide",
        action="store_true",
        help="every column in full, whatever the terminal's width (csv and json always are)",
    )
    runs_parser.add_argument("--format", choices=formats, default="table", help="how to print")
    runs_parser.set_defaults(run=command_runs)

    study_parser = subparsers.add_parser("study", help="the searches (tune.Study) and their trials")
    study_commands = study_parser.add_subparsers(
        dest="study_command", required=True, metavar="SUBCOMMAND"
    )
    study_ls = study_commands.add_parser("ls", help="every study under the root")
    study_ls.set_defaults(run=command_study_ls)
    study_show = study_commands.add_parser(
        "show",
        help="a study's trials: state, value, best so far, hash, hyperparameters; what it awaits",
    )
    study_show.add_argument(
        "name", metavar="NAME", help="the study's name (phyper study ls lists them)"
    )
    study_show.add_argument(
        "--wide",
        action="store_true",
        help="every column in full, whatever the terminal's width (csv and json always are)",
    )
    study_show.set_defaults(run=command_study_show)
    for sub in (study_ls, study_show):
        add_store_options(sub)
        sub.add_argument("--format", choices=formats, default="table", help="how to print")


def main(argv: Sequence[str] | None = None) -> int:
    parser = CommandParser(prog="phyper")
    add_commands(parser.add_subparsers(dest="command", required=True))
    options = parser.parse_args(argv)
    try:
        locate(options)
        return int(options.run(options))
    except PhyperError as error:
        print(f"phyper {options.command}: error: {error}", file=sys.stderr)
        return USAGE_EXIT


if __name__ == "__main__":
    sys.exit(main())
