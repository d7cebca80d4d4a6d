"""The ``phyper`` command: find out what hash folders are, months later, without code.

    phyper describe HASH [--root DIR]
    phyper ls [--root DIR] [--resource NAME] [--format table|csv|json]
    phyper collect --root DIR --resource NAME --file RELPATH [-o OUT.csv]
    phyper status CONFIG [--file [RESOURCE:]RELPATH ...]
    phyper gc CONFIG [--delete]
    phyper verify [--root DIR]

Exit codes: 0 all is well, 1 findings (missing results, orphans, mismatches), 2 usage or input
errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import runpy
import shutil
import sys
import typing
from collections.abc import Sequence

from ._errors import PhyperError
from ._scan import CORRUPT, MISMATCH, OK, SYMLINK, Folder, iter_folders, scan
from ._store import stale_temporaries

if typing.TYPE_CHECKING:
    import pandas as pd

    from ._parser import Parser

OK_EXIT, FINDINGS_EXIT, USAGE_EXIT = 0, 1, 2
DEFAULT_ROOT = "derived_data"
MIN_PREFIX = 6


class UsageError(PhyperError, ValueError):
    """Bad input to the command line: exit code 2."""


def _print_frame(frame: pd.DataFrame, fmt: str, output: str | None = None) -> None:
    if fmt == "csv":
        text = frame.to_csv(index=False)
    elif fmt == "json":
        text = frame.to_json(orient="records", indent=2, default_handler=str) + "\n"
    else:
        text = (frame.to_string(index=False) if len(frame) else "(nothing)") + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as stream:
            stream.write(text)
    else:
        sys.stdout.write(text)


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
    prefix = prefix.lower()
    if len(prefix) < MIN_PREFIX:
        raise UsageError(
            f"hash prefix {prefix!r} is too short: give at least {MIN_PREFIX} characters"
        )
    if any(c not in "0123456789abcdef" for c in prefix):
        raise UsageError(f"{prefix!r} is not a hash: expected hexadecimal characters")
    return [f for f in iter_folders(root) if f.hash.startswith(prefix)]


def command_describe(options: argparse.Namespace) -> int:
    matches = find_by_prefix(options.root, options.hash)
    if not matches:
        raise UsageError(
            f"no folder under {options.root!r} has a hash starting with {options.hash!r}"
        )
    if len(matches) > 1:
        print(f"{options.hash!r} is ambiguous; candidates:", file=sys.stderr)
        for folder in matches:
            print(f"  {folder.resource:24s} {folder.hash}", file=sys.stderr)
        return USAGE_EXIT
    folder = matches[0]
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
    if options.format == "table":
        frame = frame.drop(columns=["path"])
        if not (frame["problem"] != "").any():
            frame = frame.drop(columns=["problem"])
    _print_frame(frame, options.format)
    return OK_EXIT


def command_collect(options: argparse.Namespace) -> int:
    from ._collect import collect_from_disk

    frame = collect_from_disk(options.root, options.resource, options.file, missing="ignore")
    missing = frame.attrs.get("missing", [])
    if not len(frame) and not missing:
        raise UsageError(f"no {options.resource!r} folders with metadata under {options.root!r}")
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


def load_config(path: str) -> tuple[Parser, list[Parser]]:
    """Run a configuration file and find its instances (a variable ``instances``, else the
    first list of Parser instances) and their parser."""
    from ._parser import Parser

    if not os.path.isfile(path):
        raise UsageError(f"configuration file {path!r} does not exist")
    saved_path = list(sys.path)
    for folder in (os.getcwd(), os.path.dirname(os.path.abspath(path))):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        namespace = runpy.run_path(path, run_name="__phyper_config__")
    finally:
        sys.path[:] = saved_path

    def is_collection(value: object) -> bool:
        return (
            isinstance(value, (list, tuple))
            and len(value) > 0
            and all(isinstance(item, Parser) for item in value)
        )

    instances = namespace.get("instances")
    if not is_collection(instances):
        instances = next((v for v in namespace.values() if is_collection(v)), None)
    if instances is None:
        raise UsageError(
            f"configuration {path!r} defines no instances: expected a variable `instances` "
            "holding a list of Parser instances"
        )
    parser = namespace.get("parser")
    if not isinstance(parser, Parser):
        parser = instances[0]
    return parser, list(instances)


def _parse_file_option(value: str, resources: Sequence[str]) -> tuple[str, str]:
    resource, _, relative = value.rpartition(":")
    resource = resource or "all"
    if resource not in ("all", *resources):
        raise UsageError(
            f"--file {value!r} names resource {resource!r}; expected one of "
            f"{['all', *resources]} (write RESOURCE:RELPATH, or RELPATH for instance folders)"
        )
    return resource, relative


def command_status(options: argparse.Namespace) -> int:
    parser, instances = load_config(options.config)
    resources = parser.get_resource_names()
    required: dict[str, list[str]] = {}
    for value in options.file or []:
        resource, relative = _parse_file_option(value, resources)
        required.setdefault(resource, []).append(relative)
    from ._parser import ALL, Parser

    rows = []
    missing_lines = []
    total_expected = total_complete = 0
    root = parser.hashed_resources_folder
    not_stored = []
    for resource in (ALL, *resources):
        name = None if resource == ALL else resource
        if resource not in required and not os.path.isdir(os.path.join(root, resource)):
            # a resource may only name a hash (as cross_validated_model does in the example)
            not_stored.append(resource)
            continue
        chosen = Parser.get_resources(instances, name)
        complete = 0
        for instance in chosen:
            folder = instance.get_resources_path(name)
            files = required.get(resource)
            if files is not None:
                done = all(os.path.exists(os.path.join(folder, f)) for f in files)
            else:
                done = os.path.isdir(folder) and any(
                    entry != "phyper.json" and not entry.startswith(".")
                    for entry in os.listdir(folder)
                )
            if done:
                complete += 1
            else:
                missing_lines.append(f"  {resource:24s} {instance.get_instance_hash(name)}")
        rows.append((resource, len(chosen), complete))
        total_expected += len(chosen)
        total_complete += complete
    width = max([len("resource")] + [len(r) for r, _, _ in rows])
    print(f"{'resource':{width}s}  {'complete':>9s}  {'missing':>8s}")
    for resource, expected, complete in rows:
        print(f"{resource:{width}s}  {complete:>4d}/{expected:<4d}  {expected - complete:>8d}")
    if not_stored:
        print(f"(no folder under {root!r}, not counted: {', '.join(not_stored)})")
    if missing_lines and options.verbose:
        print("missing:")
        print("\n".join(missing_lines))
    share = total_complete / total_expected if total_expected else 1.0
    n_missing = total_expected - total_complete
    bar = "#" * round(share * 30)
    print(
        f"[{bar:30s}] {total_complete}/{total_expected} folders complete ({share:.0%}), "
        f"{n_missing} missing{'' if options.verbose or not n_missing else ' (-v lists them)'}"
    )
    return FINDINGS_EXIT if n_missing else OK_EXIT


def find_orphans(
    folders: Sequence[Folder], parser: Parser, instances: Sequence[Parser]
) -> list[Folder]:
    """The hash folders among ``folders`` that the configuration does not produce."""
    from ._parser import ALL, Parser

    expected: dict[str, set[str]] = {}
    for resource in (ALL, *parser.get_resource_names()):
        name = None if resource == ALL else resource
        expected[resource] = set(Parser.get_instances_hashes(instances, name))
    return [f for f in folders if f.hash and f.hash not in expected.get(f.resource, ())]


def _inside(path: str, root: str) -> bool:
    parent = os.path.realpath(os.path.dirname(path))
    return os.path.commonpath([parent, os.path.realpath(root)]) == os.path.realpath(root)


def command_gc(options: argparse.Namespace) -> int:
    parser, instances = load_config(options.config)
    root = options.root or parser.hashed_resources_folder
    if not os.path.isdir(root):
        print(f"nothing to collect: {root!r} does not exist")
        return OK_EXIT
    folders = list(iter_folders(root))
    orphans = find_orphans(folders, parser, instances)
    orphan_paths = {f.path for f in orphans}
    # kept folders may still hold the temporary file of a writer killed mid-write
    leftovers = [
        temporary
        for folder in folders
        if folder.path not in orphan_paths and folder.status != SYMLINK
        for temporary in stale_temporaries(folder.path)
    ]
    sizes = [folder_size(f.path) for f in orphans]
    for folder, size in zip(orphans, sizes, strict=True):
        kind = " (symlink: only the link is removed)" if folder.status == SYMLINK else ""
        print(f"{_human_size(size):>10s}  {folder.path}{kind}")
    for temporary in leftovers:
        size = temporary.stat(follow_symlinks=False).st_size  # cached by the scan
        print(f"{_human_size(size):>10s}  {temporary.path} (left by a writer that was killed)")
    total = _human_size(sum(sizes))
    found = f"{len(orphans)} orphan folders, {total}; {len(leftovers)} stale temporary files"
    if not orphans and not leftovers:
        print(f"no orphans under {root!r}: every hash folder is produced by {options.config!r}")
        return OK_EXIT
    if not options.delete:
        print(f"{found}; dry run: pass --delete to remove them")
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
    print(f"deleted {found}")
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


# ---------------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phyper", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_root(sub: argparse.ArgumentParser, default: str | None = DEFAULT_ROOT) -> None:
        sub.add_argument(
            "--root", default=default, help=f"results root (default: {default or 'the parser'})"
        )

    describe = commands.add_parser("describe", help="what a hash (or a unique prefix) is")
    describe.add_argument("hash")
    with_root(describe)
    describe.set_defaults(run=command_describe)

    ls = commands.add_parser("ls", help="the table of hash folders")
    with_root(ls)
    ls.add_argument("--resource")
    ls.add_argument("--format", choices=["table", "csv", "json"], default="table")
    ls.set_defaults(run=command_ls)

    collect = commands.add_parser("collect", help="one result file per folder, as a table")
    with_root(collect)
    collect.add_argument("--resource", required=True, help="a resource name, or 'all'")
    collect.add_argument("--file", required=True, help="the result file inside each folder")
    collect.add_argument("-o", "--output", help="write the table here (CSV unless --format)")
    collect.add_argument("--format", choices=["table", "csv", "json"], default="table")
    collect.set_defaults(run=command_collect)

    status = commands.add_parser("status", help="which results a configuration still lacks")
    status.add_argument("config", help="a Python file defining `parser` and `instances`")
    status.add_argument(
        "--file", action="append", help="[RESOURCE:]RELPATH that must exist (repeatable)"
    )
    status.add_argument("-v", "--verbose", action="store_true", help="list the missing hashes")
    status.set_defaults(run=command_status)

    gc = commands.add_parser(
        "gc", help="folders the configuration no longer produces, and stale temporary files"
    )
    gc.add_argument("config")
    with_root(gc, default=None)
    gc.add_argument("--delete", action="store_true", help="remove them (default: dry run)")
    gc.set_defaults(run=command_gc)

    verify = commands.add_parser("verify", help="recompute every folder's hash")
    with_root(verify)
    verify.set_defaults(run=command_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    try:
        return options.run(options)
    except PhyperError as error:
        print(f"phyper {options.command}: error: {error}", file=sys.stderr)
        return USAGE_EXIT
    except BrokenPipeError:  # `phyper ls | head`
        return OK_EXIT


if __name__ == "__main__":
    sys.exit(main())
