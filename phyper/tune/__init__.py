"""Training runs for phyper instances: epochs as steps, checkpoints, termination conditions
decoupled from the training code, hooks, and human go/no-go gates.

```python
from phyper import tune

stop = tune.max_epochs(instance.n_epochs) | tune.patience("validation_loss", epochs=15)

def train(instance):
    with tune.Run(instance, stop=stop, hooks=[tune.ProgressBar()]) as run:
        model = run.restore(load_model) or new_model(instance)   # last checkpoint, or None
        for epoch in run.epochs():                               # resumes after the last one
            fit_one_epoch(model)
            run.report(train_loss=..., validation_loss=..., validation_accuracy=...)
            run.checkpoint(model, save_model)                    # save(obj, path), load(path)
    return run.result        # status, why it stopped, best epoch, final and best metrics
```

A run is killed and started again as often as needed: it resumes after its last committed
epoch, and every epoch appears once in ``metrics.csv``. Started again when finished, it does
nothing (or trains on, if the stop condition no longer fires, e.g. ``n_epochs`` was raised).
"""

from ._conditions import (
    Condition,
    Fired,
    History,
    after_epoch,
    condition_from_spec,
    max_epochs,
    non_finite,
    patience,
    stop_from_yaml,
    target,
    time_budget,
)
from ._errors import (
    CheckpointError,
    ConditionError,
    DecisionError,
    HookError,
    RunLockedError,
    RunStateError,
    RunUsageError,
    UnknownMetricError,
)
from ._gate import Gate, decide, pending_decisions
from ._hooks import (
    CheckpointHook,
    EpochEndHook,
    FailureHook,
    Hook,
    MetricLog,
    ProgressBar,
    RunStartHook,
    StopHook,
)
from ._run import Run, RunResult, load_result, runs
from ._state import AWAITING_DECISION, COMPLETED, FAILED, RUNNING, STOPPED, Status

__all__ = [
    "AWAITING_DECISION",
    "COMPLETED",
    "FAILED",
    "RUNNING",
    "STOPPED",
    "CheckpointError",
    "CheckpointHook",
    "Condition",
    "ConditionError",
    "DecisionError",
    "EpochEndHook",
    "FailureHook",
    "Fired",
    "Gate",
    "History",
    "Hook",
    "HookError",
    "MetricLog",
    "ProgressBar",
    "Run",
    "RunLockedError",
    "RunResult",
    "RunStartHook",
    "RunStateError",
    "RunUsageError",
    "Status",
    "StopHook",
    "UnknownMetricError",
    "after_epoch",
    "condition_from_spec",
    "decide",
    "load_result",
    "max_epochs",
    "non_finite",
    "patience",
    "pending_decisions",
    "runs",
    "stop_from_yaml",
    "target",
    "time_budget",
]
