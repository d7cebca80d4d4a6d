"""Termination conditions: small, composable predicates over a run's metric history.

A condition never trains anything: it reads a :class:`History` (the per-epoch metric rows) and
says whether the run should stop, and why. Conditions are therefore testable against each other
on recorded histories, and swappable without touching the training code.

>>> h = History.from_records([{"loss": 3.0}, {"loss": 2.0}, {"loss": 2.5}, {"loss": 2.4}])
>>> stop = max_epochs(10) | patience("loss", epochs=2)
>>> stop.check(h).reason
'patience(loss, 2): no improvement > 0 since epoch 2'
"""

from __future__ import annotations

import inspect
import math
import os
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from .._build import read_sweep
from .._errors import closest_hint
from ._errors import ConditionError, UnknownMetricError

if typing.TYPE_CHECKING:
    import pandas as pd

MODES = ("min", "max")


# ------------------------------------------------------------------------------------ history


class _Tracker:
    """Incremental state over the rows of a history: ``update`` costs O(1) per epoch, so a
    condition never rescans the whole history (10,000 epochs stay as cheap as 10)."""

    key: tuple[object, ...]

    def update(self, epoch: int, row: Mapping[str, float]) -> None:
        raise NotImplementedError


class _Best(_Tracker):
    """The best value of a metric so far; with ``min_delta``, only improvements by more than it
    count (as patience expects), so the best epoch is the last *significant* improvement."""

    def __init__(self, metric: str, mode: str, min_delta: float) -> None:
        self.key = ("best", metric, mode, min_delta)
        self.metric, self.minimize, self.min_delta = metric, mode == "min", min_delta
        self.value: float | None = None
        self.epoch: int | None = None

    def update(self, epoch: int, row: Mapping[str, float]) -> None:
        value = row.get(self.metric)
        if value is None or not math.isfinite(value):
            return
        if self.value is None or (
            value < self.value - self.min_delta
            if self.minimize
            else value > self.value + self.min_delta
        ):
            self.value, self.epoch = value, epoch


class _FirstCrossing(_Tracker):
    """The first epoch at which a metric reached a threshold (<= for min, >= for max)."""

    def __init__(self, metric: str, mode: str, threshold: float) -> None:
        self.key = ("crossing", metric, mode, threshold)
        self.metric, self.minimize, self.threshold = metric, mode == "min", threshold
        self.value: float | None = None
        self.epoch: int | None = None

    def update(self, epoch: int, row: Mapping[str, float]) -> None:
        if self.epoch is not None:
            return
        value = row.get(self.metric)
        if value is None or math.isnan(value):
            return
        if value <= self.threshold if self.minimize else value >= self.threshold:
            self.value, self.epoch = value, epoch


class _FirstNonFinite(_Tracker):
    """The first NaN or infinite value of one metric (or of any metric, for ``None``)."""

    def __init__(self, metric: str | None) -> None:
        self.key = ("non_finite", metric)
        self.metric = metric
        self.found: tuple[int, str, float] | None = None

    def update(self, epoch: int, row: Mapping[str, float]) -> None:
        if self.found is not None:
            return
        items = row.items() if self.metric is None else [(self.metric, row.get(self.metric))]
        for name, value in items:
            if value is not None and not math.isfinite(value):
                self.found = (epoch, name, value)
                return


T = typing.TypeVar("T", bound=_Tracker)


class History:
    """The metric rows of a run, one per epoch (epochs numbered from 1), each a dict of floats.

    ``elapsed_seconds`` is the training wall-clock of the run over all its sessions (the run
    sets it; :func:`time_budget` reads it).

    >>> h = History.from_records([{"loss": 1.0}, {"loss": 0.5}])
    >>> h.last_epoch, h.metrics, h.best("loss")
    (2, ('loss',), (2, 0.5))
    """

    def __init__(self, elapsed_seconds: float = 0.0) -> None:
        self.rows: list[dict[str, float]] = []
        self.metrics: tuple[str, ...] = ()
        self.elapsed_seconds = float(elapsed_seconds)
        self._trackers: dict[tuple[object, ...], _Tracker] = {}

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, object]], *, elapsed_seconds: float = 0.0
    ) -> History:
        """A history from one mapping of metric values per epoch (epoch 1 first)."""
        history = cls(elapsed_seconds)
        for record in records:
            history.append({k: v for k, v in record.items() if k != "epoch"})
        return history

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, elapsed_seconds: float = 0.0) -> History:
        """A history from a DataFrame (e.g. a run's ``metrics.csv`` read by pandas). A NaN cell
        stays NaN (so ``non_finite`` fires as it did in the run), although pandas also reads an
        empty cell (a metric not reported that epoch) as NaN."""
        columns = [c for c in frame.columns if c != "epoch"]
        if "epoch" in frame.columns:
            frame = frame.sort_values("epoch")
        records = typing.cast("list[dict[str, object]]", frame[columns].to_dict("records"))
        return cls.from_records(records, elapsed_seconds=elapsed_seconds)

    def append(self, row: Mapping[str, object]) -> int:
        """Add the next epoch's row; returns its epoch number."""
        clean = {str(name): float(value) for name, value in row.items() if value is not None}  # type: ignore[arg-type]
        new = [name for name in clean if name not in self.metrics]
        if new:
            self.metrics = (*self.metrics, *new)
        self.rows.append(clean)
        epoch = len(self.rows)
        for tracker in self._trackers.values():
            tracker.update(epoch, clean)
        return epoch

    def declare(self, metrics: Iterable[str]) -> None:
        """Make ``metrics`` known before they are measured (``tune.Run(metrics=...)``), so a
        condition on a metric measured only from a later epoch on waits for it."""
        new = [str(name) for name in metrics if name not in self.metrics]
        self.metrics = (*self.metrics, *new)

    def measured(self, metric: str, epoch: int | None = None) -> bool:
        """Whether ``metric`` was reported at ``epoch`` (default: the last epoch)."""
        epoch = self.last_epoch if epoch is None else epoch
        return 1 <= epoch <= len(self.rows) and metric in self.rows[epoch - 1]

    @property
    def last_epoch(self) -> int:
        """The number of the last epoch (0 when nothing was reported yet)."""
        return len(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, epoch: int) -> dict[str, float]:
        """The metrics of one epoch (numbered from 1), as a new dict."""
        if not 1 <= epoch <= len(self.rows):
            raise IndexError(f"epoch {epoch} is not in this history (epochs 1..{len(self.rows)})")
        return dict(self.rows[epoch - 1])

    def values(self, metric: str) -> list[float]:
        """One metric's values in epoch order (NaN where an epoch did not report it)."""
        self.require(metric, where="values()")
        return [row.get(metric, math.nan) for row in self.rows]

    def require(self, metric: str, *, where: str) -> None:
        """Fail, naming ``metric`` and the reported ones, if the run never reported it."""
        if self.rows and metric not in self.metrics:
            raise UnknownMetricError(
                f"{where} reads metric {metric!r}, which this run does not report; reported "
                f"metrics: {list(self.metrics)}{closest_hint(metric, self.metrics)} (a metric "
                "first measured at a later epoch is declared: tune.Run(..., metrics=[...]))"
            )

    def track(self, tracker: T) -> T:
        """The shared tracker with ``tracker``'s key, registered (and fed the rows so far) on
        first use; later rows update it as they arrive."""
        found = self._trackers.get(tracker.key)
        if found is None:
            for epoch, row in enumerate(self.rows, start=1):
                tracker.update(epoch, row)
            self._trackers[tracker.key] = found = tracker
        return typing.cast(T, found)

    def best(self, metric: str, mode: str = "min") -> tuple[int, float] | None:
        """``(epoch, value)`` of the best finite value of ``metric``, the earliest on ties."""
        _check_mode(mode, where="History.best()")
        self.require(metric, where="History.best()")
        tracker = self.track(_Best(metric, mode, 0.0))
        return None if tracker.epoch is None else (tracker.epoch, typing.cast(float, tracker.value))

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=list(self.metrics))
        frame.insert(0, "epoch", range(1, len(self.rows) + 1))
        return frame


# --------------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Fired:
    """A condition that fired: which one (``condition``) and why (``reason``). ``failed`` is
    true when firing means the run failed (non-finite metrics) rather than finished."""

    condition: str
    reason: str
    failed: bool = False


class Condition:
    """Base class of termination conditions; combine them with ``|`` (any), ``&`` (all) and
    ``~`` (not).

    >>> c = max_epochs(100) | (target("acc", 0.9, mode="max") & ~after_epoch(5))
    >>> c
    (max_epochs(100) | (target(acc, 0.9, mode='max') & ~after_epoch(5)))
    >>> condition_from_spec(c.to_spec()) == c
    True
    """

    def check(self, history: History) -> Fired | None:
        """A :class:`Fired` if the run should stop after the history's last epoch, else None."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def to_spec(self) -> object:
        """YAML/JSON-friendly data that :func:`condition_from_spec` turns back into this."""
        raise NotImplementedError

    def children(self) -> tuple[Condition, ...]:
        return ()

    def walk(self) -> Iterator[Condition]:
        """This condition and every member of it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()

    def epoch_limit(self) -> int | None:
        """The epoch by which this condition surely fires, if known (a progress bar's total)."""
        return None

    def __or__(self, other: Condition) -> Condition:
        return _Any((self, _as_condition(other, "|")))

    def __and__(self, other: Condition) -> Condition:
        return _All((self, _as_condition(other, "&")))

    def __invert__(self) -> Condition:
        return _Not(self)

    def __repr__(self) -> str:
        return self.describe()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return NotImplemented
        return type(self) is type(other) and self.to_spec() == other.to_spec()

    def __hash__(self) -> int:
        return hash(repr(self))


def _as_condition(value: object, operator: str) -> Condition:
    if not isinstance(value, Condition):
        raise ConditionError(
            f"cannot combine a condition with {value!r} using {operator!r}: expected another "
            "condition (max_epochs(...), patience(...), ...)"
        )
    return value


def _check_mode(mode: object, *, where: str) -> str:
    if mode not in MODES:
        raise ConditionError(f"{where}: mode must be 'min' or 'max', not {mode!r}")
    return mode  # one of MODES: a str


def _check_metric(metric: object, *, where: str) -> str:
    if not isinstance(metric, str) or not metric:
        raise ConditionError(f"{where}: metric must be a non-empty string, not {metric!r}")
    return metric


def _check_count(value: object, *, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConditionError(f"{where}: {name} must be a positive integer, not {value!r}")
    return value


def _check_number(value: object, *, where: str, name: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConditionError(f"{where}: {name} must be a finite number, not {value!r}")
    if positive and value <= 0:
        raise ConditionError(f"{where}: {name} must be positive, not {value!r}")
    return float(value)


def _mode_suffix(mode: str, default: str = "min") -> str:
    return "" if mode == default else f", mode={mode!r}"


class _MaxEpochs(Condition):
    def __init__(self, n: int) -> None:
        self.n = _check_count(n, where="max_epochs()", name="n")

    def check(self, history: History) -> Fired | None:
        if history.last_epoch >= self.n:
            return Fired(self.describe(), f"{self.describe()}: reached epoch {history.last_epoch}")
        return None

    def describe(self) -> str:
        return f"max_epochs({self.n})"

    def to_spec(self) -> object:
        return {"max_epochs": self.n}

    def epoch_limit(self) -> int | None:
        return self.n


class _AfterEpoch(Condition):
    def __init__(self, n: int) -> None:
        self.n = _check_count(n, where="after_epoch()", name="n")

    def check(self, history: History) -> Fired | None:
        if history.last_epoch >= self.n:
            return Fired(self.describe(), f"{self.describe()}: at epoch {history.last_epoch}")
        return None

    def describe(self) -> str:
        return f"after_epoch({self.n})"

    def to_spec(self) -> object:
        return {"after_epoch": self.n}


class _Patience(Condition):
    def __init__(self, metric: str, epochs: int, min_delta: float, mode: str) -> None:
        where = "patience()"
        self.metric = _check_metric(metric, where=where)
        self.epochs = _check_count(epochs, where=where, name="epochs")
        self.min_delta = _check_number(min_delta, where=where, name="min_delta")
        if self.min_delta < 0:
            raise ConditionError(f"{where}: min_delta must be >= 0, not {min_delta!r}")
        self.mode = _check_mode(mode, where=where)

    def check(self, history: History) -> Fired | None:
        history.require(self.metric, where=self.describe())
        best = history.track(_Best(self.metric, self.mode, self.min_delta))
        # judged only when the metric is measured: between two measurements nothing is known
        if (
            best.epoch is not None
            and history.measured(self.metric)
            and history.last_epoch - best.epoch >= self.epochs
        ):
            return Fired(
                self.describe(),
                f"{self.describe()}: no improvement > {self.min_delta:g} since epoch {best.epoch}",
            )
        return None

    def describe(self) -> str:
        delta = f", min_delta={self.min_delta:g}" if self.min_delta else ""
        return f"patience({self.metric}, {self.epochs}{delta}{_mode_suffix(self.mode)})"

    def to_spec(self) -> object:
        spec: dict[str, object] = {"metric": self.metric, "epochs": self.epochs}
        if self.min_delta:
            spec["min_delta"] = self.min_delta
        if self.mode != "min":
            spec["mode"] = self.mode
        return {"patience": spec}


class _Target(Condition):
    def __init__(self, metric: str, value: float, mode: str) -> None:
        where = "target()"
        self.metric = _check_metric(metric, where=where)
        self.value = _check_number(value, where=where, name="value")
        self.mode = _check_mode(mode, where=where)

    def check(self, history: History) -> Fired | None:
        history.require(self.metric, where=self.describe())
        # the first crossing, not the last value: once reached, the run would have stopped there
        crossing = history.track(_FirstCrossing(self.metric, self.mode, self.value))
        if crossing.epoch is None:
            return None
        sign = "<=" if self.mode == "min" else ">="
        return Fired(
            self.describe(),
            f"{self.describe()}: {self.metric} = {crossing.value:g} {sign} {self.value:g} "
            f"at epoch {crossing.epoch}",
        )

    def describe(self) -> str:
        return f"target({self.metric}, {self.value:g}{_mode_suffix(self.mode)})"

    def to_spec(self) -> object:
        spec: dict[str, object] = {"metric": self.metric, "value": self.value}
        if self.mode != "min":
            spec["mode"] = self.mode
        return {"target": spec}


class _TimeBudget(Condition):
    def __init__(self, seconds: float) -> None:
        self.seconds = _check_number(seconds, where="time_budget()", name="seconds", positive=True)

    def check(self, history: History) -> Fired | None:
        if history.elapsed_seconds >= self.seconds:
            return Fired(
                self.describe(),
                f"{self.describe()}: {history.elapsed_seconds:.1f} s of training at epoch "
                f"{history.last_epoch}",
            )
        return None

    def describe(self) -> str:
        return f"time_budget({self.seconds:g})"

    def to_spec(self) -> object:
        return {"time_budget": self.seconds}


class _NonFinite(Condition):
    def __init__(self, metric: str | None) -> None:
        self.metric = None if metric is None else _check_metric(metric, where="non_finite()")

    def check(self, history: History) -> Fired | None:
        if self.metric is not None:
            history.require(self.metric, where=self.describe())
        found = history.track(_FirstNonFinite(self.metric)).found
        if found is None:
            return None
        epoch, name, value = found
        return Fired(
            self.describe(), f"{self.describe()}: {name} = {value} at epoch {epoch}", failed=True
        )

    def describe(self) -> str:
        return f"non_finite({self.metric or ''})"

    def to_spec(self) -> object:
        return {"non_finite": self.metric}


class _Any(Condition):
    members: tuple[Condition, ...]

    def __init__(self, members: Sequence[Condition]) -> None:
        flat: list[Condition] = []
        for member in members:
            flat.extend(member.members if isinstance(member, _Any) else [member])
        self.members = tuple(flat)

    def children(self) -> tuple[Condition, ...]:
        return self.members

    def check(self, history: History) -> Fired | None:
        # every member is checked, so the result names all that fired, not only the first
        fired = [f for f in (m.check(history) for m in self.members) if f is not None]
        if not fired:
            return None
        return Fired(
            " | ".join(f.condition for f in fired),
            "; ".join(f.reason for f in fired),
            failed=any(f.failed for f in fired),
        )

    def describe(self) -> str:
        return "(" + " | ".join(m.describe() for m in self.members) + ")"

    def to_spec(self) -> object:
        return {"any": [m.to_spec() for m in self.members]}

    def epoch_limit(self) -> int | None:
        limits = [limit for m in self.members if (limit := m.epoch_limit()) is not None]
        return min(limits) if limits else None


class _All(Condition):
    members: tuple[Condition, ...]

    def __init__(self, members: Sequence[Condition]) -> None:
        flat: list[Condition] = []
        for member in members:
            flat.extend(member.members if isinstance(member, _All) else [member])
        self.members = tuple(flat)

    def children(self) -> tuple[Condition, ...]:
        return self.members

    def check(self, history: History) -> Fired | None:
        fired: list[Fired] = []
        for member in self.members:
            result = member.check(history)
            if result is None:
                return None
            fired.append(result)
        return Fired(
            self.describe(),
            " and ".join(f.reason for f in fired),
            failed=any(f.failed for f in fired),
        )

    def describe(self) -> str:
        return "(" + " & ".join(m.describe() for m in self.members) + ")"

    def to_spec(self) -> object:
        return {"all": [m.to_spec() for m in self.members]}

    def epoch_limit(self) -> int | None:
        limits = [m.epoch_limit() for m in self.members]
        return None if None in limits else max(typing.cast(list[int], limits))


class _Not(Condition):
    def __init__(self, member: Condition) -> None:
        self.member = _as_condition(member, "~")

    def children(self) -> tuple[Condition, ...]:
        return (self.member,)

    def check(self, history: History) -> Fired | None:
        if self.member.check(history) is not None:
            return None
        return Fired(
            self.describe(),
            f"{self.describe()}: {self.member.describe()} has not fired at epoch "
            f"{history.last_epoch}",
        )

    def describe(self) -> str:
        return f"~{self.member.describe()}"

    def to_spec(self) -> object:
        return {"not": self.member.to_spec()}


# ---------------------------------------------------------------------------------- built-ins


def max_epochs(n: int) -> Condition:
    """Fires once ``n`` epochs are done.

    >>> max_epochs(3).check(History.from_records([{}] * 3))
    Fired(condition='max_epochs(3)', reason='max_epochs(3): reached epoch 3', failed=False)
    """
    return _MaxEpochs(n)


def patience(metric: str, epochs: int, *, min_delta: float = 0.0, mode: str = "min") -> Condition:
    """Fires when ``metric`` has not improved by more than ``min_delta`` for ``epochs`` epochs.

    ``epochs`` counts epochs, not measurements: with a metric measured every 5 epochs,
    ``patience("validation_loss", epochs=15)`` stops the third measurement after the best one.
    It is judged only at epochs that measured the metric, and epochs that did not measure it
    never count as an improvement.

    >>> h = History.from_records([{"acc": 0.5}, {"acc": 0.6}, {"acc": 0.6}])
    >>> patience("acc", 1, mode="max").check(h).reason
    "patience(acc, 1, mode='max'): no improvement > 0 since epoch 2"
    """
    return _Patience(metric, epochs, min_delta, mode)


def target(metric: str, value: float, *, mode: str = "min") -> Condition:
    """Fires once ``metric`` reaches ``value``: ``<=`` for mode min, ``>=`` for max.

    >>> target("loss", 0.1).check(History.from_records([{"loss": 0.5}, {"loss": 0.05}])).reason
    'target(loss, 0.1): loss = 0.05 <= 0.1 at epoch 2'
    """
    return _Target(metric, value, mode)


def time_budget(seconds: float) -> Condition:
    """Fires once the run has trained ``seconds`` of wall-clock, summed over all its sessions.

    >>> time_budget(60).check(History.from_records([{}], elapsed_seconds=61.0)) is not None
    True
    """
    return _TimeBudget(seconds)


def non_finite(metric: str | None = None) -> Condition:
    """Fires (and fails the run) on a NaN or infinite value of ``metric``, or of any metric.
    A metric an epoch did not report (left out of ``run.report``) is not a value: ignored.

    >>> non_finite().check(History.from_records([{"loss": float("nan")}])).failed
    True
    """
    return _NonFinite(metric)


def after_epoch(n: int) -> Condition:
    """Fires at every epoch from ``n`` on (handy for gates: pause for review at epoch ``n``).

    >>> after_epoch(2).check(History.from_records([{}])) is None
    True
    """
    return _AfterEpoch(n)


# --------------------------------------------------------------------------------------- specs

BUILT_INS: dict[str, Callable[..., Condition]] = {
    "max_epochs": max_epochs,
    "patience": patience,
    "target": target,
    "time_budget": time_budget,
    "non_finite": non_finite,
    "after_epoch": after_epoch,
}
COMBINATORS = ("any", "all", "not")


def condition_from_spec(spec: object, *, where: str = "condition spec") -> Condition:
    """A condition from YAML-friendly data: ``{"max_epochs": 100}``, ``{"patience": {"metric":
    "validation_loss", "epochs": 15}}``, ``{"any": [...]}``, ``{"all": [...]}``, ``{"not": ...}``,
    or a list (meaning any).

    >>> condition_from_spec([{"max_epochs": 50}, {"patience": {"metric": "loss", "epochs": 5}}])
    (max_epochs(50) | patience(loss, 5))
    """
    if isinstance(spec, Condition):
        return spec
    if isinstance(spec, list):
        return _combine("any", spec, where)
    known = [*BUILT_INS, *COMBINATORS]
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise ConditionError(
            f"{where}: expected a mapping with exactly one key (one of {known}) or a list of "
            f"conditions, got {spec!r}"
        )
    [(name, argument)] = spec.items()
    if name in COMBINATORS:
        if name == "not":
            return _Not(condition_from_spec(argument, where=f"{where} -> not"))
        if not isinstance(argument, list):
            raise ConditionError(f"{where}: {name!r} takes a list of conditions, not {argument!r}")
        return _combine(name, argument, where)
    factory = BUILT_INS.get(name) if isinstance(name, str) else None
    if factory is None:
        raise ConditionError(
            f"{where}: unknown condition {name!r}; known: {known}{closest_hint(str(name), known)}"
        )
    return _call_factory(name, factory, argument, where)


def _combine(name: str, items: list[object], where: str) -> Condition:
    if not items:
        raise ConditionError(f"{where}: {name!r} needs at least one condition, got an empty list")
    members = [
        condition_from_spec(item, where=f"{where} -> {name}[{i}]") for i, item in enumerate(items)
    ]
    if len(members) == 1:
        return members[0]
    return _Any(members) if name == "any" else _All(members)


def _call_factory(
    name: str, factory: Callable[..., Condition], argument: object, where: str
) -> Condition:
    parameters = inspect.signature(factory).parameters
    if isinstance(argument, Mapping):
        unknown = [key for key in argument if key not in parameters]
        if unknown:
            raise ConditionError(
                f"{where}: {name} has no argument {unknown[0]!r}; its arguments are "
                f"{list(parameters)}{closest_hint(str(unknown[0]), parameters)}"
            )
        required = [
            p.name
            for p in parameters.values()
            if p.default is inspect.Parameter.empty and p.name not in argument
        ]
        if required:
            raise ConditionError(f"{where}: {name} lacks required argument(s) {required}")
        return _build(factory, where, **argument)
    required = [p for p in parameters.values() if p.default is inspect.Parameter.empty]
    if len(required) > 1:
        raise ConditionError(
            f"{where}: {name} takes a mapping of its arguments {list(parameters)}, not {argument!r}"
        )
    if argument is None and not required:
        return _build(factory, where)
    return _build(factory, where, argument)


def _build(
    factory: Callable[..., Condition], where: str, *args: object, **kwargs: object
) -> Condition:
    try:
        return factory(*args, **kwargs)
    except ConditionError as error:
        raise ConditionError(f"{where}: {error}") from None


def stop_from_yaml(path: str | os.PathLike[str]) -> Condition:
    """The condition in the top-level ``stop:`` section of a YAML sweep file."""
    where = os.fspath(path)
    document = read_sweep(path)
    if "stop" not in document:
        raise ConditionError(
            f"sweep file {where!r} has no top-level 'stop:' section (expected e.g. "
            "'stop: [{max_epochs: 100}, {patience: {metric: validation_loss, epochs: 15}}]')"
        )
    return condition_from_spec(document["stop"], where=f"sweep file {where!r}, stop:")
