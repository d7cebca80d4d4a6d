"""A search over the tiny trainer's key hyperparameters, for the study tests; also a script, so
a driver can run (and be killed) in a real subprocess:

    python tests/tune/search.py ROOT NAME N_TRIALS N_JOBS [--sampler random|grid|tpe]
        [--gate AFTER_TRIALS] [--halving]

``SEARCH_SLEEP`` in the environment slows each epoch (seconds), so a kill lands mid-trial.
``--halving`` runs successive halving (rungs at 1, 2, 4, 8 epochs). Exit codes: 0 done, 3 the
study awaits a decision.
"""

from __future__ import annotations

import argparse
import os
import sys

if __name__ == "__main__":  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from phyper import tune
from tests.tune.trainer import make_instance, train

SPACE = {"lr": tune.log_uniform(0.01, 0.3), "seed": tune.integers(0, 3)}


def objective(instance) -> tune.RunResult:
    """Train through tune.Run (checkpointed per epoch), as users do."""
    result, _ = train(instance, sleep=float(os.environ.get("SEARCH_SLEEP", "0")))
    return result


def plain_objective(instance) -> dict[str, float]:
    """No tune.Run: a pure function of the hyperparameters."""
    return {"loss": (instance.lr - 0.1) ** 2 + 0.01 * instance.seed, "other": 1.0}


def failing_objective(instance) -> float:
    if instance.seed % 2:
        raise ValueError(f"odd seed {instance.seed}")
    return instance.lr


def always_failing(instance) -> float:
    raise ValueError("broken objective")


def sampler(name: str) -> tune.BaseSampler:
    if name == "grid":
        return tune.GridSampler(shuffle=True, seed=0)
    if name == "tpe":
        return tune.TPESampler(seed=0)
    return tune.RandomSampler(seed=0)


HALVING = {"min_epochs": 1, "max_epochs": 8, "eta": 2}


def make_study(
    root: str, name: str, sampler_name: str = "random", halving: bool = False
) -> tune.Study:
    parser = make_instance(root, n_epochs=8)
    scheduler = tune.SuccessiveHalving(**HALVING) if halving else None
    return tune.Study(
        parser, name, space=SPACE, metric="validation_loss", sampler=sampler(sampler_name),
        scheduler=scheduler,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("name")
    parser.add_argument("n_trials", type=int)
    parser.add_argument("n_jobs", type=int)
    parser.add_argument("--sampler", default="random")
    parser.add_argument("--gate", type=int)
    parser.add_argument("--halving", action="store_true")
    options = parser.parse_args()
    study = make_study(options.root, options.name, options.sampler, options.halving)
    gates = [tune.StudyGate("review", options.gate)] if options.gate else []
    study.optimize(objective, options.n_trials, n_jobs=options.n_jobs, gates=gates)
    print(len(study.finished_trials), study.awaiting or "", flush=True)
    return 3 if study.awaiting else 0


if __name__ == "__main__":
    sys.exit(main())
