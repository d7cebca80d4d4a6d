"""Search efficiency: how many epochs a search trains before it finds a model as good as the
best any method finds, with successive halving against random search, median stopping and
Optuna's own TPE with its Hyperband pruner, on the same objective.

    python bench/bench_search_efficiency.py [--quick] [--seeds 10] [--budget 2000]
        [--only-seeds 0,1,2] [--save DIR]

``--save DIR`` keeps each seed's timelines there as it finishes (a rerun skips the seeds
already saved, and reports over every seed saved): two processes with ``--only-seeds`` split
the seeds between the cores, and either prints the table over all of them.

The objective: scikit-learn's 8x8 digits (``load_digits``, shipped with scikit-learn, nothing
downloaded), split in half per seed, an MLP trained epoch by epoch with ``partial_fit`` for up
to 100 epochs, over width, depth, learning rate and L2 alpha; the metric is the validation log
loss. Every phyper method trains through ``tune.Run`` (checkpointed per epoch, durable), in its
own store, one trial at a time, so the epochs are counted in the order they are trained.

Each method gets the same budget of epochs per seed. For each seed the target is the best
validation loss any method found, plus 1%; a method's figure is the number of epochs it had
trained when its best validation loss first came within that target (censored at the budget
when it never did). Printed: the median and the quartiles over the seeds, and on how many seeds
the method reached the target. Then the workers' busy fraction of a search with 2 processes.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import json
import multiprocessing
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
import typing
import warnings

# small matrices: one BLAS thread each (several threads per process only fight over the cores)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import phyper
from phyper import tune

MAX_EPOCHS = 100
CLASSES = np.arange(10)


class NonKeys:
    n_epochs = MAX_EPOCHS
    batch_size = 300


class Digits(phyper.Parser, NonKeys):
    seed = 0  # the split and the initial weights
    width = 32
    depth = 1
    learning_rate = 1e-3
    alpha = 1e-4


SPACE = {
    "width": tune.choice([16, 32, 64, 128]),
    "depth": tune.integers(1, 3),
    "learning_rate": tune.log_uniform(1e-4, 1e-1),
    "alpha": tune.log_uniform(1e-6, 1e-1),
}
HALVING = {"min_epochs": 1, "max_epochs": MAX_EPOCHS, "eta": 3}

_DATA: dict[int, tuple[np.ndarray, ...]] = {}
TIMELINE: list[float] = []  # the validation loss of every epoch trained, in order (n_jobs=1)
BUDGET = [0]  # the epochs a method may train (0: no limit); the objective raises once spent


class BudgetSpent(Exception):
    """The method trained its budget of epochs: the search ends here."""


def data(seed: int) -> tuple[np.ndarray, ...]:
    if seed not in _DATA:
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        order = np.random.default_rng(seed).permutation(len(x))
        half = len(x) // 2
        x = x / 16.0
        _DATA[seed] = (x[order[:half]], y[order[:half]], x[order[half:]], y[order[half:]])
    return _DATA[seed]


def new_model(instance: Digits):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(instance.width,) * instance.depth,
        learning_rate_init=instance.learning_rate,
        alpha=instance.alpha,
        batch_size=instance.batch_size,
        random_state=instance.seed,
    )


def fit_epoch(model, instance: Digits) -> float:
    """One epoch of ``partial_fit``; the validation log loss after it."""
    from sklearn.metrics import log_loss

    x, y, xv, yv = data(instance.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(x, y, classes=CLASSES)
        return float(log_loss(yv, model.predict_proba(xv), labels=CLASSES))


def save(model, path: str) -> None:
    """Weights, Adam's state, counters and the shuffling generator: plain arrays."""
    optimizer = model._optimizer
    _, keys, position, has_gauss, gauss = model._random_state.get_state()
    arrays = {
        "counters": np.array([model.n_iter_, model.t_, optimizer.t], dtype=np.int64),
        "rng_keys": keys,
        "rng_rest": np.array([position, has_gauss, gauss], dtype=np.float64),
    }
    for name, values in (("coef", model.coefs_), ("intercept", model.intercepts_),
                         ("m", optimizer.ms), ("v", optimizer.vs)):  # fmt: skip
        arrays.update({f"{name}_{i}": a for i, a in enumerate(values)})
    with open(path, "wb") as stream:
        np.savez(stream, **arrays)


def loader(instance: Digits):
    def load(path: str):
        model = new_model(instance)
        x, y, _, _ = data(instance.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(x[:10], y[:10], classes=CLASSES)  # builds the structures
        with np.load(path, allow_pickle=False) as saved:
            layers = len(model.coefs_)
            model.coefs_ = [saved[f"coef_{i}"] for i in range(layers)]
            model.intercepts_ = [saved[f"intercept_{i}"] for i in range(layers)]
            optimizer = model._optimizer
            optimizer.params = model.coefs_ + model.intercepts_
            optimizer.ms = [saved[f"m_{i}"] for i in range(2 * layers)]
            optimizer.vs = [saved[f"v_{i}"] for i in range(2 * layers)]
            model.n_iter_, model.t_, optimizer.t = (int(v) for v in saved["counters"])
            position, has_gauss, gauss = saved["rng_rest"]
            model._random_state.set_state(
                ("MT19937", saved["rng_keys"], int(position), int(has_gauss), float(gauss))
            )
        return model

    return load


def train(instance: Digits, stop: tune.Condition) -> tune.RunResult:
    """The objective of every phyper method: one run, resumed from its checkpoint."""
    with tune.Run(instance, stop=stop, monitor="validation_loss") as run:
        model = run.restore(loader(instance)) or new_model(instance)
        for _ in run.epochs():
            if BUDGET[0] and len(TIMELINE) >= BUDGET[0]:
                raise BudgetSpent
            loss = fit_epoch(model, instance)
            TIMELINE.append(loss)
            run.report(validation_loss=loss)
            run.checkpoint(model, save)
    return run.result


class Objective:
    """Picklable: ``train`` with the method's stop condition."""

    def __init__(self, study: str | None, root: str) -> None:
        self.study, self.root = study, root

    def __call__(self, instance: Digits) -> tune.RunResult:
        stop: tune.Condition = tune.max_epochs(MAX_EPOCHS)
        if self.study is not None:
            stop = stop | tune.median_stop(
                "validation_loss", study=self.study, root=self.root, warmup_epochs=10
            )
        return train(instance, stop)


def phyper_method(
    name: str, seed: int, work: str, n_jobs: int = 1, n_trials: int = 100_000
) -> tune.Study:
    root = os.path.join(work, f"{name}-{seed}")
    sampler = tune.TPESampler(seed=seed) if "tpe" in name else tune.RandomSampler(seed=seed)
    halving = name.startswith("halving")
    study = tune.Study(
        Digits(hashed_resources_folder=root, seed=seed), name, space=SPACE,
        metric="validation_loss", sampler=sampler,
        scheduler=tune.SuccessiveHalving(**HALVING) if halving else None,
        max_consecutive_failures=1,  # BudgetSpent ends the search at once
    )  # fmt: skip
    median = "median" in name
    objective = Objective(name if median else None, root)
    try:
        study.optimize(objective, n_trials=n_trials, n_jobs=n_jobs)
    except tune.StudyError:
        if len(TIMELINE) < BUDGET[0] and n_jobs == 1:
            raise
    return study


def optuna_hyperband(seed: int) -> None:
    """Optuna's TPESampler with its HyperbandPruner, in memory: a pruned trial is killed."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # not the BudgetSpent of the last trial

    def objective(trial: optuna.Trial) -> float:
        instance = Digits(
            seed=seed,
            width=trial.suggest_categorical("width", [16, 32, 64, 128]),
            depth=trial.suggest_int("depth", 1, 3),
            learning_rate=trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
            alpha=trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
        )
        model = new_model(instance)
        best = np.inf
        for epoch in range(1, MAX_EPOCHS + 1):
            if BUDGET[0] and len(TIMELINE) >= BUDGET[0]:
                raise BudgetSpent
            loss = fit_epoch(model, instance)
            TIMELINE.append(loss)
            best = min(best, loss)
            trial.report(loss, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned
        return best

    pruner = optuna.pruners.HyperbandPruner(
        min_resource=HALVING["min_epochs"], max_resource=MAX_EPOCHS,
        reduction_factor=HALVING["eta"],
    )  # fmt: skip
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
    with contextlib.suppress(BudgetSpent):
        study.optimize(objective, n_trials=100_000)


METHODS = {
    "random": "random search",
    "random-median": "random + median_stop",
    "tpe-median": "TPE + median_stop",
    "halving-random": "successive halving + random",
    "halving-tpe": "successive halving + TPE",
    "optuna-hyperband": "Optuna TPE + HyperbandPruner",
}


def run_method(method: str, seed: int, work: str, budget: int) -> list[float]:
    TIMELINE.clear()
    BUDGET[0] = budget
    if method == "optuna-hyperband":
        optuna_hyperband(seed)
    else:
        phyper_method(method, seed, work)
    return list(TIMELINE)


def epochs_to(timeline: list[float], target: float) -> int | None:
    best = np.minimum.accumulate(np.asarray(timeline))
    hits = np.nonzero(best <= target)[0]
    return int(hits[0]) + 1 if len(hits) else None


def busy_fraction(method: str, work: str, n_trials: int) -> tuple[float, int]:
    """busy / (2 x wall) of a search on 2 processes started beforehand; and its epochs."""
    BUDGET[0] = 0  # each worker process has its own counter: no budget there
    context = multiprocessing.get_context("forkserver")
    with cf.ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(time.sleep, [0.2, 0.2]))  # both workers up before the clock starts
        root = os.path.join(work, f"busy-{method}")
        sampler = tune.RandomSampler(seed=0)
        halving = method.startswith("halving")
        study = tune.Study(
            Digits(hashed_resources_folder=root), method, space=SPACE,
            metric="validation_loss", sampler=sampler,
            scheduler=tune.SuccessiveHalving(**HALVING) if halving else None,
        )  # fmt: skip
        objective = Objective(None if halving else method, root)
        start = time.perf_counter()
        study.optimize(objective, n_trials=n_trials, n_jobs=2, executor=pool)
        wall = time.perf_counter() - start
    busy = float(np.nansum([t.duration or 0.0 for t in study.trials]))
    epochs = sum(tune.load_result(study.instance(t.params)).epochs for t in study.trials)
    return busy / (2 * wall), epochs


def _seed_file(folder: str, seed: int, budget: int) -> str:
    return os.path.join(folder, f"seed-{seed}-budget-{budget}.json")


def _saved(folder: str | None, seed: int, budget: int) -> dict[str, list[float]] | None:
    if folder is None or not os.path.exists(_seed_file(folder, seed, budget)):
        return None
    with open(_seed_file(folder, seed, budget)) as stream:
        return typing.cast("dict[str, list[float]]", json.load(stream))


def _saved_seeds(folder: str | None, budget: int) -> list[int]:
    if folder is None or not os.path.isdir(folder):
        return []
    suffix = f"-budget-{budget}.json"
    return [
        int(name[len("seed-") : -len(suffix)])
        for name in os.listdir(folder)
        if name.startswith("seed-") and name.endswith(suffix)
    ]


def _save(folder: str | None, seed: int, budget: int, timelines: dict[str, list[float]]) -> None:
    if folder is not None:
        os.makedirs(folder, exist_ok=True)
        with phyper.atomic_output(_seed_file(folder, seed, budget)) as temporary:
            pathlib.Path(temporary).write_text(json.dumps(timelines))


def equal_quality(timelines: dict[str, list[list[float]]], methods: list[str], budget: int) -> None:
    """At equal final quality: the epochs each method trains until its best validation loss is
    as good as the best that random + median_stop finds with the whole budget, per seed; and
    the ratio to random + median_stop's own epochs to get there (the issue's target: 0.5x)."""
    base = timelines["random-median"]
    print()
    print("epochs until the best validation loss is as good as random + median_stop's best")
    print(f"at the budget (median [quartiles]; censored at {budget}); ratio to its own epochs")
    print(f"{'method':<32}{'median':>8}  {'quartiles':<14}{'reached':>9}{'ratio':>8}")
    for method in methods:
        figures, ratios, reached = [], [], 0
        for seed, timeline in enumerate(timelines[method]):
            target = min(base[seed])
            found = epochs_to(timeline, target)
            own = epochs_to(base[seed], target) or budget
            reached += found is not None
            figures.append(float(found if found is not None else budget))
            ratios.append(figures[-1] / own)
        q1, q2, q3 = quartiles(figures)
        ratio = statistics.median(ratios)
        print(
            f"{METHODS[method]:<32}{q2:>8.0f}  [{q1:>4.0f}, {q3:>4.0f}]  "
            f"{reached:>4}/{len(figures)}{ratio:>7.2f}x"
        )


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return float(q1), float(q2), float(q3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds, a budget of 200 epochs")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=2000, help="epochs per method and seed")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--skip-busy", action="store_true")
    parser.add_argument("--busy-trials", type=int, default=40, help="halving configurations")
    parser.add_argument("--dir", help="where the stores go (default: /dev/shm, else /tmp)")
    parser.add_argument("--only-seeds", help="comma-separated seeds this process trains")
    parser.add_argument("--save", help="a folder keeping each seed's timelines (resumable)")
    parser.add_argument("--redo", default="", help="methods to run again even if saved")
    options = parser.parse_args()
    seeds = 3 if options.quick else options.seeds
    budget = 200 if options.quick else options.budget
    mine = (
        [int(seed) for seed in options.only_seeds.split(",")]
        if options.only_seeds
        else list(range(seeds))
    )
    methods = options.methods.split(",")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{seeds} seeds, {budget} epochs per method and seed, up to {MAX_EPOCHS} per model")
    # the stores on tmpfs where there is one: the figures are epochs, and a shared machine's
    # disk flushes would only make the run longer
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    work = tempfile.mkdtemp(prefix="phyper-bench-efficiency-", dir=options.dir or shm)
    started = time.perf_counter()
    try:
        timelines: dict[str, list[list[float]]] = {m: [] for m in methods}
        for seed in mine:
            saved = _saved(options.save, seed, budget) or {}
            redo = {m for m in methods if m not in saved} | set(
                filter(None, options.redo.split(","))
            )
            if redo:
                saved.update({m: run_method(m, seed, work, budget) for m in sorted(redo)})
                _save(options.save, seed, budget, saved)
            best = min(min(saved[m]) for m in methods)
            line = ", ".join(f"{m} {min(saved[m]):.4f}" for m in methods)
            print(f"seed {seed}: best validation loss {best:.4f} ({line})", flush=True)
        done = sorted({*mine, *_saved_seeds(options.save, budget)})
        for seed in done:
            saved = _saved(options.save, seed, budget) or {}
            if set(saved) >= set(methods):
                for method in methods:
                    timelines[method].append(saved[method])
        seeds = len(timelines[methods[0]])
        print()
        print("epochs until the best validation loss is within 1% of the best of all methods")
        print(f"(median [quartiles] over {seeds} seeds; censored at the budget of {budget})")
        header = f"{'method':<32}{'median':>8}  {'quartiles':<14}{'reached':>9}{'best loss':>11}"
        print(header)
        reference: dict[str, float] = {}
        for method in methods:
            figures, reached = [], 0
            for seed in range(seeds):
                target = 1.01 * min(min(timelines[m][seed]) for m in methods)
                found = epochs_to(timelines[method][seed], target)
                reached += found is not None
                figures.append(float(found if found is not None else budget))
            q1, q2, q3 = quartiles(figures)
            reference[method] = q2
            best = statistics.median(min(t) for t in timelines[method])
            print(
                f"{METHODS[method]:<32}{q2:>8.0f}  [{q1:>4.0f}, {q3:>4.0f}]  "
                f"{reached:>4}/{seeds}{best:>11.4f}"
            )
        if "random-median" in timelines:
            equal_quality(timelines, methods, budget)
        print(f"({time.perf_counter() - started:.0f} s)")
        if not options.skip_busy:
            print()
            busy_runs = (("halving-random", options.busy_trials),
                         ("random-median", max(2, options.busy_trials // 8)))  # fmt: skip
            for method, n_trials in busy_runs:
                fraction, epochs = busy_fraction(method, work, n_trials)
                print(
                    f"workers busy, 2 processes, {METHODS[method]} ({n_trials} configurations, "
                    f"{epochs} epochs): {fraction:.2f} of their time"
                )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
