"""Hooks: called in order with the documented keywords, future keywords, failing hooks."""

from __future__ import annotations

import io
import os

import numpy as np
import pandas as pd
import pytest

from phyper import tune

from .trainer import load_model, make_instance, save_model, train

DOCUMENTED = {
    "on_run_start": {"run", "instance", "epoch", "resumed"},
    "on_epoch_end": {"run", "epoch", "metrics", "history"},
    "on_checkpoint": {"run", "epoch", "path", "is_best"},
    "on_stop": {"run", "result"},
    "on_failure": {"run", "epoch", "error"},
}


class Recorder(
    tune.RunStartHook, tune.EpochEndHook, tune.CheckpointHook, tune.StopHook, tune.FailureHook
):
    """Records (moment, keyword names, a summary) of every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str], object]] = []

    def on_run_start(self, *, run, instance, epoch, resumed, **future_kwargs):
        self.calls.append(("on_run_start", self._names(locals()), (epoch, resumed)))

    def on_epoch_end(self, *, run, epoch, metrics, history, **future_kwargs):
        names = self._names(locals())  # before any assert: pytest's rewriting adds locals
        assert history.last_epoch == epoch and history.row(epoch) == metrics
        self.calls.append(("on_epoch_end", names, epoch))

    def on_checkpoint(self, *, run, epoch, path, is_best, **future_kwargs):
        names = self._names(locals())
        assert os.path.isfile(path) and path.endswith(f"epoch-{epoch:06d}")
        self.calls.append(("on_checkpoint", names, epoch))

    def on_stop(self, *, run, result, **future_kwargs):
        self.calls.append(("on_stop", self._names(locals()), result.status))

    def on_failure(self, *, run, epoch, error, **future_kwargs):
        self.calls.append(("on_failure", self._names(locals()), (epoch, str(error))))

    @staticmethod
    def _names(scope: dict) -> frozenset[str]:
        names = set(scope) - {"self", "future_kwargs"}
        return frozenset(names | {f"+{k}" for k in scope["future_kwargs"]})


def test_hooks_are_called_in_order_with_the_documented_keywords(instance):
    recorder = Recorder()
    train(instance.replace(n_epochs=3), hooks=[recorder])
    moments = [(moment, summary) for moment, _, summary in recorder.calls]
    assert moments == [
        ("on_run_start", (0, False)),
        ("on_epoch_end", 1), ("on_checkpoint", 1),
        ("on_epoch_end", 2), ("on_checkpoint", 2),
        ("on_epoch_end", 3), ("on_checkpoint", 3),
        ("on_stop", tune.COMPLETED),
    ]  # fmt: skip
    for moment, names, _ in recorder.calls:
        assert names == DOCUMENTED[moment], moment
    again = Recorder()
    train(instance.replace(n_epochs=5), hooks=[again])
    assert again.calls[0][2] == (3, True)  # resumed after epoch 3


def test_a_hook_ignores_keywords_a_future_loop_passes(instance):
    recorder = Recorder()
    with tune.Run(instance, stop=tune.max_epochs(2), hooks=[recorder]) as run:
        run._hook_extras = {"phase": "train"}  # what a later phyper might pass
        for _ in run.epochs():
            run.report(loss=1.0)
            run.checkpoint(np.zeros(2), save_model)
    assert len(recorder.calls) == 1 + 2 * 2 + 1
    for moment, names, _ in recorder.calls[1:]:
        assert names == DOCUMENTED[moment] | {"+phase"}


class Exploding(tune.EpochEndHook):
    def __init__(self, at: int) -> None:
        self.at = at

    def on_epoch_end(self, *, epoch, **future_kwargs):
        if epoch == self.at:
            raise ZeroDivisionError("the hook broke")


def test_a_raising_hook_fails_the_run_which_resumes_afterwards(instance, tmp_path):
    recorder = Recorder()
    with pytest.raises(tune.HookError) as caught:
        train(instance, hooks=[Exploding(at=5), recorder])
    message = str(caught.value)
    assert "hook Exploding raised in on_epoch_end" in message and "the hook broke" in message
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    assert recorder.calls[-1][0] == "on_failure" and recorder.calls[-1][2][0] == 5
    result = tune.load_result(instance)
    assert result.status is tune.FAILED and result.epochs == 4
    assert result.error.startswith("HookError: hook Exploding raised in on_epoch_end")
    result, weights = train(instance)
    assert result.status is tune.COMPLETED
    frame = pd.read_csv(os.path.join(instance.get_resources_path(), "metrics.csv"))
    assert frame["epoch"].tolist() == list(range(1, 13))
    _, expected = train(make_instance(str(tmp_path / "reference"), n_epochs=12))
    assert np.array_equal(weights, expected)


class BrokenStart(tune.RunStartHook):
    def on_run_start(self, **future_kwargs):
        raise OSError("no display")


def test_a_hook_failing_at_start_releases_the_lock(instance):
    with pytest.raises(tune.HookError, match="hook BrokenStart raised in on_run_start"):
        train(instance, hooks=[BrokenStart()])
    assert tune.load_result(instance).status is tune.FAILED
    assert train(instance)[0].status is tune.COMPLETED  # not locked, resumes


def test_a_failing_failure_hook_does_not_mask_the_error(instance):
    class BadFailure(tune.FailureHook):
        def on_failure(self, **future_kwargs):
            raise ValueError("also broken")

    with pytest.raises(RuntimeError, match="boom"):
        train(instance, hooks=[BadFailure()], fail_at=2)
    error = tune.load_result(instance).error
    assert error.startswith("RuntimeError: boom at epoch 2")
    assert "BadFailure raised in on_failure: ValueError: also broken" in error


def test_progress_bar_draws_only_on_a_terminal(instance):
    shown = io.StringIO()
    train(instance.replace(n_epochs=4), hooks=[tune.ProgressBar(enabled=True, file=shown)])
    assert "4/4" in shown.getvalue() and "validation_loss" in shown.getvalue()
    silent = io.StringIO()  # not a terminal
    train(instance.replace(n_epochs=6), hooks=[tune.ProgressBar(file=silent)])
    assert silent.getvalue() == ""


def test_metric_log_is_an_epoch_end_hook(instance, tmp_path):
    log = tune.MetricLog(str(tmp_path / "m.csv"))
    assert isinstance(log, tune.EpochEndHook)
    log.on_epoch_end(run=None, epoch=1, metrics={"a": 0.1, "b": float("nan")}, history=None)
    log.on_epoch_end(run=None, epoch=2, metrics={"a": 1 / 3}, history=None)
    frame = pd.read_csv(tmp_path / "m.csv")  # readable while "training" goes on
    assert frame["a"].tolist() == [0.1, 1 / 3] and frame["b"].isna().all()
    log.close()


def test_restore_in_a_hookless_run_and_load_names(instance):
    train(instance.replace(n_epochs=2))
    with tune.Run(instance) as run:
        assert np.array_equal(run.restore(load_model), run.restore(load_model))
