"""Two sub-commands for the ``phyper`` command: ``decide`` and ``runs``.

    phyper decide (HASH | --study NAME) (--go | --no-go) [--note TEXT] [--root DIR]
    phyper runs [--root DIR] [--status S] [--format table|csv|json]
    phyper study ls [--root DIR] [--format table|csv|json]
    phyper study show NAME [--root DIR] [--format table|csv|json]

``add_commands(subparsers)`` registers them; each sets ``run``, a function of the parsed
namespace returning an exit code (0 ok, 2 usage error). Errors are ``PhyperError`` subclasses,
which the main command prints before exiting with 2. ``python -m phyper.tune._cli`` works alone.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence

from .._errors import PhyperError
from .._output import write_frame
from ._gate import decide
from ._halving import with_rungs
from ._observe import SHOWN_STATUSES
from ._run import runs
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
    print(f"{'go' if options.go else 'no-go'} recorded in {path}; start the run to apply it")
    return OK_EXIT


def _write_frame(frame: typing.Any, fmt: str, empty: str, hidden: Sequence[str] = ()) -> None:
    # the one writer of every command: exact floats in csv and json
    write_frame(frame, fmt, empty=empty, hidden=hidden, blank_missing=True)


def command_runs(options: argparse.Namespace) -> int:
    frame = with_rungs(runs(options.root), options.root)  # rung: successive halving's
    if options.status:
        frame = frame[frame["status"] == options.status]
    _write_frame(frame, options.format, "(no runs)", hidden=["folder"])
    return OK_EXIT


def command_study_ls(options: argparse.Namespace) -> int:
    _write_frame(studies(options.root), options.format, "(no studies)")
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
        values = ", ".join(f"{k}={v!r}" for k, v in best.params.items())
        print(f"  best: {best.value:.6g} (trial {best.number}, {best.hash}): {values}")
    if view.awaiting and summary["decision"]:
        print(f"  gate {view.awaiting!r} decided: {summary['decision']}")
    elif view.awaiting:
        print(
            f"  awaits a decision at gate {view.awaiting!r}: phyper decide --study {view.name} --go"
        )
    if view.stopped:
        print(f"  stopped: {view.stopped}")
    _write_frame(frame, "table", "(no trials)", hidden=["best_so_far"])
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
    """Register ``decide`` and ``runs`` on the ``phyper`` command's sub-parsers."""
    decide_parser = subparsers.add_parser(
        "decide", help="go/no-go for a run that awaits a decision at a gate"
    )
    decide_parser.add_argument(
        "hash", nargs="?", help="the run's hash, or a unique prefix (6+ characters)"
    )
    decide_parser.add_argument("--study", help="decide for the gate this study awaits instead")
    verdict = decide_parser.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--go", dest="go", action="store_true", help="continue training")
    verdict.add_argument("--no-go", dest="go", action="store_false", help="stop the run for good")
    decide_parser.add_argument("--note", help="why (kept in the decision file and the run)")
    decide_parser.add_argument("--root", default=DEFAULT_ROOT, help="results root")
    decide_parser.add_argument("--resource", default="all", help="resource of the run folder")
    decide_parser.set_defaults(run=command_decide)

    runs_parser = subparsers.add_parser("runs", help="the training runs and their status")
    runs_parser.add_argument("--root", default=DEFAULT_ROOT, help="results root")
    runs_parser.add_argument("--status", choices=SHOWN_STATUSES)
    runs_parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
    runs_parser.set_defaults(run=command_runs)

    study_parser = subparsers.add_parser("study", help="the searches (tune.Study) and their trials")
    study_commands = study_parser.add_subparsers(dest="study_command", required=True)
    study_ls = study_commands.add_parser("ls", help="every study under the root")
    study_ls.set_defaults(run=command_study_ls)
    study_show = study_commands.add_parser(
        "show",
        help="a study's trials: state, value, hash, hyperparameters; its best; what it awaits",
    )
    study_show.add_argument("name")
    study_show.set_defaults(run=command_study_show)
    for sub in (study_ls, study_show):
        sub.add_argument("--root", default=DEFAULT_ROOT, help="results root")
        sub.add_argument("--format", choices=["table", "csv", "json"], default="table")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="phyper")
    add_commands(parser.add_subparsers(dest="command", required=True))
    options = parser.parse_args(argv)
    try:
        return int(options.run(options))
    except PhyperError as error:
        print(f"phyper {options.command}: error: {error}", file=sys.stderr)
        return USAGE_EXIT


if __name__ == "__main__":
    sys.exit(main())
