"""Termination conditions on hand-made histories: which fired, why, specs and YAML."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from phyper import PhyperError, tune
from phyper.tune import History

LOSSES = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.05, 3.0]  # best 3.0 at epoch 3 (ties keep the first)


def losses(values: list[float], **extra: list[float]) -> History:
    rows = []
    for i, value in enumerate(values):
        row = {"loss": value}
        row.update({name: series[i] for name, series in extra.items()})
        rows.append(row)
    return History.from_records(rows)


def test_max_epochs_fires_at_n_and_not_before():
    condition = tune.max_epochs(8)
    assert condition.check(losses(LOSSES[:7])) is None
    fired = condition.check(losses(LOSSES))
    assert fired == tune.Fired("max_epochs(8)", "max_epochs(8): reached epoch 8")


def test_patience_counts_from_the_last_improvement():
    assert tune.patience("loss", epochs=6).check(losses(LOSSES)) is None
    fired = tune.patience("loss", epochs=5).check(losses(LOSSES))
    assert fired is not None
    assert fired.reason == "patience(loss, 5): no improvement > 0 since epoch 3"
    assert fired.condition == "patience(loss, 5)"


def test_patience_min_delta_ignores_small_improvements():
    history = losses([1.0, 0.95, 0.92, 0.91])
    assert tune.patience("loss", 3).check(history) is None  # improved at epoch 4
    fired = tune.patience("loss", 3, min_delta=0.1).check(history)
    assert fired is not None and "since epoch 1" in fired.reason
    assert "min_delta=0.1" in fired.condition


def test_patience_mode_max():
    history = History.from_records([{"acc": a} for a in (0.5, 0.7, 0.6, 0.65)])
    fired = tune.patience("acc", 2, mode="max").check(history)
    assert fired is not None and "since epoch 2" in fired.reason
    wrong_way = tune.patience("acc", 2).check(history)  # as a loss, 0.5 at epoch 1 is best
    assert wrong_way is not None and "since epoch 1" in wrong_way.reason


def test_target_min_and_max_name_the_first_crossing():
    fired = tune.target("loss", 3.0).check(losses(LOSSES))
    assert fired is not None and fired.reason == "target(loss, 3): loss = 3 <= 3 at epoch 3"
    assert tune.target("loss", 2.9).check(losses(LOSSES)) is None
    history = History.from_records([{"acc": a} for a in (0.5, 0.91, 0.95)])
    fired = tune.target("acc", 0.9, mode="max").check(history)
    assert fired is not None and "at epoch 2" in fired.reason and ">=" in fired.reason


def test_time_budget_reads_the_runs_elapsed_seconds():
    history = losses(LOSSES)
    history.elapsed_seconds = 59.0
    assert tune.time_budget(60).check(history) is None
    history.elapsed_seconds = 60.5
    fired = tune.time_budget(60).check(history)
    assert fired is not None and "60.5 s" in fired.reason


def test_non_finite_fails_and_names_metric_and_epoch():
    history = losses([1.0, math.nan, 0.5], acc=[0.1, 0.2, math.inf])
    fired = tune.non_finite().check(history)
    assert fired is not None and fired.failed
    assert fired.reason == "non_finite(): loss = nan at epoch 2"
    acc = tune.non_finite("acc").check(history)
    assert acc is not None and acc.reason == "non_finite(acc): acc = inf at epoch 3"
    assert tune.non_finite("acc").check(losses([1.0], acc=[0.1])) is None


def test_after_epoch():
    assert tune.after_epoch(3).check(losses(LOSSES[:2])) is None
    assert tune.after_epoch(3).check(losses(LOSSES[:3])) is not None


def test_any_names_every_member_that_fired():
    condition = tune.max_epochs(8) | tune.patience("loss", 5) | tune.target("loss", 0.1)
    fired = condition.check(losses(LOSSES))
    assert fired is not None
    assert fired.condition == "max_epochs(8) | patience(loss, 5)"
    assert fired.reason.count(";") == 1
    assert not fired.failed
    only = (tune.max_epochs(8) | tune.patience("loss", 4)).check(losses(LOSSES[:7]))
    assert only is not None and only.condition == "patience(loss, 4)"
    assert condition.check(losses(LOSSES[:7])) is None


def test_all_needs_every_member_and_not_inverts():
    both = tune.after_epoch(5) & tune.patience("loss", 2)
    assert both.check(losses([5.0, 4.0, 3.0, 3.1, 3.2])) is not None
    assert both.check(losses([5.0, 3.0, 3.1, 3.2])) is None  # patience yes, epoch 4 < 5
    early = ~tune.after_epoch(3)
    assert early.check(losses(LOSSES[:2])) is not None
    assert early.check(losses(LOSSES[:3])) is None
    assert repr(early) == "~after_epoch(3)"
    failed = (tune.non_finite() & tune.after_epoch(1)).check(losses([math.nan]))
    assert failed is not None and failed.failed


def test_composites_flatten_and_describe():
    condition = tune.max_epochs(1) | (tune.max_epochs(2) | tune.max_epochs(3))
    assert repr(condition) == "(max_epochs(1) | max_epochs(2) | max_epochs(3))"
    assert condition.epoch_limit() == 1
    assert (tune.max_epochs(4) & tune.max_epochs(9)).epoch_limit() == 9
    assert (tune.max_epochs(4) & tune.patience("x", 2)).epoch_limit() is None


def test_unknown_metric_names_it_and_the_reported_ones():
    with pytest.raises(tune.UnknownMetricError) as caught:
        tune.patience("los", 3).check(losses(LOSSES))
    message = str(caught.value)
    assert "'los'" in message and "['loss']" in message and "did you mean 'loss'" in message
    assert isinstance(caught.value, KeyError)
    assert tune.patience("los", 3).check(History()) is None  # nothing reported yet


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: tune.max_epochs(0), "n must be a positive integer, not 0"),
        (lambda: tune.max_epochs(True), "positive integer"),
        (lambda: tune.patience("loss", 2.5), "epochs must be a positive integer"),
        (lambda: tune.patience("loss", 2, mode="lowest"), "mode must be 'min' or 'max'"),
        (lambda: tune.patience("loss", 2, min_delta=-1), "min_delta must be >= 0"),
        (lambda: tune.patience("", 2), "metric must be a non-empty string"),
        (lambda: tune.target("acc", math.nan), "value must be a finite number"),
        (lambda: tune.time_budget(0), "seconds must be positive"),
        (lambda: tune.max_epochs(3) | 5, "cannot combine a condition with 5"),
    ],
)
def test_bad_arguments_fail_at_construction(build, fragment):
    with pytest.raises(tune.ConditionError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_incremental_tracking_equals_a_rescan():
    # conditions created after some epochs replay the history once, then update per row
    values = [math.sin(i / 7) + i * 0.001 for i in range(300)]
    history = History()
    condition = tune.patience("loss", 10)
    fired_incrementally = []
    for value in values:
        history.append({"loss": value})
        fired_incrementally.append(condition.check(history))
        fresh = losses(values[: len(history)])
        assert condition.check(fresh) == fired_incrementally[-1]
    assert any(f is not None for f in fired_incrementally)


def test_history_from_frame_and_back():
    frame = pd.DataFrame({"epoch": [2, 1], "loss": [0.5, 1.0], "acc": [0.6, math.nan]})
    history = History.from_frame(frame)
    assert history.row(2) == {"loss": 0.5, "acc": 0.6}
    assert math.isnan(history.row(1)["acc"]) and history.row(1)["loss"] == 1.0
    assert history.values("loss") == [1.0, 0.5]
    assert history.best("acc", mode="max") == (2, 0.6)
    assert list(history.to_frame().columns) == ["epoch", "loss", "acc"]


SPECS = [
    tune.max_epochs(100),
    tune.patience("validation_loss", 15),
    tune.patience("acc", 3, min_delta=0.01, mode="max"),
    tune.target("acc", 0.9, mode="max"),
    tune.time_budget(3600),
    tune.non_finite(),
    tune.non_finite("loss"),
    tune.after_epoch(4),
    tune.max_epochs(10) | tune.patience("loss", 2),
    ~tune.after_epoch(2) & tune.target("loss", 3.0),
]


@pytest.mark.parametrize("condition", SPECS, ids=repr)
def test_spec_round_trip_keeps_behaviour(condition):
    again = tune.condition_from_spec(condition.to_spec())
    assert again == condition and repr(again) == repr(condition)
    history = History.from_records(
        [{"loss": v, "validation_loss": v, "acc": 1 / v} for v in LOSSES], elapsed_seconds=10.0
    )
    for n in range(1, len(LOSSES) + 1):
        prefix = History.from_records(history.rows[:n], elapsed_seconds=10.0)
        assert again.check(prefix) == condition.check(prefix)


def test_spec_forms():
    assert tune.condition_from_spec(
        [{"max_epochs": 100}, {"patience": {"metric": "validation_loss", "epochs": 15}}]
    ) == tune.max_epochs(100) | tune.patience("validation_loss", 15)
    assert tune.condition_from_spec({"not": {"after_epoch": 2}}) == ~tune.after_epoch(2)
    assert tune.condition_from_spec({"non_finite": None}) == tune.non_finite()
    assert tune.condition_from_spec({"max_epochs": {"n": 5}}) == tune.max_epochs(5)
    assert tune.condition_from_spec({"all": [{"max_epochs": 5}]}) == tune.max_epochs(5)


@pytest.mark.parametrize(
    ("spec", "fragments"),
    [
        ({"patiense": {"metric": "x", "epochs": 2}}, ["unknown condition 'patiense'",
                                                      "did you mean 'patience'", "max_epochs"]),
        ({"patience": {"metric": "x", "epoch": 2}}, ["no argument 'epoch'",
                                                     "did you mean 'epochs'"]),
        ({"patience": {"metric": "x"}}, ["lacks required argument(s) ['epochs']"]),
        ({"patience": 5}, ["takes a mapping of its arguments"]),
        ({"max_epochs": 1, "patience": {}}, ["exactly one key"]),
        ({"any": []}, ["at least one condition"]),
        ({"any": {"max_epochs": 3}}, ["takes a list of conditions"]),
        ([{"max_epochs": -1}], ["any[0]", "positive integer"]),
        ("max_epochs", ["exactly one key"]),
    ],
)  # fmt: skip
def test_bad_specs_say_what_was_expected(spec, fragments):
    with pytest.raises(tune.ConditionError) as caught:
        tune.condition_from_spec(spec)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert isinstance(caught.value, PhyperError) and isinstance(caught.value, ValueError)


def test_stop_from_yaml(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        "fixed: {lr: 0.1}\n"
        "stop:\n"
        "  - max_epochs: 200\n"
        "  - patience: {metric: validation_loss, epochs: 15, min_delta: 0.001}\n"
        "  - non_finite: null\n"
    )
    stop = tune.stop_from_yaml(sweep)
    assert stop == (
        tune.max_epochs(200)
        | tune.patience("validation_loss", 15, min_delta=0.001)
        | tune.non_finite()
    )
    missing = tmp_path / "none.yaml"
    missing.write_text("fixed: {lr: 0.1}\n")
    with pytest.raises(tune.ConditionError, match="no top-level 'stop:' section"):
        tune.stop_from_yaml(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("stop:\n  - max_epoch: 3\n")
    with pytest.raises(tune.ConditionError) as caught:
        tune.stop_from_yaml(bad)
    assert "bad.yaml" in str(caught.value) and "did you mean 'max_epochs'" in str(caught.value)


def test_patience_is_judged_only_at_epochs_that_measured_its_metric():
    """Validation every 5 epochs, best at 5: ``epochs=12`` counts epochs, and fires at the
    first measurement 12 or more epochs after the best (epoch 20), not at epoch 17, when
    nothing new was measured."""
    rows = [
        {"loss": 1.0, **({"validation": 1.0} if epoch % 5 == 0 else {})} for epoch in range(1, 25)
    ]
    stop = tune.patience("validation", epochs=12)
    fired_at = [
        epoch
        for epoch in range(5, 25)  # (before epoch 5, the metric is unknown to a bare History)
        if stop.check(tune.History.from_records(rows[:epoch])) is not None
    ]
    assert fired_at[0] == 20 and 17 not in fired_at
