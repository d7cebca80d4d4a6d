"""The tuning loop's own cost, every figure beside its target, side by side in one run.

    python bench/bench_loop.py [--epochs 2000] [--trials 10000] [--tpe-trials 1000] [--quick]

Each row reuses one of the focused benchmarks (which say more about their figure):

- per epoch of ``tune.Run`` (``bench_run.py``): its Python work, i.e. the loop with fsync made a
  no-op minus the same file operations written by hand (also with fsync a no-op), both on tmpfs
  (``/dev/shm``) where file operations cost next to nothing; and the
  durable loop against the floor the issue names, a checkpoint (temporary file, fsync, rename)
  and one appended metric line (fsync) written by hand;
- per trial of a search with a no-op objective (``bench_study.py``): TPE against Optuna's own
  in-memory TPE at 100 and at 1,000 trials, and random and grid at the first and the last 100 of
  10,000 trials;
- the workers' busy fraction with 50 ms trials on 2 processes;
- one step of a Burr application with phyper's persister against Burr's SQLite persister on a
  WAL connection (``bench_burr.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_run  # the benchmarks beside this file
import bench_study

from phyper import tune


def per_epoch(work: str, epochs: int) -> dict[str, float]:
    durable = bench_run.run_tune(os.path.join(work, "durable"), epochs)
    floor = bench_run.run_by_hand(os.path.join(work, "floor"), epochs, with_state=False)
    # the Python work on tmpfs where there is one: there a file operation costs next to
    # nothing, so the difference is the loop's own CPU, not the disk's mood
    memory = tempfile.mkdtemp(dir="/dev/shm") if os.path.isdir("/dev/shm") else work
    try:
        with bench_run.fsync_disabled():
            python = bench_run.run_tune(os.path.join(memory, "cpu"), epochs)
            same = bench_run.run_by_hand(os.path.join(memory, "same"), epochs, with_state=True)
    finally:
        if memory != work:
            shutil.rmtree(memory, ignore_errors=True)
    median = statistics.median
    return {
        "python_ms": (median(python) - median(same)) * 1e3,
        "durable_ms": median(durable) * 1e3,
        "floor_ms": median(floor) * 1e3,
    }


def per_trial(work: str, trials: int, tpe_trials: int) -> dict[str, tuple[float, float]]:
    figures = {
        "grid": bench_study.run_phyper(
            os.path.join(work, "grid"), tune.GridSampler(shuffle=True, seed=0),
            bench_study.grid_space(), trials,
        ),
        "random": bench_study.run_phyper(
            os.path.join(work, "random"), tune.RandomSampler(seed=0),
            bench_study.continuous_space(), trials,
        ),
    }  # fmt: skip
    for count in sorted({100, tpe_trials}):
        ours = bench_study.run_phyper(
            os.path.join(work, f"tpe-{count}"), tune.TPESampler(seed=0),
            bench_study.continuous_space(), count,
        )  # fmt: skip
        optuna = bench_study.run_optuna("tpe", count, None)
        figures[f"tpe-{count}"] = (ours[1] / optuna[1], ours[1])  # the last 100 trials
    return figures


def burr_step() -> tuple[float, float]:
    import bench_burr

    rows = bench_burr.measure(steps=500, rounds=10)
    phyper_row = next(r for r in rows if r[0].startswith("PhyperPersister ("))
    return phyper_row[1] * 1e3, rows[2][1] * 1e3


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--tpe-trials", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="500 epochs, 1,000 / 200 trials")
    parser.add_argument("--dir", default=None, help="where to write (default: a temp folder)")
    options = parser.parse_args()
    if options.quick:
        options.epochs, options.trials, options.tpe_trials = 500, 1000, 200
    work = tempfile.mkdtemp(prefix="phyper-bench-loop-", dir=options.dir)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows: list[tuple[str, str, str, str]] = []
    try:
        # the sections least disturbed by the disk's writeback of the others go first; each
        # starts after a sync, so the files the previous one wrote are not flushed meanwhile
        os.sync()
        busy = bench_study.busy_fraction(os.path.join(work, "busy"), n_jobs=2, trials=100)
        rows.append(("workers busy, 50 ms trials, 2 processes", f"{busy:.2f}", ">= 0.97",
                     verdict(busy >= 0.97)))  # fmt: skip
        os.sync()
        ours, sqlite = burr_step()
        rows.append(("Burr step: PhyperPersister / SQLite WAL",
                     f"{ours / sqlite:.2f}x ({ours:.2f} / {sqlite:.2f} ms)", "<= 1.0x",
                     verdict(ours <= sqlite)))  # fmt: skip
        os.sync()
        epoch = per_epoch(os.path.join(work, "run"), options.epochs)
        rows.append(("tune.Run: Python work per epoch", f"{epoch['python_ms']:.3f} ms",
                     "<= 0.1 ms", verdict(epoch["python_ms"] <= 0.1)))  # fmt: skip
        ratio = epoch["durable_ms"] / epoch["floor_ms"]
        rows.append((
            "tune.Run durable / checkpoint + line by hand",
            f"{ratio:.2f}x ({epoch['durable_ms']:.2f} / {epoch['floor_ms']:.2f} ms)",
            "<= 1.3x", verdict(ratio <= 1.3),
        ))  # fmt: skip
        os.sync()
        trial = per_trial(os.path.join(work, "study"), options.trials, options.tpe_trials)
        for count in sorted({100, options.tpe_trials}):
            tpe_ratio, tpe_ms = trial[f"tpe-{count}"]
            rows.append((f"TPE / Optuna in-memory TPE, trials {count - 99}-{count}",
                         f"{tpe_ratio:.2f}x ({tpe_ms:.2f} ms)", "<= 1.1x",
                         verdict(tpe_ratio <= 1.1)))  # fmt: skip
        for name in ("random", "grid"):
            first, last = trial[name]
            rows.append((f"{name}: ms per trial, first / last 100 of {options.trials:,}",
                         f"{first:.2f} / {last:.2f} ms", "<= 0.3 ms, flat",
                         verdict(max(first, last) <= 0.3)))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print()
    print(f"| {'figure':<52} | {'measured':<28} | {'target':<16} | {'':<7} |")
    print(f"|{'-' * 54}|{'-' * 30}|{'-' * 18}|{'-' * 9}|")
    for figure, measured, target, met in rows:
        print(f"| {figure:<52} | {measured:<28} | {target:<16} | {met:<7} |")


if __name__ == "__main__":
    main()
