"""Two sub-commands for the ``phyper`` command: ``decide`` and ``runs``.

    phyper decide HASH (--go | --no-go) [--note TEXT] [--root DIR] [--resource NAME]
    phyper runs [--root DIR] [--status S] [--format table|csv|json]

``add_commands(subparsers)`` registers them; each sets ``run``, a function of the parsed
namespace returning an exit code (0 ok, 2 usage error). Errors are ``PhyperError`` subclasses,
which the main command prints before exiting with 2. ``python -m phyper.tune._cli`` works alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._errors import PhyperError
from ._gate import decide
from ._run import runs
from ._state import Status

OK_EXIT, USAGE_EXIT = 0, 2
DEFAULT_ROOT = "derived_data"


def command_decide(options: argparse.Namespace) -> int:
    path = decide(
        options.root, options.hash, go=options.go, note=options.note, resource=options.resource
    )
    print(f"{'go' if options.go else 'no-go'} recorded in {path}; start the run to apply it")
    return OK_EXIT


def command_runs(options: argparse.Namespace) -> int:
    frame = runs(options.root)
    if options.status:
        frame = frame[frame["status"] == options.status]
    if options.format == "csv":
        text = frame.to_csv(index=False)
    elif options.format == "json":
        text = frame.to_json(orient="records", indent=2) + "\n"
    else:
        shown = frame.drop(columns=["folder"]).astype(object).fillna("")
        text = (shown.to_string(index=False) if len(shown) else "(no runs)") + "\n"
    sys.stdout.write(text)
    return OK_EXIT


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``decide`` and ``runs`` on the ``phyper`` command's sub-parsers."""
    decide_parser = subparsers.add_parser(
        "decide", help="go/no-go for a run that awaits a decision at a gate"
    )
    decide_parser.add_argument("hash", help="the run's hash, or a unique prefix (6+ characters)")
    verdict = decide_parser.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--go", dest="go", action="store_true", help="continue training")
    verdict.add_argument("--no-go", dest="go", action="store_false", help="stop the run for good")
    decide_parser.add_argument("--note", help="why (kept in the decision file and the run)")
    decide_parser.add_argument("--root", default=DEFAULT_ROOT, help="results root")
    decide_parser.add_argument("--resource", default="all", help="resource of the run folder")
    decide_parser.set_defaults(run=command_decide)

    runs_parser = subparsers.add_parser("runs", help="the training runs and their status")
    runs_parser.add_argument("--root", default=DEFAULT_ROOT, help="results root")
    runs_parser.add_argument("--status", choices=[s.value for s in Status])
    runs_parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
    runs_parser.set_defaults(run=command_runs)


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
