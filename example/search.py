"""The search: where to look next, decided from the results so far (``tune.Study``).

    python -m example tune [--sweep FILE] [--sampler tpe|random|grid|asha-tpe|asha-random]
        [--n-trials N] [--n-jobs J] [--seeds S]

Trials are instances of the sweep file's ``search:`` space (with its ``fixed:`` values, fold 0),
each trained by the train step's ``tune.Run`` in its own hash folder, and stopped early when its
validation loss is worse than the median of the study's finished trials at the same epoch. The
grid's results on disk are prior knowledge for the sampler, and a proposal the grid (or another
study) already trained is answered from the store. The trials table is written to
``results/search/<sampler>.csv``.

One seed says little about a sampler: ``--seeds S`` runs the same search with the sampler's
seeds 0 to S-1, one study after another (``iris-<sampler>``, then ``iris-<sampler>-seed1``, ...;
tables ``<sampler>.csv``, ``<sampler>-seed1.csv``, ...). The seeds share the store, so a later
one knows (and is answered from) what the earlier ones trained.

The ``asha-`` samplers search by asynchronous successive halving instead of median stopping:
each trial's run pauses at rungs of 3, 9, 27, 81 epochs (then ``n_epochs``), and the best third
of each rung is promoted, resuming its run from the checkpoint.
"""

from __future__ import annotations

import functools
import json

import yaml

import phyper
from example import config, paths
from example.config import Instance
from example.preprocess import ensure_preprocessed
from example.train import PATIENCE, train_model
from phyper import tune

SAMPLERS = ("tpe", "random", "grid", "asha-tpe", "asha-random")
HALVING = "asha-"  # the prefix of the samplers searched by successive halving


def objective(instance: Instance, study: str, root: str) -> tune.RunResult:
    """One trial: the train step's run, with early stopping against the study's peers."""
    ensure_preprocessed(instance)
    stop = (
        tune.max_epochs(instance.n_epochs)
        | tune.patience("validation_loss", epochs=PATIENCE)
        | tune.median_stop("validation_loss", study=study, root=root, warmup_epochs=10)
    )
    return train_model(instance, stop=stop)


def halving_objective(instance: Instance) -> tune.RunResult:
    """One trial of a successive-halving search: the train step's run as it is; the study's
    epoch budget pauses it at each rung (no median stopping: the rungs do that job)."""
    ensure_preprocessed(instance)
    return train_model(instance)


def scheduler_for(n_epochs: int) -> tune.SuccessiveHalving:
    """Rungs at 3, 9, 27, 81 epochs and ``n_epochs`` (from 1 epoch when it is small)."""
    return tune.SuccessiveHalving(min_epochs=3 if n_epochs >= 27 else 1, max_epochs=n_epochs, eta=3)


def sampler_named(name: str, seed: int = 0) -> tune.BaseSampler:
    name = name.removeprefix(HALVING)
    if name == "tpe":
        return tune.TPESampler(seed=seed)
    if name == "random":
        return tune.RandomSampler(seed=seed)
    if name == "grid":
        return tune.GridSampler(shuffle=True, seed=seed, points=3)
    raise ValueError(f"sampler {name!r}: expected one of {list(SAMPLERS)}")


def seed_suffix(seed: int) -> str:
    """How a seed's study and table are told apart from seed 0's (which keeps the plain name)."""
    return f"-seed{seed}" if seed else ""


def run_search(
    sweep: str, sampler: str, n_trials: int, n_jobs: int, name: str | None = None, seed: int = 0
) -> tune.Study:
    parser = config.make_parser()
    name = name or f"iris-{sampler}{seed_suffix(seed)}"
    halving = sampler.startswith(HALVING)
    options: dict[str, object] = {}
    if halving:
        with open(config.resolve(sweep), encoding="utf-8") as stream:
            fixed = yaml.safe_load(stream).get("fixed") or {}
        n_epochs = parser.replace(**fixed).n_epochs
        options["scheduler"] = scheduler_for(n_epochs)
    study = tune.Study.from_yaml(
        parser, name, config.resolve(sweep), metric="validation_loss",
        sampler=sampler_named(sampler, seed), **options,
    )  # fmt: skip
    root = parser.hashed_resources_folder
    trial = halving_objective if halving else functools.partial(objective, study=name, root=root)
    study.optimize(trial, n_trials=n_trials, n_jobs=n_jobs)
    default = f"iris-{sampler}{seed_suffix(seed)}"
    label = f"{sampler}{seed_suffix(seed)}" if name == default else name
    with phyper.atomic_output(paths.search_trials(label)) as temporary:
        study.trials_frame().to_csv(temporary, index=False)
    best = study.best_trial
    summary = {
        "study": name,
        "best_value": best.value,
        "best_hash": best.hash,
        "best_hyperparameters": best.params,
        "trials": len(study.trials),
        "answered_from_store": study.answered_from_store,
        "prior_knowledge": study.prior_knowledge,
    }
    with phyper.atomic_output(paths.search_best(label)) as temporary, open(temporary, "w") as out:
        json.dump(summary, out, indent=2, default=str)
    return study


def describe(study: tune.Study) -> str:
    best = study.best_trial
    paused = sum(t.state == "paused" for t in study.trials)
    trials = f"{len(study.finished_trials)} trials" + (
        f" (+{paused} paused at a rung)" if paused else ""
    )
    return (
        f"{study.name}: {trials} ({study.answered_from_store} answered "
        f"from the store, {study.prior_knowledge} results known beforehand); best "
        f"{study.metric} {best.value:.4f} at {best.params} ({best.hash})"
    )
