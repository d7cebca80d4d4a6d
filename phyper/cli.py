"""The phyper command: what the hash folders of a store are, months later and without code;
which results a configuration still lacks; the training runs, the searches and their gates.

``phyper --help`` lists every command with its usage, built from the parser (so the list stays
complete); ``phyper COMMAND --help`` gives each option with its default. Where the store is comes
from ``--root``, ``--config`` or ``[tool.phyper]`` in pyproject.toml (``_project.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import typing
from collections.abc import Sequence

from ._collect import collect_from_disk
from ._context import ALL, distinct
from ._errors import PhyperError
from ._help import CommandParser, synopsis
from ._output import write_frame
from ._project import INSTANCES, add_store_options, locate, where
from ._project import load_config as load_config  # where it used to be
from ._scan import (
    CORRUPT,
    MISMATCH,
    OK,
    SYMLINK,
    Folder,
    hash_folders_by_prefix,
    iter_folders,
    read_folder,
    scan,
)
from ._status import status
from ._store import INFO_FILE, display_value
from .tune import _cli as tune_commands
from .tune._gc import GcPlan, plan_gc, study_trials

if typing.TYPE_CHECKING:
    import pandas as pd


OK_EXIT, FINDINGS_EXIT, USAGE_EXIT = 0, 1, 2
DEFAULT_ROOT = "derived_data"


class UsageError(PhyperError, ValueError):
    """Bad input to the command line: exit code 2."""


def _print_frame(frame: pd.DataFrame, fmt: str, output: str | None = None) -> None:
    write_frame(frame, fmt, output)  # one writer for every command: exact floats in csv/json


def _workers(text: str) -> int | str:
    if text == "auto":
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected 'auto' or a number of processes, 1 or more"
        )
    return int(text)


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def folder_size(path: str) -> int:
    """Bytes under ``path``, never following a symbolic link."""
    if os.path.islink(path) or not os.path.isdir(path):
        return os.lstat(path).st_size
    total = 0
    for folder, _, files in os.walk(path, followlinks=False):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # removed while we walk
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


# ------------------------------------------------------------------------------- describe


def find_by_prefix(root: str, prefix: str) -> list[Folder]:
    if not os.path.isdir(root):
        raise UsageError(f"results root {root!r} is not a folder")
    return [
        read_folder(resource, entry) for resource, entry in hash_folders_by_prefix(root, prefix)
    ]


def command_describe(options: argparse.Namespace) -> int:
    matches = find_by_prefix(options.root, options.hash)
    if not matches:
        raise UsageError(
            f"no folder under {where(options)} has a hash starting with {options.hash!r}"
        )
    if len(matches) > 1:
        print(f"{options.hash!r} is ambiguous; candidates:", file=sys.stderr)
        for folder in matches:
            print(f"  {folder.resource:24s} {folder.hash}", file=sys.stderr)
        return USAGE_EXIT
    folder = matches[0]
    if options.format != "table":  # one row, the hyperparameters as columns (as `ls`)
        import pandas as pd

        row = {
            "resource": folder.resource,
            "hash": folder.hash,
            "status": folder.status,
            "problem": folder.problem,
            "path": folder.path,
            "class": folder.class_name,
            **{n: display_value(v) for n, v in folder.hyperparameters.items()},
        }
        _print_frame(pd.DataFrame([row], dtype=object), options.format)
        return OK_EXIT if folder.status == OK else FINDINGS_EXIT
    print(f"resource:  {folder.resource}")
    print(f"hash:      {folder.hash}")
    print(f"folder:    {folder.path}")
    print(f"status:    {folder.status}{' (' + folder.problem + ')' if folder.problem else ''}")
    if folder.class_name:
        print(f"class:     {folder.class_name}")
    if folder.hyperparameters:
        print("hyperparameters:")
        width = max(map(len, folder.hyperparameters))
        for name, value in folder.hyperparameters.items():
            print(f"  {name:{width}s}  {value!r}")
    if os.path.isdir(folder.path) and not os.path.islink(folder.path):
        files = sorted(os.listdir(folder.path))
        print(f"files:     {', '.join(files) if files else '(none)'}")
    return OK_EXIT if folder.status == OK else FINDINGS_EXIT


# ------------------------------------------------------------------------------ ls, collect


def command_ls(options: argparse.Namespace) -> int:
    frame = scan(options.root, options.resource)
    if not len(frame) and options.format == "table":
        print(f"(no hash folders under {where(options)})")
        return OK_EXIT
    if options.format == "table":
        frame = frame.drop(columns=["path"])
        if not (frame["problem"] != "").any():
            frame = frame.drop(columns=["problem"])
    _print_frame(frame, options.format)
    return OK_EXIT


def command_collect(options: argparse.Namespace) -> int:
    frame = collect_from_disk(
        options.root, options.resource, options.file, missing="ignore", workers=options.workers
    )
    missing = frame.attrs.get("missing", [])
    if not len(frame) and not missing:
        raise UsageError(f"no {options.resource!r} folders with metadata under {where(options)}")
    fmt = "csv" if options.output and options.format == "table" else options.format
    _print_frame(frame, fmt, options.output)
    if options.output:
        print(f"wrote {len(frame)} rows to {options.output}", file=sys.stderr)
    if missing:
        print(f"{len(missing)} folders lack {options.file!r}:", file=sys.stderr)
        for path in missing:
            print(f"  {path}", file=sys.stderr)
        return FINDINGS_EXIT
    return OK_EXIT


# ------------------------------------------------------------------------ config: status, gc


def _parse_file_option(value: str, resources: Sequence[str]) -> tuple[str, str]:
    resource, _, relative = value.rpartition(":")
    resource = resource or ALL
    if resource not in (ALL, *resources):
        raise UsageError(
            f"--file {value!r} names resource {resource!r}; expected one of "
            f"{[ALL, *resources]} (write RESOURCE:RELPATH, or RELPATH for instance folders)"
        )
    return resource, relative


def command_status(options: argparse.Namespace) -> int:
    parser, instances = options.parser, options.instances
    required: dict[str | None, list[str]] = {}
    for value in options.file or []:
        resource, relative = _parse_file_option(value, parser.get_resource_names())
        required.setdefault(resource, []).append(relative)
    table = status(instances, required, resources=options.resource)
    if options.format != "table":  # one row per folder, for programs
        _print_frame(table, options.format)
        return FINDINGS_EXIT if (~table.complete).any() else OK_EXIT
    counts = table.groupby("resource", sort=False)["complete"].agg(["size", "sum"])
    width = max([len("resource"), *map(len, counts.index)])
    print(f"{'resource':{width}s}  {'complete':>9s}  {'missing':>8s}")
    for resource, (expected, complete) in counts.iterrows():
        print(f"{resource:{width}s}  {complete:>4d}/{expected:<4d}  {expected - complete:>8d}")
    checked = set(counts.index)
    root = parser.hashed_resources_folder
    skipped = [r for r in (ALL, *parser.get_resource_names()) if r not in checked]
    if skipped and not options.file and not options.resource:
        print(f"(no folder under {root!r}, not counted: {', '.join(skipped)})")
    produced = set(distinct(instances))
    trials = {h for hashes in study_trials(root).values() for h in hashes} - produced
    if trials:  # not the configuration's, yet not garbage: `phyper gc` keeps them
        print(f"({len(trials)} trial folders of studies, not counted: phyper study ls)")
    missing = table[~table.complete]
    if len(missing) and options.verbose:
        print("missing:")
        for row in missing.itertuples():
            print(f"  {row.resource:24s} {row.hash}  {row.missing}")
    total, done = len(table), int(table.complete.sum())
    share = done / total if total else 1.0
    bar = "#" * round(share * 30)
    hint = "" if options.verbose or not len(missing) else " (-v lists them)"
    print(
        f"[{bar:30s}] {done}/{total} folders complete ({share:.0%}), {len(missing)} missing{hint}"
    )
    return FINDINGS_EXIT if len(missing) else OK_EXIT


def _inside(path: str, root: str) -> bool:
    parent = os.path.realpath(os.path.dirname(path))
    return os.path.commonpath([parent, os.path.realpath(root)]) == os.path.realpath(root)


def _gc_frame(plan: GcPlan, sizes: dict[str, int]) -> pd.DataFrame:
    import pandas as pd

    rows = [
        {"action": "delete", "resource": f.resource, "hash": f.hash, "path": f.path,
         "bytes": sizes[f.path], "reasons": ""}
        for f in plan.orphans
    ]  # fmt: skip
    rows += [
        {"action": "delete", "resource": "", "hash": "", "path": t.path,
         "bytes": t.stat(follow_symlinks=False).st_size, "reasons": "left by a killed writer"}
        for t in plan.leftovers
    ]  # fmt: skip
    rows += [
        {"action": "keep", "resource": f.resource, "hash": f.hash, "path": f.path,
         "bytes": None, "reasons": "; ".join(plan.kept[f.path])}
        for f in plan.folders if f.path in plan.kept
    ]  # fmt: skip
    columns = ["action", "resource", "hash", "path", "bytes", "reasons"]
    return pd.DataFrame(rows, columns=columns)


def command_gc(options: argparse.Namespace) -> int:
    parser, instances = options.parser, options.instances
    root = options.root
    if not os.path.isdir(root):
        print(f"nothing to collect: {root!r} does not exist")
        return OK_EXIT
    plan = plan_gc(root, parser, instances)
    orphans, leftovers = plan.orphans, plan.leftovers
    sizes = {f.path: folder_size(f.path) for f in orphans}
    table = options.format == "table"
    notes = sys.stdout if table else sys.stderr  # csv and json stay parseable
    for warning in plan.warnings:
        print(f"note: {warning}", file=sys.stderr)
    if not table:
        _print_frame(_gc_frame(plan, sizes), options.format)
    else:
        if options.verbose:
            for folder in plan.folders:
                reasons = plan.kept.get(folder.path)
                if reasons:
                    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
                    where = f"{folder.resource}/{folder.hash}"  # under the root: 100 columns
                    print(f"kept  {where}  {reasons[0]}{more}")
        for folder in orphans:
            kind = " (symlink: only the link is removed)" if folder.status == SYMLINK else ""
            print(f"{_human_size(sizes[folder.path]):>10s}  {folder.path}{kind}")
        for temporary in leftovers:
            size = temporary.stat(follow_symlinks=False).st_size  # cached by the scan
            print(f"{_human_size(size):>10s}  {temporary.path} (left by a writer that was killed)")
    total = _human_size(sum(sizes.values()))
    found = f"{len(orphans)} orphan folders, {total}; {len(leftovers)} stale temporary files"
    kept = f"{len(plan.kept)} folders kept" + ("" if options.verbose else " (-v says why)")
    if not orphans and not leftovers:
        print(
            f"no orphans under {root!r}: every hash folder is produced by {options.config!r}, "
            f"a study's trial or a run that may go on ({kept})",
            file=notes,
        )
        return OK_EXIT
    if not options.delete:
        print(f"{found}; {kept}; dry run: pass --delete to remove them", file=notes)
        return FINDINGS_EXIT
    for folder in orphans:
        if not _inside(folder.path, root):
            print(f"skipped {folder.path}: outside {root!r}", file=sys.stderr)
            continue
        if os.path.islink(folder.path) or not os.path.isdir(folder.path):
            os.unlink(folder.path)  # a link is removed, never what it points to
        else:
            shutil.rmtree(folder.path)  # does not follow links inside the folder
    for temporary in leftovers:
        with contextlib.suppress(FileNotFoundError):  # a concurrent gc got there first
            os.unlink(temporary.path)
    print(f"deleted {found}", file=notes)
    return OK_EXIT


# -------------------------------------------------------------------------------- verify


def command_verify(options: argparse.Namespace) -> int:
    checked = problems = unverified = 0
    for folder in iter_folders(options.root):
        checked += 1
        if folder.status in (MISMATCH, CORRUPT):
            problems += 1
            print(f"{folder.status:9s} {folder.path}: {folder.problem}")
        elif folder.status != OK:
            unverified += 1
            print(f"{'skipped':9s} {folder.path}: {folder.problem}")
    print(
        f"verified {checked - problems - unverified} of {checked} folders under "
        f"{options.root!r}: {problems} with problems, {unverified} without metadata"
    )
    return FINDINGS_EXIT if problems else OK_EXIT


# ------------------------------------------------------------------------------- migrate


def command_migrate(options: argparse.Namespace) -> int:
    """Place the folders of the original phyper (SHA-256 names) under phyper's hashes."""
    from ._migrate import NO_INFO, UNFIT, migrate_from_original

    parser, instances = options.parser, options.instances
    frame = migrate_from_original(
        options.from_original,
        parser,
        instances,
        to_root=options.to,
        mode=options.mode,
        dry_run=not options.apply,
    )
    # in a table, people want the verdict; machines get every column
    table = options.format == "table"
    shown = frame.drop(columns=["old_path", "new_path"]) if table else frame
    if table and not (shown["problem"] != "").any():
        shown = shown.drop(columns=["problem"])
    _print_frame(shown, options.format)
    notes = sys.stdout if table else sys.stderr  # csv and json stay parseable
    if not len(frame):
        print(
            f"no folders of the original phyper under {options.from_original!r} (expected "
            "<root>/<resource or all>/<64 hex characters>/)",
            file=notes,
        )
        return OK_EXIT
    counts = frame["status"].value_counts()
    print(", ".join(f"{n} {status}" for status, n in counts.items()), file=notes)
    troubled = frame[(frame["problem"] != "") | frame["status"].isin([UNFIT, NO_INFO])]
    if len(troubled) and not table:
        print(f"{len(troubled)} folders need attention:", file=sys.stderr)
        for row in troubled.itertuples():
            print(f"  {row.old_path}: {row.problem}", file=sys.stderr)
    if not options.apply:
        print("dry run: pass --apply to carry it out", file=notes)
    return FINDINGS_EXIT if len(troubled) else OK_EXIT


# ------------------------------------------------------------------------------ dashboard


def command_dashboard(options: argparse.Namespace) -> int:
    root = options.root  # found by _project.locate: --root, the CONFIG's parser or [tool.phyper]
    try:
        from .dashboard import serve
    except ImportError as error:
        raise UsageError(
            f"the dashboard needs the optional extra: pip install 'phyper-ml[dashboard]' ({error})"
        ) from None
    serve(root, host=options.host, port=options.port, on_decision=options.on_decision)
    return OK_EXIT


def _add_dashboard(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dashboard = commands.add_parser(
        "dashboard", help="watch runs and studies live in a browser; answer go/no-go gates"
    )
    dashboard.add_argument(
        "config",
        nargs="?",
        metavar="CONFIG",
        help="a Python file defining 'parser'; the root is its parser's",
    )
    add_store_options(dashboard, config_option=False)
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    dashboard.add_argument(
        "--port", type=int, default=8050, help="0: any free port (default: %(default)s)"
    )
    dashboard.add_argument(
        "--on-decision",
        metavar="CMD",
        help="shell command run once per recorded decision; {hash} {study} {gate} {decision} "
        "are filled in, quoted",
    )
    dashboard.set_defaults(run=command_dashboard)


# ---------------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="phyper", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    formats = ["table", "csv", "json"]
    config_help = "a Python file defining 'parser' and 'instances' (default: [tool.phyper] config"
    config_help += " in the nearest pyproject.toml)"

    describe = commands.add_parser("describe", help="what a hash (or a unique prefix) is")
    describe.add_argument(
        "hash", metavar="HASH", help="a hash, or a unique prefix of one (6+ characters)"
    )
    add_store_options(describe)
    describe.add_argument("--format", choices=formats, default="table", help="how to print")
    describe.set_defaults(run=command_describe)

    ls = commands.add_parser("ls", help="the table of hash folders")
    add_store_options(ls)
    ls.add_argument("--resource", help="only this resource's folders (default: every resource)")
    ls.add_argument("--format", choices=formats, default="table", help="how to print the table")
    ls.set_defaults(run=command_ls)

    collect = commands.add_parser("collect", help="one result file per folder, as a table")
    add_store_options(collect)
    collect.add_argument("--resource", required=True, help="a resource name, or 'all'")
    collect.add_argument("--file", required=True, help="the result file inside each folder")
    collect.add_argument(
        "-o", "--output", help="write the table here, as CSV unless --format (default: print it)"
    )
    collect.add_argument("--format", choices=formats, default="table", help="how to print it")
    collect.add_argument(
        "--workers",
        type=_workers,
        default="auto",
        help="processes reading the folders: a number, or 'auto' (default: one per core, up "
        "to 8, from 5,000 folders on)",
    )
    collect.set_defaults(run=command_collect)

    status_command = commands.add_parser(
        "status",
        help="which results a configuration still lacks",
        description=(
            "Count, per resource, the folders the configuration produces that are complete. "
            "With --file, a folder is complete when every file given for its resource exists, "
            "and only the resources named by --file are checked. Without it, a folder is "
            f"complete when it holds anything besides {INFO_FILE}, and every resource with a "
            "folder under the root is checked."
        ),
    )
    status_command.add_argument("config", nargs="?", metavar="CONFIG", help=config_help)
    status_command.add_argument(
        "--file",
        action="append",
        help="[RESOURCE:]RELPATH that must exist in each folder of RESOURCE (default: instance "
        "folders); repeatable",
    )
    status_command.add_argument(
        "--resource",
        action="append",
        help="check only this resource ('all' for instances); repeatable (default: every one)",
    )
    status_command.add_argument(
        "-v", "--verbose", action="store_true", help="list the missing hashes"
    )
    status_command.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table: counts per resource; csv, json: one row per folder",
    )
    status_command.set_defaults(run=command_status, store_needs=INSTANCES)

    gc = commands.add_parser(
        "gc",
        help="folders nothing refers to any more, and stale temporary files",
        description=(
            "List (and with --delete remove) the hash folders nothing refers to: not the "
            "configuration's instances and their resources, not any trial of a study under the "
            "root, not a run that may go on (running, awaiting_decision, decided, paused, "
            "interrupted), not the resources these depend on, not a folder a live process "
            "has locked."
        ),
    )
    gc.add_argument("config", nargs="?", metavar="CONFIG", help=config_help)
    add_store_options(gc, needs=INSTANCES, config_option=False)
    gc.add_argument("--delete", action="store_true", help="remove them (default: a dry run)")
    gc.add_argument("-v", "--verbose", action="store_true", help="say why each kept folder is kept")
    gc.add_argument("--format", choices=formats, default="table", help="how to print")
    gc.set_defaults(run=command_gc)

    tune_commands.add_commands(commands)  # decide, runs, study ls, study show
    _add_dashboard(commands)

    verify = commands.add_parser("verify", help="recompute every folder's hash")
    add_store_options(verify)
    verify.set_defaults(run=command_verify)

    migrate = commands.add_parser(
        "migrate", help="place the original phyper's SHA-256 folders under phyper's hashes"
    )
    migrate.add_argument(
        "--from-original", required=True, metavar="OLD_ROOT", help="the original's results root"
    )
    migrate.add_argument("-c", "--config", help=config_help)
    migrate.add_argument("--to", metavar="NEW_ROOT", help="new root (default: the parser's)")
    how = migrate.add_mutually_exclusive_group()
    for choice, explanation in (
        ("copy", "copy the files; the old folders stay (the default)"),
        ("move", "move the folders; nothing stays behind"),
        ("link", "hard-link the files (copy across filesystems); both share the contents"),
    ):
        how.add_argument(
            f"--{choice}", dest="mode", action="store_const", const=choice, help=explanation
        )
    migrate.set_defaults(mode="copy")
    migrate.add_argument("--apply", action="store_true", help="do it (default: a dry run)")
    migrate.add_argument("--format", choices=formats, default="table", help="how to print it")
    migrate.set_defaults(run=command_migrate, store_needs=INSTANCES)

    parser.epilog = (
        f"commands:\n{synopsis(parser)}\n\n"
        "The store: --root DIR, or --config FILE (its parser's root), or [tool.phyper] in the "
        'nearest\npyproject.toml (config = "FILE" or root = "DIR"), else ./derived_data.\n'
        "Exit codes: 0 all is well, 1 findings (missing results, orphans, mismatches), 2 usage "
        "or input\nerrors (a results root that does not exist, among them)."
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    try:
        locate(options)  # --root, --config or [tool.phyper]: fills in options.root
        return int(options.run(options))
    except PhyperError as error:
        print(f"phyper {options.command}: error: {error}", file=sys.stderr)
        return USAGE_EXIT
    except BrokenPipeError:  # `phyper ls | head`
        return OK_EXIT


if __name__ == "__main__":
    sys.exit(main())
