"""Training runs for phyper instances: epochs as steps, checkpoints, termination conditions
decoupled from the training code, hooks, and human go/no-go gates.

```python
from phyper import tune

stop = tune.max_epochs(instance.n_epochs) | tune.patience("validation_loss", epochs=15)

def train(instance):
    with tune.Run(instance, stop=stop, hooks=[tune.ProgressBar()]) as run:
        model = run.restore(load_model, otherwise=lambda: new_model(instance))
        for epoch in run.epochs():                               # resumes after the last one
            fit_one_epoch(model)
            run.report(train_loss=..., validation_loss=..., validation_accuracy=...)
            run.checkpoint(model, save_model)                    # save(obj, path), load(path)
    return run.result        # status, why it stopped, best epoch, final and best metrics
```

``run.restore`` loads the last checkpoint, or calls ``otherwise`` when there is none yet. A run
is killed and started again as often as needed: it resumes after its last committed epoch, and
every epoch appears once in ``metrics.csv``. Ctrl-C is not a failure: the run is marked
``interrupted``, and :class:`Interrupted` (a ``KeyboardInterrupt``) says how to resume.
Started again when finished, it does nothing (or trains on, if the stop condition no longer
fires, e.g. ``n_epochs`` was raised).

A search over key hyperparameters, several trials in flight, is a :class:`Study`:

```python
space = {"depth": tune.integers(1, 4), "learning_rate": tune.log_uniform(1e-4, 1e-1)}
study = tune.Study(parser, "search", space=space, metric="validation_loss",
                   sampler=tune.TPESampler(seed=0))
study.optimize(train, n_trials=40, n_jobs=4)
study.best_instance, study.trials_frame()
```

With ``scheduler=tune.SuccessiveHalving(min_epochs=1, max_epochs=100, eta=3)`` the study pauses
each trial's ``tune.Run`` at rungs (1, 3, 9, ... epochs) and resumes the best paused runs from
their checkpoints (asynchronous successive halving); the objective stays the same.
"""

from ._budget import epoch_budget
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
    Interrupted,
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
from ._journal import JournalError
from ._median import median_stop
from ._run import Run, RunResult, load_result, runs
from ._samplers import (
    BaseSampler,
    FinishedTrial,
    GridSampler,
    OptunaSampler,
    RandomSampler,
    TPESampler,
)
from ._scheduler import BaseScheduler, Hyperband, SchedulerError, SuccessiveHalving
from ._space import (
    Dimension,
    SearchSpace,
    SearchSpaceError,
    choice,
    integers,
    log_uniform,
    uniform,
)
from ._state import (
    AWAITING_DECISION,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    PAUSED,
    RUNNING,
    STOPPED,
    Status,
)
from ._study import (
    MissingMetricError,
    Study,
    StudyError,
    StudyGate,
    StudyLockedError,
    StudyView,
    Trial,
    decide_study,
    studies,
)

__all__ = [
    "AWAITING_DECISION",
    "COMPLETED",
    "FAILED",
    "INTERRUPTED",
    "PAUSED",
    "RUNNING",
    "STOPPED",
    "BaseSampler",
    "BaseScheduler",
    "CheckpointError",
    "CheckpointHook",
    "Condition",
    "ConditionError",
    "DecisionError",
    "Dimension",
    "EpochEndHook",
    "FailureHook",
    "FinishedTrial",
    "Fired",
    "Gate",
    "GridSampler",
    "History",
    "Hook",
    "HookError",
    "Hyperband",
    "Interrupted",
    "JournalError",
    "MetricLog",
    "MissingMetricError",
    "OptunaSampler",
    "ProgressBar",
    "RandomSampler",
    "Run",
    "RunLockedError",
    "RunResult",
    "RunStartHook",
    "RunStateError",
    "RunUsageError",
    "SchedulerError",
    "SearchSpace",
    "SearchSpaceError",
    "Status",
    "StopHook",
    "Study",
    "StudyError",
    "StudyGate",
    "StudyLockedError",
    "StudyView",
    "SuccessiveHalving",
    "TPESampler",
    "Trial",
    "UnknownMetricError",
    "after_epoch",
    "choice",
    "condition_from_spec",
    "decide",
    "decide_study",
    "epoch_budget",
    "integers",
    "load_result",
    "log_uniform",
    "max_epochs",
    "median_stop",
    "non_finite",
    "patience",
    "pending_decisions",
    "runs",
    "stop_from_yaml",
    "studies",
    "target",
    "time_budget",
    "uniform",
]
