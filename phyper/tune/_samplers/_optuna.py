"""Model-based search through Optuna (the optional extra ``phyper-ml[optuna]``).

phyper's store stays the record: on every start of a study, a fresh in-memory Optuna study is
told every known outcome (``add_trial``), this study's and the results found on disk, such as
a Snakemake grid's. Nothing is therefore left RUNNING forever by a killed driver (Optuna's own
journal storage keeps killed trials RUNNING, which skews TPE), and any Optuna sampler works.
"""

from __future__ import annotations

import typing

from .._space import Choice, Integers, LogUniform, SearchSpace, Uniform
from ._base import BaseSampler, Direction, FinishedTrial, params_key

if typing.TYPE_CHECKING:
    import optuna

_PLAIN = (type(None), bool, int, float, str)


def _import_optuna() -> typing.Any:
    try:
        import optuna
    except ImportError:
        raise ImportError(
            "model-based search needs Optuna: pip install 'phyper-ml[optuna]' (or optuna); "
            "tune.RandomSampler and tune.GridSampler need nothing more"
        ) from None
    return optuna


class OptunaSampler(BaseSampler):
    """Any Optuna sampler (``optuna.samplers.TPESampler``, ``CmaEsSampler``, ``GPSampler``,
    ...) behind phyper's sampler contract.

    >>> import optuna
    >>> sampler = OptunaSampler(optuna.samplers.RandomSampler(seed=0))
    >>> sampler.describe()["optuna_sampler"]
    'RandomSampler'
    """

    def __init__(self, sampler: optuna.samplers.BaseSampler) -> None:
        self.sampler = sampler

    def start(self, space: SearchSpace, direction: Direction) -> None:
        optuna = _import_optuna()
        super().start(space, direction)
        if optuna.logging.get_verbosity() == optuna.logging.INFO:
            # one line per trial of an internal, in-memory study is noise here
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self._study = optuna.create_study(direction=direction, sampler=self.sampler)
        self._distributions: dict[str, typing.Any] = {}
        self._codes: dict[str, list[object]] = {}  # choice values Optuna cannot hold: by index
        d = optuna.distributions
        for name, dimension in space.dimensions.items():
            if isinstance(dimension, Choice):
                values = dimension.values
                if all(isinstance(v, _PLAIN) for v in values):
                    self._distributions[name] = d.CategoricalDistribution(values)
                else:
                    self._codes[name] = values
                    self._distributions[name] = d.CategoricalDistribution(list(range(len(values))))
            elif isinstance(dimension, Integers):
                self._distributions[name] = d.IntDistribution(
                    dimension.low, dimension.high, step=dimension.step
                )
            elif isinstance(dimension, (Uniform, LogUniform)):
                self._distributions[name] = d.FloatDistribution(
                    dimension.low, dimension.high, log=isinstance(dimension, LogUniform)
                )
            else:
                raise TypeError(f"no Optuna distribution for {name!r} = {dimension!r}")
        self._asked: dict[tuple[tuple[str, str, object], ...], list[typing.Any]] = {}
        # With successive halving, outcomes come with a budget (a rung) and change (a higher
        # rung): the Optuna study is then rebuilt from the newest outcome of each configuration
        # and, as BOHB does, learns from those that reached the highest budget at which there
        # are enough of them; ``_floor`` is that budget.
        self._observed: dict[tuple[tuple[str, str, object], ...], FinishedTrial] = {}
        self._rebuilt = False  # the study is built from ``_observed`` (not told one by one)
        self._floor = 0
        self._stale = False  # the Optuna study no longer holds the model: rebuild at the ask

    def _encode(self, params: dict[str, object]) -> dict[str, object]:
        return {
            name: (self._codes[name].index(value) if name in self._codes else value)
            for name, value in params.items()
        }

    def _decode(self, params: dict[str, object]) -> dict[str, object]:
        return {
            name: (self._codes[name][int(value)] if name in self._codes else value)  # type: ignore[call-overload]
            for name, value in params.items()
        }

    def tell(self, trial: FinishedTrial) -> None:
        states = self._optuna.trial.TrialState
        key = params_key(trial.params)
        self._observed[key] = trial
        if trial.budget is not None and not self._rebuilt:
            self._rebuilt = self._stale = True  # from now on the model is built by budget
        if self._rebuilt and not self._in_model(trial):
            # not among what the model learns from (yet): an asked trial is closed unscored
            asked = self._asked.get(key)
            if asked:
                self._study.tell(asked.pop(), state=states.FAIL)
            return
        failed = trial.value is None
        asked = self._asked.get(key)
        if asked:
            # a trial this sampler proposed: close it in Optuna, never leave it RUNNING
            optuna_trial = asked.pop()
            if failed:
                self._study.tell(optuna_trial, state=states.FAIL)
            else:
                self._study.tell(optuna_trial, trial.value)
            return
        self._study.add_trial(
            self._optuna.trial.create_trial(
                params=self._encode(trial.params),
                distributions=self._distributions,
                value=None if failed else trial.value,
                state=states.FAIL if failed else states.COMPLETE,
            )
        )

    def update(self, trial: FinishedTrial) -> None:
        if trial.value is None:
            return
        # a finished Optuna trial cannot change its value: the study is rebuilt at the next ask
        self._observed[params_key(trial.params)] = trial
        self._rebuilt = self._stale = True

    def _in_model(self, trial: FinishedTrial) -> bool:
        return trial.value is not None and (trial.budget is None or trial.budget >= self._floor)

    def _budget_floor(self) -> int:
        """The highest budget reached by enough configurations for the sampler to model them
        (its random start-up count, e.g. TPE's ``n_startup_trials``; else one more than the
        number of dimensions, as BOHB); 0 while no budget has enough."""
        needed = int(getattr(self.sampler, "_n_startup_trials", len(self._distributions) + 1))
        reached = sorted(
            (t.budget for t in self._observed.values() if t.value is not None and t.budget),
            reverse=True,
        )
        unbudgeted = sum(t.value is not None and t.budget is None for t in self._observed.values())
        for position, budget in enumerate(reached):
            if position + 1 + unbudgeted >= needed:
                return budget
        return 0

    def _build_model(self) -> None:
        """A fresh in-memory Optuna study holding what the model learns from now. Trials asked
        and not yet told are left out; their outcome is added when it comes."""
        states = self._optuna.trial.TrialState
        self._floor = self._budget_floor()
        study = self._optuna.create_study(direction=self.direction, sampler=self.sampler)
        for trial in self._observed.values():
            if self._in_model(trial):
                study.add_trial(
                    self._optuna.trial.create_trial(
                        params=self._encode(trial.params),
                        distributions=self._distributions,
                        value=trial.value,
                        state=states.COMPLETE,
                    )
                )
        self._study = study
        self._asked = {}
        self._stale = False

    def ask(self) -> dict[str, object] | None:
        if self._rebuilt and (self._stale or self._budget_floor() != self._floor):
            self._build_model()
        optuna_trial = self._study.ask(self._distributions)
        params = self._decode(optuna_trial.params)
        self._asked.setdefault(params_key(params), []).append(optuna_trial)
        return params

    def describe(self) -> dict[str, object]:
        return {"sampler": "OptunaSampler", "optuna_sampler": type(self.sampler).__name__}


class TPESampler(OptunaSampler):
    """Optuna's tree-structured Parzen estimator (``optuna.samplers.TPESampler``), the
    default model-based sampler; ``options`` go to Optuna's constructor.

    >>> sampler = TPESampler(seed=0)
    >>> isinstance(sampler, (TPESampler, OptunaSampler)), sampler.describe()["optuna_sampler"]
    (True, 'TPESampler')
    """

    def __init__(self, seed: int | None = None, **options: typing.Any) -> None:
        optuna = _import_optuna()
        super().__init__(optuna.samplers.TPESampler(seed=seed, **options))
