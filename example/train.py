"""Step 3: train a neural network epoch by epoch (one job per instance), through ``tune.Run``.

The run lives in the instance's hash folder: ``metrics.csv`` (one row per epoch, readable while
training goes on), ``run.json`` and ``checkpoints/``. Killed and started again, a training
continues after its last epoch; started again when finished, it does nothing. It stops at
``n_epochs`` or when the validation loss has not improved for ``patience`` epochs, and keeps the
best epoch's model. The rule's declared outputs (``model_weights.npz``, the best model, and
``training_metrics.csv``) are written once the run has finished, so Snakemake, which deletes the
outputs of an interrupted job, never deletes the run's own state.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd

import phyper
from example import data, paths
from example.config import Instance
from phyper import tune

PATIENCE = 15  # epochs without a better validation loss before a model stops


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, then deliver it.

    scikit-learn's ``partial_fit`` catches ``KeyboardInterrupt``, warns "Training interrupted
    by user" and returns as if the epoch were done: a Ctrl-C would be lost and the half-trained
    epoch reported. Held here, it reaches ``tune.Run`` between epochs, which marks the run
    interrupted at its last committed epoch.
    """
    previous = signal.getsignal(signal.SIGINT)
    # only the main thread may set handlers; an ignored SIGINT (an idle worker) stays ignored
    if threading.current_thread() is not threading.main_thread() or previous in (
        signal.SIG_IGN,
        None,
    ):
        yield
        return
    received: list[tuple[int, object]] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        if callable(previous):
            previous(*received[0])  # the default handler raises KeyboardInterrupt
        else:
            raise KeyboardInterrupt


def fit_one_epoch(model, features: np.ndarray, labels: np.ndarray) -> None:
    """One epoch of ``partial_fit``, with Ctrl-C delivered after it (see ``_ctrl_c_held``)."""
    with _ctrl_c_held():
        model.partial_fit(features, labels, classes=data.CLASSES)


def new_model(instance: Instance):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(instance.width,) * instance.n_hidden_layers,
        learning_rate_init=instance.learning_rate,
        batch_size=instance.batch_size,
        random_state=instance.seed,
    )


def save_checkpoint(model, path: str) -> None:
    """Weights, Adam's moments, the counters and the shuffling RNG: plain arrays in an ``.npz``
    (loading it runs no code, unlike a pickle)."""
    optimizer = model._optimizer  # scikit-learn keeps Adam's state here
    _, keys, position, has_gauss, gauss = model._random_state.get_state()
    arrays = {"counters": np.array([model.n_iter_, model.t_, optimizer.t], dtype=np.int64)}
    arrays["rng_keys"] = keys
    arrays["rng_rest"] = np.array([position, has_gauss, gauss], dtype=np.float64)
    for name, values in (
        ("coef", model.coefs_),
        ("intercept", model.intercepts_),
        ("adam_m", optimizer.ms),
        ("adam_v", optimizer.vs),
    ):
        arrays.update({f"{name}_{i}": array for i, array in enumerate(values)})
    with open(path, "wb") as stream:  # a file object: numpy adds no ".npz" to the name
        np.savez(stream, **arrays)


def checkpoint_loader(instance: Instance, features: np.ndarray, labels: np.ndarray):
    """``load(path)`` for ``run.restore``: a model in exactly the saved state."""

    def load(path: str):
        model = new_model(instance)
        # one step on one batch builds scikit-learn's structures; all of its state is replaced
        model.partial_fit(
            features[: instance.batch_size], labels[: instance.batch_size], classes=data.CLASSES
        )
        with np.load(path, allow_pickle=False) as saved:
            layers = len(model.coefs_)
            model.coefs_ = [saved[f"coef_{i}"] for i in range(layers)]
            model.intercepts_ = [saved[f"intercept_{i}"] for i in range(layers)]
            optimizer = model._optimizer
            optimizer.params = model.coefs_ + model.intercepts_
            optimizer.ms = [saved[f"adam_m_{i}"] for i in range(2 * layers)]
            optimizer.vs = [saved[f"adam_v_{i}"] for i in range(2 * layers)]
            model.n_iter_, model.t_, optimizer.t = (int(v) for v in saved["counters"])
            position, has_gauss, gauss = saved["rng_rest"]
            model._random_state.set_state(
                ("MT19937", saved["rng_keys"], int(position), int(has_gauss), float(gauss))
            )
        return model

    return load


def stop_condition(instance: Instance) -> tune.Condition:
    return tune.max_epochs(instance.n_epochs) | tune.patience("validation_loss", epochs=PATIENCE)


def fit_epochs(
    instance: Instance,
    features: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    evaluate: np.ndarray,
    evaluation_name: str,
):
    """Train with ``partial_fit`` for ``n_epochs`` epochs in memory (the best model's
    retraining, which is not resumed): the model and its learning curve."""
    rows = []
    model = new_model(instance)
    for epoch in range(1, instance.n_epochs + 1):
        fit_one_epoch(model, features[train], labels[train])
        rows.append({"epoch": epoch, **evaluate_model(model, features, labels, evaluate)})
    curve = pd.DataFrame(rows)
    curve.columns = [c.replace("validation", evaluation_name) for c in curve.columns]
    return model, curve


def evaluate_model(model, features: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, log_loss

    probabilities = model.predict_proba(features[rows])
    return {
        "train_loss": float(model.loss_),
        "validation_loss": float(log_loss(labels[rows], probabilities, labels=data.CLASSES)),
        "validation_accuracy": float(accuracy_score(labels[rows], probabilities.argmax(axis=1))),
    }


def train_model(
    instance: Instance,
    hooks: tuple[tune.Hook, ...] = (),
    stop: tune.Condition | None = None,
    gates: tuple[tune.Gate, ...] = (),
) -> tune.RunResult:
    arrays = data.load_arrays(paths.preprocessed_data(instance))
    features, labels = arrays["features"], arrays["labels"]
    train, validation = data.fold_masks(labels, instance.cv_k, instance.cv_fold)
    load = checkpoint_loader(instance, features[train], labels[train])
    stop = stop or stop_condition(instance)
    with tune.Run(instance, stop=stop, hooks=[tune.ProgressBar(), *hooks], gates=gates) as run:
        model = run.restore(load, otherwise=lambda: new_model(instance))
        for _ in run.epochs():
            fit_one_epoch(model, features[train], labels[train])
            run.report(**evaluate_model(model, features, labels, validation))
            run.checkpoint(model, save_checkpoint)
        if run.result.status == tune.COMPLETED:
            write_outputs(instance, run.restore(load, best=True))
    return run.result


def review_model(instance: Instance, after: int) -> tune.RunResult:
    """Train ``instance`` with a go/no-go gate after ``after`` epochs (``make demo``'s run in
    the decision queue); started again after the decision, it applies it."""
    from example.preprocess import ensure_preprocessed

    ensure_preprocessed(instance)
    Instance.generate_instance_info_files([instance])
    note = "look at the curves: train on to the end, or stop here?"
    gate = tune.Gate("review", tune.after_epoch(after), note=note)
    return train_model(instance, gates=(gate,))


def write_outputs(instance: Instance, best) -> None:
    """The rule's outputs, from the finished run: the best epoch's weights and the curve."""
    arrays = {f"coef_{i}": c for i, c in enumerate(best.coefs_)}
    arrays.update({f"intercept_{i}": b for i, b in enumerate(best.intercepts_)})
    data.save_arrays(paths.model_weights(instance), **arrays)
    with phyper.atomic_output(paths.training_metrics(instance)) as temporary:
        shutil.copyfile(paths.run_metrics(instance), temporary)


def save_table(table: pd.DataFrame, path: str) -> None:
    with phyper.atomic_output(path) as temporary:
        table.to_csv(temporary, index=False)
