"""Per-trial overhead of the search loop (``tune.Study``) with a no-op objective and durable
journal writes, at the first and the last 100 trials, beside Optuna's own ask/tell on the same
space in one run; and how busy the workers of a search of short trials are.

    python bench/bench_study.py [--trials 10000] [--tpe-trials 1000]

phyper's overhead per trial is the time between two calls of the objective (which does nothing
but record the time): asking the sampler, hashing the proposal, looking for it in the store,
the journal's flushed writes, the trial's result file. Optuna's is the time of one ask/tell
pair, in memory and with its journal file storage.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import tempfile
import time
import warnings

import phyper
from phyper import tune


class Bench(phyper.Parser):
    x = 1
    y = 1
    u = 0.5


def grid_space() -> dict[str, object]:
    return {"x": tune.integers(1, 100), "y": tune.integers(1, 100)}


def continuous_space() -> dict[str, object]:
    return {"u": tune.uniform(0.0, 1.0), "x": tune.integers(1, 100)}


def windows(stamps: list[float]) -> tuple[float, float]:
    """Median ms per trial over the first and the last 100 trials."""
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    first, last = gaps[:100], gaps[-100:]
    return statistics.median(first) * 1e3, statistics.median(last) * 1e3


def run_phyper(
    root: str, sampler: tune.BaseSampler, space: dict, trials: int
) -> tuple[float, float]:
    stamps: list[float] = []

    def objective(instance: Bench) -> float:
        stamps.append(time.perf_counter())
        return float(instance.x)

    study = tune.Study(
        Bench(hashed_resources_folder=root), f"bench-{type(sampler).__name__}-{trials}",
        space=space, metric="value", sampler=sampler,
    )  # fmt: skip
    study.optimize(objective, n_trials=trials)
    return windows(stamps)


def run_optuna(sampler_name: str, trials: int, storage: str | None) -> tuple[float, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler_name == "grid":
        sampler = optuna.samplers.GridSampler(
            {"x": list(range(1, 101)), "y": list(range(1, 101))}, seed=0
        )
    elif sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=0)
    else:
        sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(sampler=sampler, storage=storage)
    if sampler_name == "grid":
        distributions = {
            "x": optuna.distributions.IntDistribution(1, 100),
            "y": optuna.distributions.IntDistribution(1, 100),
        }
    else:
        distributions = {
            "u": optuna.distributions.FloatDistribution(0.0, 1.0),
            "x": optuna.distributions.IntDistribution(1, 100),
        }
    stamps = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(trials):
            stamps.append(time.perf_counter())
            trial = study.ask(distributions)
            study.tell(trial, float(trial.params["x"]))
    stamps.append(time.perf_counter())
    return windows(stamps)


def sleepy(instance: Bench) -> float:
    time.sleep(0.05)
    return float(instance.x)


def busy_fraction(root: str, n_jobs: int, trials: int) -> float:
    """busy time / (n_jobs x wall time) of a search of 50 ms trials on a process pool that was
    started beforehand (starting the workers is paid once, not per trial)."""
    import concurrent.futures as cf
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    with cf.ProcessPoolExecutor(n_jobs, mp_context=context) as pool:
        list(pool.map(time.sleep, [0.2] * n_jobs))  # every worker up
        study = tune.Study(
            Bench(hashed_resources_folder=root), "busy", space=grid_space(), metric="value",
            sampler=tune.RandomSampler(seed=0),
        )  # fmt: skip
        started = time.perf_counter()
        study.optimize(sleepy, n_trials=trials, n_jobs=n_jobs, executor=pool)
        wall = time.perf_counter() - started
    busy = study.trials_frame().duration.sum()
    return busy / (n_jobs * wall)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--trials", type=int, default=10_000)
    options.add_argument("--tpe-trials", type=int, default=1_000)
    options.add_argument("--dir", default=None)
    arguments = options.parse_args()
    work = tempfile.mkdtemp(dir=arguments.dir)
    n, n_tpe = arguments.trials, arguments.tpe_trials
    rows = []
    try:
        for name, sampler, space, count in (
            ("grid", tune.GridSampler(shuffle=True, seed=0), grid_space(), n),
            ("random", tune.RandomSampler(seed=0), continuous_space(), n),
            ("tpe", tune.TPESampler(seed=0), continuous_space(), n_tpe),
        ):
            ours = run_phyper(os.path.join(work, name), sampler, space, count)
            memory = run_optuna(name, min(count, n_tpe), None)
            journal_file = os.path.join(work, f"optuna-{name}.log")
            storage = __import__("optuna").storages.JournalStorage(
                __import__("optuna").storages.journal.JournalFileBackend(journal_file)
            )
            on_disk = run_optuna(name, min(count, n_tpe), storage)
            rows.append((name, count, ours, min(count, n_tpe), memory, on_disk))
        print("ms per trial, median over the first / last 100 trials (one run, this machine)")
        header = ("phyper (journal fsynced)", "Optuna in memory", "Optuna journal file")
        print(f"{'sampler':8s} {header[0]:>30s} {header[1]:>26s} {header[2]:>26s}")
        for name, count, ours, optuna_count, memory, on_disk in rows:
            print(
                f"{name:8s} {ours[0]:7.3f} -> {ours[1]:7.3f} ({count:>6,d})"
                f"    {memory[0]:7.3f} -> {memory[1]:7.3f} ({optuna_count:>5,d})"
                f"    {on_disk[0]:7.3f} -> {on_disk[1]:7.3f}"
            )
        tpe = next(r for r in rows if r[0] == "tpe")
        print(
            f"TPE through phyper / Optuna's own in-memory TPE: first 100 "
            f"{tpe[2][0] / tpe[4][0]:.2f}x, last 100 {tpe[2][1] / tpe[4][1]:.2f}x"
        )
        fraction = busy_fraction(os.path.join(work, "busy"), n_jobs=2, trials=100)
        print(f"workers busy, 2 processes, 100 trials of 50 ms: {fraction:.2f} of their time")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
