"""The Iris model trained as an Apache Burr application, on phyper's store (``phyper[burr]``).

The application is the one sketched at the end of the source document (``process_data`` ->
``train_model`` -> ``validate_model`` -> back to ``train_model``, or on to ``best_model`` once
``iterations`` reaches the limit), with every TODO filled in:

- ``process_data`` loads the instance's preprocessed data and keeps its cross-validation fold
  (two boolean arrays, stored as ``.npy`` beside the state);
- ``train_model`` runs one epoch of ``partial_fit`` from the last checkpoint and saves the new
  one (``example.train``'s ``.npz``: weights, Adam's moments, the shuffling RNG); the state keeps
  its path, never the model (the source appended models to ``models``, a field its ``writes``
  did not declare, so it could not run);
- ``validate_model`` appends the epoch's metrics to ``validation_metrics``, the history that
  phyper's conditions read, and tracks the best epoch;
- ``best_model`` keeps the best epoch's checkpoint and records why training stopped.

One application per instance, its hash as the application id, in the instance's hash folder
(``burr_state.a.json`` and ``.b.json``, ``burr_states.jsonl``, ``burr_arrays/``,
``burr_checkpoints/``, and ``run.json`` with the application's status; if ``train-model``
trained the same instance there, ``run.json`` is its ``tune.Run``'s and stays so, and the
review gate is refused). Training stops at ``n_epochs`` (the
source's ``iterations`` limit) or after ``PATIENCE`` epochs without a better validation loss (a
phyper condition as a Burr transition). Killed at any moment and started again, the application
resumes at the action after its last committed step.

    python -m example burr-train --hash H [--sweep FILE] [--review-after EPOCHS]

The command transforms and preprocesses the data itself when the instance's preprocessed data
is missing (the same functions as the workflow's rules). With ``--review-after N`` the
application halts before a ``review`` gate after epoch N; the command then exits with code 3
until ``phyper decide H --go`` (or ``--no-go``) is recorded, and the next start passes the
decision in as the gate's input.
"""

from __future__ import annotations

import contextlib
import os
import typing

import numpy as np

import phyper
from example import data, paths
from example.config import Instance
from example.preprocess import ensure_preprocessed
from example.train import (
    PATIENCE,
    checkpoint_loader,
    evaluate_model,
    fit_one_epoch,
    new_model,
    save_checkpoint,
)
from phyper import tune

if typing.TYPE_CHECKING:
    from burr.core import Application, State

CHECKPOINTS = "burr_checkpoints"
GATE = "review"
HISTORY = "validation_metrics"  # the state field phyper's conditions read


def _checkpoint_name(epoch: int) -> str:
    return f"{CHECKPOINTS}/epoch-{epoch:06d}.npz"


def build_application(
    instance: Instance, *, review_after: int | None = None, hooks: typing.Sequence = ()
) -> Application:
    """The application of one instance, resumed from its folder if it ran before."""
    from burr.core import ApplicationBuilder, action, default, expr

    from phyper.integrations.burr import PhyperPersister, TuneHooks, stop_condition_for_burr

    folder = instance.get_resources_path()

    @action(reads=["data_path"], writes=["train_rows", "validation_rows"])
    def process_data(state: State) -> State:
        """Load the preprocessed data and choose the fold: the rows, as arrays in the state."""
        labels = data.load_arrays(state["data_path"])["labels"]
        train, validation = data.fold_masks(labels, instance.cv_k, instance.cv_fold)
        return state.update(train_rows=train, validation_rows=validation)

    def load_arrays(state: State) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arrays = data.load_arrays(state["data_path"])
        return arrays["features"], arrays["labels"], state["train_rows"]

    @action(
        reads=["data_path", "train_rows", "iterations", "checkpoint", "best_checkpoint"],
        writes=["iterations", "checkpoint", "train_loss", "training_metrics"],
    )
    def train_model(state: State) -> State:
        """One epoch of ``partial_fit`` from the last checkpoint; the new checkpoint's path
        goes into the state."""
        features, labels, train = load_arrays(state)
        # files the committed state no longer names: replaced or replayed epochs
        keep = {state["checkpoint"], state["best_checkpoint"]}
        with (
            contextlib.suppress(FileNotFoundError),
            os.scandir(os.path.join(folder, CHECKPOINTS)) as entries,
        ):
            for entry in entries:
                if f"{CHECKPOINTS}/{entry.name}" not in keep:
                    os.unlink(entry.path)
        if state["checkpoint"] is None:
            model = new_model(instance)
        else:
            load = checkpoint_loader(instance, features[train], labels[train])
            model = load(os.path.join(folder, state["checkpoint"]))
        fit_one_epoch(model, features[train], labels[train])
        epoch = state["iterations"] + 1
        name = _checkpoint_name(epoch)
        with phyper.atomic_output(os.path.join(folder, name)) as temporary:
            save_checkpoint(model, temporary)
        loss = float(model.loss_)
        state = state.update(iterations=epoch, checkpoint=name, train_loss=loss)
        return state.append(training_metrics={"epoch": epoch, "train_loss": loss})

    @action(
        reads=["data_path", "train_rows", "validation_rows", "checkpoint", "best_value"],
        writes=[HISTORY, "best_epoch", "best_value", "best_checkpoint"],
    )
    def validate_model(state: State) -> State:
        """The epoch's validation metrics, appended to the history; the best epoch so far."""
        features, labels, train = load_arrays(state)
        load = checkpoint_loader(instance, features[train], labels[train])
        model = load(os.path.join(folder, state["checkpoint"]))
        metrics = evaluate_model(model, features, labels, state["validation_rows"])
        state = state.append(**{HISTORY: metrics})
        if state["best_value"] is None or metrics["validation_loss"] < state["best_value"]:
            state = state.update(
                best_epoch=len(state[HISTORY]),
                best_value=metrics["validation_loss"],
                best_checkpoint=state["checkpoint"],
            )
        return state

    @action(reads=[], writes=["decision", "decision_note"])
    def review(state: State, decision: str, note: str | None = None) -> State:
        """The human go/no-go gate: its inputs are the decision `phyper decide` recorded."""
        return state.update(decision=decision, decision_note=note)

    @action(
        reads=[HISTORY, "best_epoch", "best_checkpoint", "iterations", "decision"],
        writes=["best_model", "stopped_by"],
    )
    def best_model(state: State) -> State:
        """Keep the best epoch's checkpoint, and say why training stopped."""
        fired = stop.check(tune.History.from_records(state[HISTORY]))
        if state["decision"] == "no-go":
            why = f"no-go at gate {GATE}"
        else:
            why = fired.reason if fired is not None else "iterations limit"
        return state.update(best_model=state["best_checkpoint"], stopped_by=why)

    stop = tune.max_epochs(instance.n_epochs) | tune.patience("validation_loss", epochs=PATIENCE)
    limit = expr(f"iterations >= {instance.n_epochs}")  # the source's limit, on n_epochs
    patience = stop_condition_for_burr(
        tune.patience("validation_loss", epochs=PATIENCE), history_key=HISTORY
    )
    transitions: list[tuple] = [
        ("process_data", "train_model", default),
        ("train_model", "validate_model", default),
        ("validate_model", "best_model", limit | patience),
    ]
    if review_after is not None:
        at_review = stop_condition_for_burr(tune.after_epoch(review_after), history_key=HISTORY)
        transitions += [
            ("validate_model", GATE, at_review & expr("decision is None")),
            (GATE, "train_model", expr("decision == 'go'")),
            (GATE, "best_model", default),
        ]
    transitions.append(("validate_model", "train_model", default))

    persister = PhyperPersister.for_instances([instance])
    builder = (
        ApplicationBuilder()
        .with_actions(
            process_data=process_data,
            train_model=train_model,
            validate_model=validate_model,
            review=review,
            best_model=best_model,
        )
        .with_transitions(*transitions)
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={
                "data_path": paths.preprocessed_data(instance),
                "iterations": 0,
                "train_rows": None,
                "validation_rows": None,
                "checkpoint": None,
                "train_loss": None,
                "training_metrics": [],
                HISTORY: [],
                "best_epoch": None,
                "best_value": None,
                "best_checkpoint": None,
                "decision": None,
                "decision_note": None,
                "best_model": None,
                "stopped_by": None,
            },
            default_entrypoint="process_data",
        )
        .with_state_persister(persister)
        .with_identifiers(app_id=instance.get_instance_hash())
    )
    if hooks:
        builder = builder.with_hooks(
            TuneHooks(hooks, epoch_action="validate_model", history_key=HISTORY, stop=stop)
        )
    return builder.build()


def train_with_burr(
    instance: Instance, *, review_after: int | None = None, hooks: typing.Sequence = ()
) -> dict[str, typing.Any]:
    """Run (or resume) the instance's application until ``best_model`` or the review gate.

    Returns ``{"status": "completed" | "awaiting_decision" | "stopped", "state": <final state
    dict>}``; the folder's ``run.json`` says the same (``phyper runs`` lists it), and says
    ``interrupted`` after Ctrl-C.
    """
    from phyper.integrations.burr import PhyperPersister

    ensure_preprocessed(instance)
    app = build_application(instance, review_after=review_after, hooks=hooks)
    status = PhyperPersister.for_instances([instance]).run(app, gates=[GATE])
    return {"status": status, "state": app.state.get_all()}
