"""The run loop in one process: commits, resume, finished runs, best checkpoints, damage."""

from __future__ import annotations

import json
import math
import os
import pathlib
import subprocess
import threading

import numpy as np
import pandas as pd
import pytest

from phyper import tune

from .conftest import PYTHON, TRAINER
from .trainer import fit_one_epoch, load_model, make_instance, new_model, save_model, train


def read_metrics(instance) -> pd.DataFrame:
    return pd.read_csv(os.path.join(instance.get_resources_path(), "metrics.csv"))


def read_state(instance) -> dict:
    with open(os.path.join(instance.get_resources_path(), "run.json")) as stream:
        return json.load(stream)


def reference(tmp_path, n_epochs: int, name: str = "reference"):
    """An uninterrupted run of ``n_epochs`` in a folder of its own."""
    return train(make_instance(str(tmp_path / name), n_epochs=n_epochs))


def test_fresh_run_writes_the_documented_layout(instance):
    result, _ = train(instance)
    folder = instance.get_resources_path()
    assert sorted(os.listdir(folder)) == [
        "checkpoints", "metrics.csv", "phyper.json", "run.json", "run.lock",
    ]  # fmt: skip
    assert os.listdir(os.path.join(folder, "checkpoints")) == ["epoch-000012"]
    frame = read_metrics(instance)
    assert list(frame.columns) == ["epoch", "train_loss", "validation_loss"]
    assert frame["epoch"].tolist() == list(range(1, 13))
    state = read_state(instance)
    assert state["format"] == "phyper-run" and state["hash"] == instance.get_instance_hash()
    assert state["status"] == "completed" and state["epoch"] == 12
    assert state["metrics_bytes"] == os.path.getsize(os.path.join(folder, "metrics.csv"))
    assert result.status is tune.COMPLETED and result.epochs == 12
    assert result.stopped_by == "max_epochs(12)"
    assert result.final_metrics["validation_loss"] == frame["validation_loss"].iloc[-1]
    assert tune.load_result(instance) == result == tune.load_result(folder)
    with open(os.path.join(folder, "phyper.json")) as stream:
        assert json.load(stream)["hash"] == instance.get_instance_hash()


def test_exception_marks_failed_and_the_run_resumes(instance, tmp_path):
    with pytest.raises(RuntimeError, match="boom at epoch 7"):
        train(instance, fail_at=7)
    state = read_state(instance)
    assert state["status"] == "failed" and state["epoch"] == 6
    assert state["error"] == "RuntimeError: boom at epoch 7"
    assert tune.load_result(instance).status is tune.FAILED
    result, weights = train(instance)
    assert result.status is tune.COMPLETED and result.error is None
    assert read_metrics(instance)["epoch"].tolist() == list(range(1, 13))
    expected_result, expected_weights = reference(tmp_path, 12)
    assert np.array_equal(weights, expected_weights)
    assert result.final_metrics == expected_result.final_metrics


def test_finished_run_started_again_does_nothing(instance):
    first, _ = train(instance)
    path = os.path.join(instance.get_resources_path(), "metrics.csv")
    before = pathlib.Path(path).read_bytes()
    state = pathlib.Path(instance.get_resources_path(), "run.json").read_bytes()
    bodies = []
    with tune.Run(instance, stop=tune.max_epochs(12)) as run:
        assert run.restore(load_model) is not None
        for epoch in run.epochs():
            bodies.append(epoch)
    assert bodies == []
    assert run.result == first
    assert pathlib.Path(path).read_bytes() == before
    assert pathlib.Path(instance.get_resources_path(), "run.json").read_bytes() == state


def test_raising_n_epochs_continues_like_an_uninterrupted_run(instance, tmp_path):
    train(instance)
    result, weights = train(instance.replace(n_epochs=20))
    assert result.epochs == 20 and result.stopped_by == "max_epochs(20)"
    frame = read_metrics(instance)
    assert frame["epoch"].tolist() == list(range(1, 21))
    _, expected_weights = reference(tmp_path, 20)
    assert np.array_equal(weights, expected_weights)
    expected = read_metrics(make_instance(str(tmp_path / "reference"), n_epochs=20))
    pd.testing.assert_frame_equal(frame, expected)


def test_lowering_n_epochs_finishes_without_retraining(instance):
    train(instance)
    bodies = []
    lower = instance.replace(n_epochs=5)
    with tune.Run(lower, stop=tune.max_epochs(5) | tune.patience("validation_loss", 50)) as run:
        for epoch in run.epochs():
            bodies.append(epoch)
    assert bodies == []
    assert run.result.status is tune.COMPLETED and run.result.epochs == 12
    assert run.result.stopped_by == "max_epochs(5)"
    assert read_state(instance)["stopped_by"] == "max_epochs(5)"


def test_best_checkpoint_is_kept_and_restored(root):
    instance = make_instance(root, n_epochs=40, lr=0.12)
    stop = tune.max_epochs(40) | tune.patience("validation_loss", 4)
    result, _ = train(instance, stop=stop)
    assert result.monitor == "validation_loss"
    assert result.stopped_by == "patience(validation_loss, 4)"
    assert result.epochs == result.best_epoch + 4
    names = sorted(os.listdir(os.path.join(instance.get_resources_path(), "checkpoints")))
    assert names == [f"epoch-{result.best_epoch:06d}", f"epoch-{result.epochs:06d}"]
    w = new_model(instance)
    for epoch in range(1, result.best_epoch + 1):
        w = fit_one_epoch(w, instance, epoch)
    with tune.Run(instance, stop=stop) as run:
        assert np.array_equal(run.restore(load_model, best=True), w)
        assert not np.array_equal(run.restore(load_model), w)
    assert result.best_metrics["validation_loss"] == result.best_value
    assert result.best_value == min(read_metrics(instance)["validation_loss"])


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_damaged_checkpoint_raises_naming_folder_and_file(instance, damage):
    train(instance.replace(n_epochs=5))
    path = os.path.join(instance.get_resources_path(), "checkpoints", "epoch-000005")
    if damage == "delete":
        os.unlink(path)
    else:
        data = bytearray(pathlib.Path(path).read_bytes())
        if damage == "flip":
            data[-1] ^= 0xFF
        else:
            data = data[:-8]
        pathlib.Path(path).write_bytes(bytes(data))
    with pytest.raises(tune.CheckpointError) as caught:
        train(instance.replace(n_epochs=8))
    message = str(caught.value)
    assert "epoch-000005" in message and instance.get_resources_path() in message
    assert read_state(instance)["epoch"] == 5  # nothing was silently restarted


def test_a_load_that_raises_is_a_checkpoint_error(instance):
    train(instance.replace(n_epochs=3))

    def bad_load(path):
        raise ValueError("not a model")

    with tune.Run(instance) as run, pytest.raises(tune.CheckpointError, match="bad_load failed"):
        run.restore(bad_load)


def test_state_of_another_hash_is_refused(instance, root):
    train(instance.replace(n_epochs=2))
    other = instance.replace(seed=1)
    os.makedirs(other.get_resources_path())
    state = read_state(instance)
    with open(os.path.join(other.get_resources_path(), "run.json"), "w") as stream:
        json.dump(state, stream)
    with pytest.raises(tune.RunStateError) as caught:
        train(other)
    assert other.get_resources_path() in str(caught.value) and state["hash"] in str(caught.value)
    with pytest.raises(tune.RunStateError):
        tune.load_result(other.get_resources_path())


def test_unreadable_state_is_refused(instance):
    train(instance.replace(n_epochs=2))
    with open(os.path.join(instance.get_resources_path(), "run.json"), "w") as stream:
        stream.write('{"format": "phyper-run", "version": 1, "hash": ')
    with pytest.raises(tune.RunStateError, match="not valid JSON") as caught:
        train(instance)
    assert instance.get_resources_path() in str(caught.value)


def test_lost_metric_rows_are_an_error(instance):
    train(instance.replace(n_epochs=4))
    path = os.path.join(instance.get_resources_path(), "metrics.csv")
    data = pathlib.Path(path).read_bytes()
    pathlib.Path(path).write_bytes(data[:-10])
    with pytest.raises(tune.RunStateError, match="metric rows were lost") as caught:
        train(instance)
    assert instance.get_resources_path() in str(caught.value)


def test_a_second_process_holding_the_lock_is_named(instance, root):
    holder = subprocess.Popen(
        [PYTHON, TRAINER, root, "12", "--hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(tune.RunLockedError) as caught:
            train(instance)
        message = str(caught.value)
        assert f"pid {holder.pid}" in message and instance.get_resources_path() in message
        assert isinstance(caught.value, RuntimeError)
    finally:
        holder.stdin.close()
        assert holder.wait() == 0
    result, _ = train(instance)  # released when the holder exits
    assert result.status is tune.COMPLETED


def test_wait_for_lock_waits_for_the_holder(instance, root):
    holder = subprocess.Popen(
        [PYTHON, TRAINER, root, "12", "--hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert holder.stdout.readline().strip() == b"holding"
    entered = []

    def waiter() -> None:
        with tune.Run(instance, wait_for_lock=True) as run:
            entered.append(run.state.status)

    thread = threading.Thread(target=waiter)
    thread.start()
    assert entered == []  # the holder still has it (and only it can give it up)
    holder.stdin.close()
    assert holder.wait() == 0
    thread.join()
    assert entered == [tune.RUNNING]


def test_a_header_without_metrics_is_written_once(instance):
    with tune.Run(instance, stop=tune.max_epochs(3)) as run:
        for _ in run.epochs():
            run.report()
    path = os.path.join(instance.get_resources_path(), "metrics.csv")
    assert pathlib.Path(path).read_text() == "epoch\n1\n2\n3\n"


def test_metric_appearing_after_epoch_one_is_named(instance):
    late = "'accuracy' first appears at epoch 2"
    run = tune.Run(instance, stop=tune.max_epochs(3))
    with pytest.raises(tune.RunUsageError, match=late), run:
        for epoch in run.epochs():
            extra = {"accuracy": 0.5} if epoch == 2 else {}
            run.report(loss=1.0, **extra)
    assert read_state(instance)["status"] == "failed"


def test_non_finite_fails_the_run_and_stays_failed(instance):
    stop = tune.max_epochs(10) | tune.non_finite()

    def run_once() -> list[int]:
        seen = []
        with tune.Run(instance, stop=stop) as run:
            for epoch in run.epochs():
                seen.append(epoch)
                run.report(loss=math.inf if epoch == 3 else 1.0)
        return seen, run.result

    seen, result = run_once()
    assert seen == [1, 2, 3]
    assert result.status is tune.FAILED and result.reason == "non_finite(): loss = inf at epoch 3"
    again, result = run_once()
    assert again == [] and result.status is tune.FAILED


def test_sparse_checkpoints_replay_the_epochs_after_the_last_durable_one(instance, tmp_path):
    with pytest.raises(RuntimeError):
        train(instance, checkpoint_every=3, fail_at=8)
    state = read_state(instance)
    assert state["epoch"] == 6 and state["checkpoint"] == "epoch-000006"
    _, weights = train(instance, checkpoint_every=3)
    assert read_metrics(instance)["epoch"].tolist() == list(range(1, 13))
    assert np.array_equal(weights, reference(tmp_path, 12)[1])


def test_without_checkpoints_every_epoch_commits(instance):
    def loop(fail_at=None):
        seen = []
        with tune.Run(instance, stop=tune.max_epochs(6)) as run:
            for epoch in run.epochs():
                seen.append(epoch)
                if epoch == fail_at:
                    raise KeyError("stop here")
                run.report(x=float(epoch))
        return seen

    with pytest.raises(KeyError):
        loop(fail_at=4)
    assert read_state(instance)["epoch"] == 3
    assert loop() == [4, 5, 6]


def test_numpy_save_to_a_bare_path_is_explained(instance):
    run = tune.Run(instance, stop=tune.max_epochs(2))
    with pytest.raises(tune.CheckpointError, match="numpy.save appends it"), run:
        for _ in run.epochs():
            run.report(loss=1.0)
            run.checkpoint(np.zeros(2), lambda obj, path: np.save(path, obj))
    assert os.listdir(os.path.join(instance.get_resources_path(), "checkpoints")) == []


def test_orphan_checkpoints_are_removed_on_start(instance):
    train(instance.replace(n_epochs=3))
    folder = os.path.join(instance.get_resources_path(), "checkpoints")
    save_model(np.ones(3), os.path.join(folder, "epoch-000004"))  # newer than the commit
    open(os.path.join(folder, ".epoch-000005.abcd.tmp"), "wb").close()
    with tune.Run(instance, stop=tune.max_epochs(3)) as run:
        assert run.restore(load_model) is not None
    assert os.listdir(folder) == ["epoch-000003"]


def test_usage_errors_name_what_was_expected(instance):
    run = tune.Run(instance)
    with pytest.raises(tune.RunUsageError, match="inside `with Run"):
        list(run.epochs())
    with tune.Run(instance, stop=tune.max_epochs(2)) as run:
        with pytest.raises(tune.RunUsageError, match="inside `for epoch in run.epochs"):
            run.report(loss=1.0)
        for _ in run.epochs():
            with pytest.raises(tune.RunUsageError, match="before run.report"):
                run.checkpoint(1, save_model)
            run.report(loss=1.0)
            with pytest.raises(tune.RunUsageError, match="twice"):
                run.report(loss=1.0)
    with pytest.raises(tune.RunUsageError, match="checkpoint_every"):
        tune.Run(instance, checkpoint_every=0)
    with pytest.raises(tune.RunUsageError, match="not a phyper.tune hook"):
        tune.Run(instance, hooks=[print])


def test_runs_lists_every_run(root):
    a = make_instance(root, n_epochs=3)
    b = make_instance(root, n_epochs=3, seed=1)
    train(a)
    with pytest.raises(RuntimeError):
        train(b, fail_at=2)
    frame = tune.runs(root).set_index("hash")
    assert frame.loc[a.get_instance_hash(), "status"] == "completed"
    assert frame.loc[b.get_instance_hash(), "status"] == "failed"
    assert frame.loc[b.get_instance_hash(), "epoch"] == 1
    assert "boom" in frame.loc[b.get_instance_hash(), "reason"]


def test_time_budget_counts_training_time_over_sessions(instance):
    def session(stop):
        with tune.Run(instance, stop=stop) as run:
            for _ in run.epochs():
                run.report(loss=1.0)
        return run.result, read_state(instance)["elapsed_seconds"]

    first, elapsed = session(tune.max_epochs(2))
    assert first.epochs == 2 and elapsed > 0
    result, again = session(tune.max_epochs(4) | tune.time_budget(elapsed / 2))
    assert result.epochs == 2 and result.stopped_by == f"time_budget({elapsed / 2:g})"
    assert again == elapsed  # finished at start: no training time added


def test_runs_lists_an_unreadable_state_instead_of_failing(root, instance):
    train(instance.replace(n_epochs=1))
    broken = os.path.join(root, "all", "f" * 32)
    os.makedirs(broken)
    pathlib.Path(broken, "run.json").write_text("{")
    frame = tune.runs(root).set_index("hash")
    assert frame.loc["f" * 32, "status"] == "unreadable"
    assert "not valid JSON" in frame.loc["f" * 32, "reason"]
    assert frame.loc[instance.get_instance_hash(), "status"] == "completed"
