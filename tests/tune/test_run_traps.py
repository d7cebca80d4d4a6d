"""The training-run API's traps (issue 16, section 5): restore for any checkpoint object,
metrics measured every k epochs, the save/load order, best=True without a monitored metric, a
stop hook failing after the outcome; and Ctrl-C, sent as a real SIGINT to a real process."""

from __future__ import annotations

import json
import math
import os
import pathlib
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from phyper import tune

from .conftest import PYTHON, TRAINER, WORKTREE
from .trainer import fit_one_epoch, load_model, make_instance, metrics, save_model


def read_state(instance) -> dict:
    with open(os.path.join(instance.get_resources_path(), "run.json")) as stream:
        return json.load(stream)


def metrics_text(instance) -> str:
    return pathlib.Path(instance.get_resources_path(), "metrics.csv").read_text()


# ------------------------------------------------------------------------ restore(otherwise)


class Falsy:
    """A model object whose truth value raises (as a numpy array's or a tensor's does)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __bool__(self) -> bool:
        raise ValueError("the truth value of this model is ambiguous")


def save_falsy(model: Falsy, path: str) -> None:
    pathlib.Path(path).write_text(repr(model.value))


def load_falsy(path: str) -> Falsy:
    return Falsy(float(pathlib.Path(path).read_text()))


def save_arrays(model: dict, path: str) -> None:
    with open(path, "wb") as stream:
        np.savez(stream, **model)


def load_arrays(path: str) -> dict:
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}


CHECKPOINT_KINDS = {
    # a numpy array: `restore(load) or new_model()` raised "truth value ... is ambiguous"
    "array": (lambda: np.zeros(3), save_model, load_model, lambda m: m + 1.0, lambda m: m[0]),
    "dict of arrays": (
        lambda: {"w": np.zeros(2), "b": np.zeros(1)},
        save_arrays,
        load_arrays,
        lambda m: {"w": m["w"] + 1.0, "b": m["b"] - 1.0},
        lambda m: m["w"][0],
    ),
    "truth value raises": (
        lambda: Falsy(0.0),
        save_falsy,
        load_falsy,
        lambda m: Falsy(m.value + 1.0),
        lambda m: m.value,
    ),
}


@pytest.mark.parametrize("kind", CHECKPOINT_KINDS)
def test_restore_otherwise_builds_a_new_model_then_resumes_any_checkpoint(root, kind):
    new, save, load, step, value_of = CHECKPOINT_KINDS[kind]
    instance = make_instance(root, n_epochs=6)
    built: list[int] = []

    def new_model():
        built.append(1)
        return new()

    def session(stop_at: int) -> float:
        with tune.Run(instance, stop=tune.max_epochs(stop_at)) as run:
            model = run.restore(load, otherwise=new_model)
            for _ in run.epochs():
                model = step(model)
                run.report(loss=1.0)
                run.checkpoint(model, save)
        return value_of(model)

    assert session(3) == 3.0 and built == [1]
    assert session(6) == 6.0 and built == [1]  # resumed from the checkpoint, not rebuilt
    with tune.Run(instance) as run:
        assert run.restore(load) is not None  # without otherwise: the checkpoint
    fresh = make_instance(root, n_epochs=6, seed=1)
    with tune.Run(fresh) as run:
        assert run.restore(load) is None  # no checkpoint, no otherwise: None, as before


def test_restore_otherwise_must_be_callable(instance):
    with tune.Run(instance) as run, pytest.raises(tune.RunUsageError, match="lambda"):
        run.restore(load_model, otherwise=np.zeros(3))


def test_restore_best_without_a_monitored_metric_is_an_error(instance):
    with tune.Run(instance, stop=tune.max_epochs(2)) as run:
        with pytest.raises(tune.RunUsageError, match="monitors no metric"):
            run.restore(load_model, best=True)
        w = np.zeros(3)
        for epoch in run.epochs():
            w = fit_one_epoch(w, instance, epoch)
            run.report(**metrics(w, instance))
            run.checkpoint(w, save_model)
        with pytest.raises(tune.RunUsageError, match=r"tune.Run\(monitor="):
            run.restore(load_model, best=True)
    with tune.Run(instance, monitor="validation_loss") as run:
        assert np.array_equal(run.restore(load_model, best=True), w)


# --------------------------------------------------------------------- save/load order


def test_checkpoint_with_numpy_save_says_the_order(instance):
    run = tune.Run(instance, stop=tune.max_epochs(3))
    with pytest.raises(tune.CheckpointError) as caught, run:
        for _ in run.epochs():
            run.report(loss=1.0)
            run.checkpoint(np.zeros(3), np.save)
    message = str(caught.value)
    assert "save(obj, path)" in message and "takes the file first" in message
    assert "numpy.save(f, obj)" in message
    assert not any(name.endswith(".tmp") for name in os.listdir(run.folder + "/checkpoints"))


def test_a_failing_save_with_the_right_order_gets_no_order_hint(instance):
    def save(model, path):
        raise OSError("disk full")

    run = tune.Run(instance, stop=tune.max_epochs(3))
    with pytest.raises(tune.CheckpointError, match="disk full") as caught, run:
        for _ in run.epochs():
            run.report(loss=1.0)
            run.checkpoint(np.zeros(3), save)
    assert "file first" not in str(caught.value)


# --------------------------------------------------------------- metrics every k epochs


def test_a_metric_measured_every_third_epoch_leaves_empty_cells(instance):
    stop = tune.max_epochs(9) | tune.non_finite()
    with tune.Run(instance, stop=stop, metrics=["loss", "validation_loss"]) as run:
        for epoch in run.epochs():
            measured = {"validation_loss": 10.0 - epoch} if epoch % 3 == 0 else {}
            run.report(loss=1.0 / epoch, **measured)
    assert run.result.status is tune.COMPLETED and run.result.epochs == 9
    lines = metrics_text(instance).splitlines()
    assert lines[0] == "epoch,loss,validation_loss"
    assert lines[1] == "1,1.0," and lines[3] == "3,0.3333333333333333,7.0"
    frame = pd.read_csv(os.path.join(instance.get_resources_path(), "metrics.csv"))
    assert frame.validation_loss.isna().tolist() == [True, True, False] * 3
    # read back without the cells that were not measured, also by a resumed run
    assert tune.load_result(instance).final_metrics == {"loss": 1 / 9, "validation_loss": 1.0}
    with tune.Run(instance, stop=stop, metrics=["loss", "validation_loss"]) as run:
        assert run.history.row(2) == {"loss": 0.5}


def test_a_metric_first_measured_at_epoch_five_needs_a_declaration(root):
    instance = make_instance(root, n_epochs=8)
    stop = tune.max_epochs(8) | tune.patience("validation_loss", epochs=6)
    with tune.Run(instance, stop=stop, metrics=["loss", "validation_loss"]) as run:
        for epoch in run.epochs():
            extra = {"validation_loss": 1.0} if epoch >= 5 else {}
            run.report(loss=1.0, **extra)
    assert run.result.status is tune.COMPLETED and run.result.best_epoch == 5
    assert metrics_text(instance).splitlines()[4:6] == ["4,1.0,", "5,1.0,1.0"]
    # undeclared, the first report fixes the columns: the error says what to declare
    other = make_instance(root, n_epochs=8, seed=1)
    run = tune.Run(other, stop=tune.max_epochs(8))
    with pytest.raises(tune.RunUsageError, match=r"metrics=\['loss', 'validation_loss'\]"), run:
        for epoch in run.epochs():
            run.report(loss=1.0, **({"validation_loss": 1.0} if epoch >= 5 else {}))


def test_a_declaration_is_checked(root):
    instance = make_instance(root)
    with pytest.raises(tune.RunUsageError, match="twice"):
        tune.Run(instance, metrics=["loss", "loss"])
    with pytest.raises(tune.RunUsageError, match="not among the declared"):
        tune.Run(instance, monitor="accuracy", metrics=["loss"])
    with pytest.raises(tune.RunUsageError, match="list of metric names"):
        tune.Run(instance, metrics="loss")
    run = tune.Run(instance, stop=tune.max_epochs(2), metrics=["loss"])
    with pytest.raises(tune.RunUsageError, match="not among the metrics declared"), run:
        for _ in run.epochs():
            run.report(loss=1.0, accuracy=0.5)
    # a run's columns are fixed when it starts: a later declaration cannot add one
    with tune.Run(make_instance(root, seed=2), stop=tune.max_epochs(1)) as run:
        for _ in run.epochs():
            run.report(loss=1.0)
    late = tune.Run(make_instance(root, seed=2), metrics=["loss", "accuracy"])
    with pytest.raises(tune.RunUsageError, match="fixed when it starts"), late:
        pass


def test_patience_counts_epochs_and_is_judged_when_the_metric_is_measured(instance):
    """Validation every 5 epochs, best at epoch 5, never better: patience of 12 epochs fires at
    the first measurement 12 or more epochs after the best one (epoch 20), not at epoch 17."""
    stop = tune.max_epochs(100) | tune.patience("validation_loss", epochs=12)
    with tune.Run(instance, stop=stop, metrics=["validation_loss"]) as run:
        for epoch in run.epochs():
            run.report(**({"validation_loss": 1.0} if epoch % 5 == 0 else {}))
    assert run.result.epochs == 20
    assert run.result.reason == ("patience(validation_loss, 12): no improvement > 0 since epoch 5")


def test_non_finite_ignores_epochs_that_did_not_measure(instance):
    stop = tune.max_epochs(6) | tune.non_finite()
    with tune.Run(instance, stop=stop, metrics=["loss", "validation_loss"]) as run:
        for epoch in run.epochs():
            run.report(loss=1.0, **({"validation_loss": 0.5} if epoch == 6 else {}))
    assert run.result.status is tune.COMPLETED and run.result.epochs == 6
    with tune.Run(make_instance(instance.hashed_resources_folder, seed=3), stop=stop) as run:
        for epoch in run.epochs():
            run.report(loss=math.nan if epoch == 2 else 1.0)
    assert run.result.status is tune.FAILED  # a NaN that was reported still fails the run


# ----------------------------------------------------------------------- stop hooks


class StopFails(tune.StopHook):
    def on_stop(self, *, result, **future_kwargs):
        raise OSError(f"cannot mail the result ({result.status})")


def test_a_stop_hook_failing_after_training_keeps_the_run_completed(instance):
    run = tune.Run(instance, stop=tune.max_epochs(3), hooks=[StopFails()])
    with pytest.raises(tune.HookError) as caught, run:
        for epoch in run.epochs():
            run.report(loss=1.0 / epoch)
    message = str(caught.value)
    assert "hook StopFails raised in on_stop" in message and "cannot mail the result" in message
    assert "outcome stands (completed)" in message and "marked failed" not in message
    assert isinstance(caught.value.__cause__, OSError)
    result = tune.load_result(instance)
    assert result.status is tune.COMPLETED and result.epochs == 3 and result.error is None
    assert read_state(instance)["status"] == "completed"


# ---------------------------------------------------------------------------- Ctrl-C


def _trainer(root: str, n_epochs: int, *, group: bool) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, TRAINER, root, str(n_epochs), "--sleep", "0.05"],
        cwd=WORKTREE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=group,
    )  # fmt: skip


def _wait_for_epochs(instance, at_least: int, process: subprocess.Popen) -> None:
    path = os.path.join(instance.get_resources_path(), "metrics.csv")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if os.path.exists(path) and len(pathlib.Path(path).read_text().splitlines()) > at_least:
            return
        time.sleep(0.02)
    raise AssertionError(f"the trainer did not reach epoch {at_least}: {process.communicate()}")


@pytest.mark.parametrize("to_group", [True, False], ids=["process group", "process only"])
def test_ctrl_c_interrupts_a_run_which_resumes(root, to_group):
    instance = make_instance(root, n_epochs=200)
    process = _trainer(root, 200, group=to_group)
    _wait_for_epochs(instance, 3, process)
    if to_group:
        os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    else:
        process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("phyper.tune.Interrupted: run ")
    assert last.endswith("run the same command again to resume")
    assert "KeyboardInterrupt" not in stderr  # neither chained nor raw
    state = read_state(instance)
    assert state["status"] == "interrupted" and state["error"] is None
    assert state["reason"].startswith(f"interrupted in epoch {state['epoch'] + 1} (Ctrl-C)")
    assert tune.load_result(instance).status is tune.INTERRUPTED
    epoch = state["epoch"]
    # started again, it resumes after its last committed epoch; each epoch appears once
    finished = subprocess.run(
        [PYTHON, TRAINER, root, "200"], cwd=WORKTREE, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    assert 2 <= epoch < 200
    frame = pd.read_csv(os.path.join(instance.get_resources_path(), "metrics.csv"))
    assert frame.epoch.tolist() == list(range(1, 201))
    assert read_state(instance)["status"] == "completed"


def test_ctrl_c_in_a_run_calls_failure_hooks_and_says_where(instance):
    class Interrupting(tune.EpochEndHook, tune.FailureHook):
        seen: list[str] = []

        def on_epoch_end(self, *, epoch, **future_kwargs):
            if epoch == 4:
                raise KeyboardInterrupt

        def on_failure(self, *, error, **future_kwargs):
            self.seen.append(type(error).__name__)

    run = tune.Run(instance, stop=tune.max_epochs(10), hooks=[Interrupting()])
    with pytest.raises(tune.Interrupted, match="interrupted in epoch 4") as caught, run:
        for _ in run.epochs():
            run.report(loss=1.0)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert caught.value.__suppress_context__
    assert Interrupting.seen == ["KeyboardInterrupt"]
    assert tune.load_result(instance).status is tune.INTERRUPTED
    assert tune.load_result(instance).epochs == 3


def test_ctrl_c_after_the_loop_leaves_the_outcome_alone(instance):
    """Interrupted while writing outputs after training (as the example does), a completed
    run stays completed; interrupted before its first epoch, it says so."""
    run = tune.Run(instance, stop=tune.max_epochs(2))
    with pytest.raises(tune.Interrupted, match="after it ended"), run:
        for _ in run.epochs():
            run.report(loss=1.0)
        raise KeyboardInterrupt
    assert tune.load_result(instance).status is tune.COMPLETED
    other = make_instance(instance.hashed_resources_folder, seed=4)
    run = tune.Run(other, stop=tune.max_epochs(2))
    with pytest.raises(tune.Interrupted, match="interrupted before epoch 1"), run:
        raise KeyboardInterrupt
    assert tune.load_result(other).status is tune.INTERRUPTED


def _swallowed_ctrl_c(epoch_of_ctrl_c: int):
    """An epoch-end hook doing what a worker's Ctrl-C handler does (record it) in a library
    that then swallows the KeyboardInterrupt (as scikit-learn's partial_fit does)."""
    from phyper.tune import _interrupts

    class Swallowing(tune.EpochEndHook):
        def on_epoch_end(self, *, epoch, **future_kwargs):
            if epoch == epoch_of_ctrl_c:
                _interrupts.request()
                try:
                    raise KeyboardInterrupt
                except KeyboardInterrupt:
                    pass  # swallowed

    return Swallowing()


def test_a_swallowed_ctrl_c_is_delivered_at_the_next_commit(instance):
    run = tune.Run(instance, stop=tune.max_epochs(10), hooks=[_swallowed_ctrl_c(4)])
    with pytest.raises(tune.Interrupted, match="before epoch 5"), run:
        for _ in run.epochs():
            run.report(loss=1.0)
    result = tune.load_result(instance)
    assert result.status is tune.INTERRUPTED and result.epochs == 4  # epoch 4 was committed
    with tune.Run(instance, stop=tune.max_epochs(10)) as run:  # resumes, delivers nothing
        epochs = [epoch for epoch in run.epochs() if run.report(loss=1.0) is None]
    assert epochs == list(range(5, 11)) and run.result.status is tune.COMPLETED


def test_a_swallowed_ctrl_c_in_the_last_epoch_leaves_the_outcome_alone(instance):
    run = tune.Run(instance, stop=tune.max_epochs(3), hooks=[_swallowed_ctrl_c(3)])
    with pytest.raises(tune.Interrupted, match="after it ended"), run:
        for _ in run.epochs():
            run.report(loss=1.0)
    result = tune.load_result(instance)
    assert result.status is tune.COMPLETED and result.epochs == 3
