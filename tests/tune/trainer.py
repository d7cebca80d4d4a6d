"""A tiny deterministic trainer for the tune tests: linear regression by minibatch gradient
descent in numpy, whose weights are the checkpoint. Also runnable as a script, so crash and gate
tests can train in real subprocesses:

    python tests/tune/trainer.py ROOT N_EPOCHS [--gate EPOCH] [--sleep SECONDS] [--lr LR]

Exit codes of the script: 0 completed, 3 awaiting a decision, 4 stopped by a no-go, 5 failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable

import numpy as np

if __name__ == "__main__":  # run as a script: make the worktree importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import phyper
from phyper import tune


class NonKeys:
    n_epochs = 20


class Declaration(phyper.Parser, NonKeys):
    seed = 0
    lr = 0.1


EXIT_CODES = {tune.COMPLETED: 0, tune.AWAITING_DECISION: 3, tune.STOPPED: 4, tune.FAILED: 5}


def make_instance(root: str, **values: object) -> Declaration:
    return Declaration(hashed_resources_folder=root, **values)


def data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(80, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=80)
    return x[:60], y[:60], x[60:], y[60:]


def new_model(instance: Declaration) -> np.ndarray:
    return np.zeros(3)


def fit_one_epoch(w: np.ndarray, instance: Declaration, epoch: int) -> np.ndarray:
    """One epoch of minibatch descent; the batches depend on (seed, epoch) only, so a replayed
    epoch is bit-identical to the original."""
    x, y, _, _ = data(instance.seed)
    rng = np.random.default_rng([instance.seed, epoch])
    for batch in np.array_split(rng.permutation(len(x)), 4):
        gradient = 2 * x[batch].T @ (x[batch] @ w - y[batch]) / len(batch)
        w = w - instance.lr * gradient
    return w


def metrics(w: np.ndarray, instance: Declaration) -> dict[str, float]:
    x, y, xv, yv = data(instance.seed)
    return {
        "train_loss": float(np.mean((x @ w - y) ** 2)),
        "validation_loss": float(np.mean((xv @ w - yv) ** 2)),
    }


def save_model(w: np.ndarray, path: str) -> None:
    with open(path, "wb") as stream:  # numpy.save would append .npy to a bare path
        np.save(stream, w, allow_pickle=False)


def load_model(path: str) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def train(
    instance: Declaration,
    *,
    stop: tune.Condition | None = None,
    hooks: Iterable[tune.Hook] = (),
    gates: Iterable[tune.Gate] = (),
    checkpoint_every: int = 1,
    sleep: float = 0.0,
    fail_at: int | None = None,
) -> tuple[tune.RunResult, np.ndarray]:
    """Train (or resume) ``instance``; returns the result and the final weights."""
    if stop is None:
        stop = tune.max_epochs(instance.n_epochs)
    with tune.Run(
        instance, stop=stop, hooks=hooks, gates=gates, checkpoint_every=checkpoint_every
    ) as run:
        w = run.restore(load_model)
        if w is None:
            w = new_model(instance)
        for epoch in run.epochs():
            w = fit_one_epoch(w, instance, epoch)
            if sleep:
                time.sleep(sleep)
            if epoch == fail_at:
                raise RuntimeError(f"boom at epoch {epoch}")
            run.report(**metrics(w, instance))
            run.checkpoint(w, save_model)
    return run.result, w


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("n_epochs", type=int)
    parser.add_argument("--gate", type=int)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--hold", action="store_true", help="hold the lock until stdin closes")
    options = parser.parse_args()
    instance = make_instance(options.root, n_epochs=options.n_epochs)
    if options.hold:
        with tune.Run(instance):
            print("holding", flush=True)
            sys.stdin.read()
        return 0
    gates = [tune.Gate("review", tune.after_epoch(options.gate))] if options.gate else []
    result, _ = train(instance, gates=gates, sleep=options.sleep)
    print(result.status.value, result.epochs, flush=True)
    return EXIT_CODES[result.status]


if __name__ == "__main__":
    sys.exit(main())
