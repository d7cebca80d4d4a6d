"""Store speed at scale: collecting result files, writing metadata, scanning a root.

Every figure is a ratio to a baseline timed in the same run on the same files:

- collect (``phyper.collect``, ``phyper.collect_from_disk``, the ``phyper collect`` command)
  against the per-file pandas loop phyper used before (one loader call and one dict per row),
  for small CSV, JSON and YAML results; the frames must be identical;
- writing metadata the first time against writing the same files one after another with
  ``write_atomic`` (each flushed to disk before its rename); unchanged against reading them;
- ``phyper.scan`` against reading and parsing every metadata file with ``json.load``.

The folders live in a temporary directory under /tmp, made once, reused by every repetition
and deleted at the end.

    python bench/bench_store.py [--folders 100000] [--repeats 3] [--formats csv,json,yaml]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pandas as pd
import yaml

import phyper
from phyper import _store

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import Instance, grid, make_parser

ROWS = 3  # rows per CSV result, like a short learning curve


def timed(function):
    gc.collect()
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def best_of(repeats: int, function):
    best, result = float("inf"), None
    for _ in range(repeats):
        elapsed, result = timed(function)
        best = min(best, elapsed)
    return best, result


def row_by_row(entries, load, index_name="hash"):
    """The baseline: phyper's collect before, one load and one dict per row."""
    rows = []
    for entry_hash, hyperparameters, path in entries:
        loaded = load(path)
        if isinstance(loaded, pd.DataFrame):
            records = loaded.to_dict(orient="records")
        elif isinstance(loaded, dict):
            records = [loaded]
        else:
            records = list(loaded)
        for values in records:
            clashes = set(values) & (set(hyperparameters) | {index_name})
            if clashes:
                values = {(f"result_{k}" if k in clashes else k): v for k, v in values.items()}
            rows.append({index_name: entry_hash, **hyperparameters, **values})
    return pd.DataFrame(rows)


def load_json(path):
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def load_yaml(path):
    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


LOADS = {"csv": pd.read_csv, "json": load_json, "yaml": load_yaml}


def write_results(instances, formats) -> None:
    for position, instance in enumerate(instances):
        folder = instance.get_resources_path()
        os.makedirs(folder, exist_ok=True)
        losses = [round(1.0 / (position + epoch), 6) for epoch in range(1, ROWS + 1)]
        if "csv" in formats:
            with open(os.path.join(folder, "result.csv"), "w") as stream:
                stream.write("epoch,loss,split\n")
                for epoch, loss in enumerate(losses, 1):
                    stream.write(f"{epoch},{loss},{'train' if epoch % 2 else 'valid'}\n")
        records = [{"epoch": e, "loss": loss} for e, loss in enumerate(losses, 1)]
        if "json" in formats:
            with open(os.path.join(folder, "result.json"), "w") as stream:
                json.dump(records, stream)
        if "yaml" in formats:
            with open(os.path.join(folder, "result.yaml"), "w") as stream:
                yaml.safe_dump(records, stream)


def line(what: str, seconds: float, n: int, baseline: float | None = None, note: str = "") -> None:
    ratio = f"{baseline / seconds:6.1f}x faster" if baseline else ""
    print(f"{what:<52} {seconds:8.2f} s {seconds / n * 1e6:8.1f} us/folder  {ratio} {note}")


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--folders", type=int, default=100_000)
    arguments.add_argument("--repeats", type=int, default=3)
    arguments.add_argument("--formats", default="csv,json,yaml")
    arguments.add_argument(
        "--sequential", type=int, default=10_000, help="files in the sequential-write baseline"
    )
    options = arguments.parse_args()
    formats = options.formats.split(",")
    n = options.folders
    workspace = tempfile.mkdtemp(prefix="phyper-bench-store-", dir="/tmp")
    try:
        root = os.path.join(workspace, "root")
        parser = make_parser(root)
        instances = parser.get_instances_from_dictionary(grid(n))[:n]
        print(f"{n:,} instance folders under {workspace}")

        # ---- metadata, first time: phyper against the same kind of files written one after
        # another with write_atomic, and against making them with no flush at all (the file
        # system's own cost). The three take turns, a tenth at a time, so that the disk's
        # moods (this VM's file creation varies several fold within minutes) hit all three.
        sample = list(_store._info_files(instances[: options.sequential], None))

        def elsewhere(name):
            return [(path.replace(root, os.path.join(workspace, name), 1), d) for path, d in sample]

        sequential_jobs, floor_jobs = elsewhere("sequential"), elsewhere("floor")

        def create_plainly(jobs):
            for path, data in jobs:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as stream:
                    stream.write(data)

        rounds = 10
        t_first = t_sequential = t_floor = 0.0
        written = 0
        for k in range(rounds):
            part = instances[k * n // rounds : (k + 1) * n // rounds]
            elapsed, report = timed(lambda part=part: Instance.generate_instance_info_files(part))
            t_first += elapsed
            written += report.written
            cut = slice(k * len(sample) // rounds, (k + 1) * len(sample) // rounds)
            jobs = sequential_jobs[cut]
            t_sequential += timed(lambda jobs=jobs: [_store.write_atomic(*job) for job in jobs])[0]
            t_floor += timed(lambda jobs=floor_jobs[cut]: create_plainly(jobs))[0]
        t_again, again = best_of(
            options.repeats, lambda: Instance.generate_instance_info_files(instances)
        )
        paths = [path for path, _ in _store._info_files(instances, None)]

        def read_all():
            for path in paths:
                with open(path, "rb") as stream:
                    stream.read()

        t_read, _ = best_of(options.repeats, read_all)
        per_sequential = t_sequential / len(sample)
        per_floor = t_floor / len(sample)
        per_first = t_first / written

        # ---- scan vs json.load of every metadata file
        t_scan, scanned = best_of(options.repeats, lambda: phyper.scan(root))
        t_json, _ = best_of(options.repeats, lambda: [load_json(path) for path in paths])

        print()
        print(f"metadata, first time ({written:,} files, each flushed to disk):")
        print(
            f"  one after another with write_atomic ({len(sample):,} files): "
            f"{per_sequential * 1e6:7.1f} us/file"
        )
        print(
            f"  the same made with no flush and no rename ({len(sample):,} files): "
            f"{per_floor * 1e6:7.1f} us/file (the file system's floor)"
        )
        print(
            f"  phyper: {t_first:6.2f} s, {t_first / n * 1e6:7.1f} us/instance, "
            f"{per_first * 1e6:7.1f} us/file ({per_sequential / per_first:.1f}x faster than one "
            f"after another, {per_first / per_floor:.2f}x the floor)"
        )
        print(
            f"metadata, unchanged ({again.unchanged:,} files): {t_again:6.2f} s, "
            f"{t_again / len(paths) * 1e6:.1f} us/file ({t_again / t_read:.1f}x reading them)"
        )
        print(
            f"scan ({len(scanned):,} folders): {t_scan:6.2f} s, {t_scan / len(scanned) * 1e6:.1f} "
            f"us/folder ({t_scan / t_json:.2f}x json.load of every metadata file)"
        )

        # ---- collect
        gc.collect()
        write_results(instances, formats)
        on_disk = [
            (folder.hash, {k: _store.display_value(v) for k, v in folder.hyperparameters.items()})
            for folder in phyper._scan.iter_folders(root, "all")
        ]
        for fmt in formats:
            name = f"result.{fmt}"
            print(f"\ncollect, {fmt.upper()} results ({ROWS} rows each):")

            def baseline(name=name, fmt=fmt):
                # as phyper.collect did before: the entries, then one load and dicts per row
                entries = [
                    (i.get_instance_hash(), i.to_dict(), os.path.join(i.get_resources_path(), name))
                    for i in Instance.deduplicate(instances)
                ]
                return row_by_row(entries, LOADS[fmt])

            t_base, expected = timed(baseline)
            line("  per-file loop (baseline, as phyper before)", t_base, n)
            t_new, frame = best_of(
                options.repeats,
                lambda name=name: phyper.collect(
                    instances, lambda i, name=name: os.path.join(i.get_resources_path(), name)
                ),
            )
            pd.testing.assert_frame_equal(frame, expected)
            line("  phyper.collect", t_new, n, t_base, "(identical frame)")
            if fmt != "csv":
                continue
            disk = [(h, hp, os.path.join(root, "all", h, name)) for h, hp in on_disk]

            def disk_baseline(disk=disk):
                # the metadata read again, as collect_from_disk did before
                list(phyper._scan.iter_folders(root, "all"))
                return row_by_row(disk, pd.read_csv)

            t_disk_base, expected_disk = timed(disk_baseline)
            line("  per-file loop + metadata (baseline)", t_disk_base, n)
            t_disk, frame_disk = best_of(
                options.repeats, lambda name=name: phyper.collect_from_disk(root, "all", name)
            )
            pd.testing.assert_frame_equal(frame_disk, expected_disk)
            line("  phyper.collect_from_disk", t_disk, n, t_disk_base, "(identical frame)")
            workers = phyper._collect._workers_for(root, "all", "auto")
            t_parallel, frame_parallel = best_of(
                options.repeats,
                lambda name=name: phyper.collect_from_disk(root, "all", name, workers="auto"),
            )
            pd.testing.assert_frame_equal(frame_parallel, expected_disk)
            line(
                f"  phyper.collect_from_disk, workers='auto' ({workers})",
                t_parallel,
                n,
                t_disk_base,
                "(identical frame)",
            )
            output = os.path.join(workspace, "out.csv")
            command = [sys.executable, "-m", "phyper", "collect", "--root", root]
            command += ["--resource", "all", "--file", name, "-o", output]

            def cli(command=command):
                subprocess.run(command, check=True, capture_output=True)

            t_cli, _ = best_of(options.repeats, cli)
            t_write, _ = timed(
                lambda frame=expected_disk, path=output + ".base": frame.to_csv(path, index=False)
            )
            with open(output, "rb") as mine_file, open(output + ".base", "rb") as base_file:
                assert mine_file.read() == base_file.read(), "the CLI wrote another table"
            line(
                "  phyper collect -o out.csv (--workers auto)",
                t_cli,
                n,
                t_disk_base + t_write,
                "(against the baseline + to_csv)",
            )
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
