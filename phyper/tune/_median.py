"""Early stopping across trials: stop a run whose metric at epoch k is worse than the median
(or another quantile) of the finished trials of its study at epoch k, read from the store.

This is what users of Optuna's median pruner or Ray Tune's ASHA expect, as a plain termination
condition: it composes with the others and says why it fired.
"""

from __future__ import annotations

import os

import numpy as np

from ._conditions import BUILT_INS, Condition, Fired, History, _check_metric, _check_mode
from ._errors import ConditionError
from ._journal import Journal
from ._state import METRICS_FILE

PREFIX = "median_stop"


class _MedianStop(Condition):
    def __init__(
        self,
        metric: str,
        study: str,
        root: str,
        quantile: float,
        min_trials: int,
        warmup_epochs: int,
        mode: str,
    ) -> None:
        self.metric = _check_metric(metric, where=PREFIX)
        self.mode = _check_mode(mode, where=PREFIX)
        if not 0.0 < quantile < 1.0:
            raise ConditionError(f"{PREFIX}: quantile must be between 0 and 1, got {quantile!r}")
        if min_trials < 1 or warmup_epochs < 0:
            raise ConditionError(
                f"{PREFIX}: expected min_trials >= 1 and warmup_epochs >= 0, got "
                f"{min_trials!r} and {warmup_epochs!r}"
            )
        self.study, self.root = study, os.fspath(root)
        self.quantile, self.min_trials, self.warmup_epochs = quantile, min_trials, warmup_epochs
        self._journal = Journal(os.path.join(self.root, "studies", study, "journal.jsonl"))
        self._journal_size = -1
        self._peers: dict[str, np.ndarray] = {}  # hash -> the metric per epoch

    def _refresh(self) -> None:
        """Load the curves of trials finished since the last look (the journal grew)."""
        try:
            size = os.stat(self._journal.path).st_size
        except FileNotFoundError:
            return
        if size == self._journal_size:
            return
        self._journal_size = size
        for event in self._journal.replay():
            if event.get("event") != "complete" or event["hash"] in self._peers:
                continue
            path = os.path.join(self.root, "all", event["hash"], METRICS_FILE)
            try:
                import pandas as pd

                curve = pd.read_csv(path, usecols=["epoch", self.metric])
            except (OSError, ValueError):
                continue
            self._peers[event["hash"]] = curve[self.metric].to_numpy(dtype=float)

    def check(self, history: History) -> Fired | None:
        epoch = history.last_epoch
        if epoch <= self.warmup_epochs:
            return None
        self._refresh()
        peers = [curve[epoch - 1] for curve in self._peers.values() if len(curve) >= epoch]
        peers = [v for v in peers if np.isfinite(v)]
        if len(peers) < self.min_trials:
            return None
        history.require(self.metric, where=self.describe())
        value = history.row(epoch).get(self.metric)
        if value is None:
            return None
        q = self.quantile if self.mode == "min" else 1.0 - self.quantile
        threshold = float(np.quantile(peers, q))
        worse = value > threshold if self.mode == "min" else value < threshold
        if not worse:
            return None
        return Fired(
            self.describe(),
            f"{self.describe()}: {self.metric} = {value:.6g} at epoch {epoch} is worse than "
            f"the {self.quantile:g} quantile {threshold:.6g} of {len(peers)} finished trials",
        )

    def describe(self) -> str:
        suffix = "" if self.mode == "min" else f", mode={self.mode!r}"
        return f"{PREFIX}({self.metric}, study={self.study}{suffix})"

    def to_spec(self) -> object:
        return {
            PREFIX: {
                "metric": self.metric,
                "study": self.study,
                "root": self.root,
                "quantile": self.quantile,
                "min_trials": self.min_trials,
                "warmup_epochs": self.warmup_epochs,
                "mode": self.mode,
            }
        }


def median_stop(
    metric: str,
    *,
    study: str,
    root: str | os.PathLike[str] = "derived_data",
    quantile: float = 0.5,
    min_trials: int = 3,
    warmup_epochs: int = 5,
    mode: str = "min",
) -> Condition:
    """Fires when ``metric`` at this epoch is worse than the ``quantile`` of the values the
    finished trials of ``study`` (under ``root``) had at the same epoch; not before
    ``warmup_epochs`` epochs, nor with fewer than ``min_trials`` such trials. A study records
    the trials it stops as ``stopped_early``.
    """
    return _MedianStop(metric, study, os.fspath(root), quantile, min_trials, warmup_epochs, mode)


BUILT_INS[PREFIX] = median_stop
