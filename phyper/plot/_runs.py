"""Reading runs for their learning curves: from instances, hashes or a collected table."""

from __future__ import annotations

import math
import os
import typing
from collections.abc import Sequence
from dataclasses import dataclass

from .._parser import Parser
from .._scan import hash_folders_by_prefix
from .._store import display_value, read_folder_info
from ..tune._errors import RunStateError
from ..tune._run import RunResult, load_result
from ..tune._state import METRICS_FILE, STATE_FILE
from ._common import PlotError

if typing.TYPE_CHECKING:
    import pandas as pd

RunsInput = typing.Union[Sequence[Parser], Sequence[str], "pd.DataFrame"]


@dataclass
class RunCurve:
    """One run as a figure needs it: its values per epoch, hyperparameters and how it ended."""

    hash: str
    hyperparameters: dict[str, object]
    curve: pd.DataFrame  # an ``epoch`` column and one column per metric
    result: RunResult | None  # None when the run's state was not available


def stop_kind(result: RunResult | None) -> str | None:
    """What ended a run, in a word: the stop condition's name (``patience``, ``max_epochs``,
    ``median_stop``, ...), else its status when it did not complete (``paused``, ...).

    >>> from phyper.tune import Status
    >>> stop_kind(RunResult("h", "f", Status.COMPLETED, 9, "patience(loss, 5)", None, None,
    ...                     None, None))
    'patience'
    """
    if result is None:
        return None
    if result.stopped_by:
        return result.stopped_by.split("(", 1)[0]
    if result.status.value == "completed":
        return "completed"
    return result.status.value


def read_runs(
    runs: RunsInput, root: str | os.PathLike[str] | None, resource_name: str | None
) -> list[RunCurve]:
    """The runs of instances, of hashes (or hash prefixes) under ``root``, or of a table from
    :func:`phyper.collect` (its ``hash`` and ``epoch`` columns, the hyperparameters between
    them; with ``root``, each run's state is read too)."""
    import pandas as pd

    if isinstance(runs, pd.DataFrame):
        return _from_frame(runs, root, resource_name)
    if isinstance(runs, (str, bytes)) or not isinstance(runs, Sequence):
        raise PlotError(
            f"runs={runs!r}: expected a list of instances or hashes, or a table from phyper.collect"
        )
    curves = []
    for run in runs:
        if isinstance(run, Parser):
            folder = run.get_resources_path(resource_name)
            hyperparameters = run.to_dict(key_only=True)
            run_hash = run.get_instance_hash(resource_name)
        elif isinstance(run, str):
            folder, run_hash = _folder_of(run, root, resource_name)
            hyperparameters = _stored_hyperparameters(folder, resource_name or "all", run_hash)
        else:
            raise PlotError(
                f"run {run!r}: expected a phyper instance or a hash (with root=...), not "
                f"{type(run).__name__}"
            )
        path = os.path.join(folder, METRICS_FILE)
        if not os.path.isfile(path):
            raise PlotError(
                f"run {run_hash} has no metric log {path!r}: expected a folder trained by tune.Run"
            )
        result = _result(folder)
        curve = pd.read_csv(path)
        if result is not None:  # rows past the last commit are not the run's (yet)
            curve = curve[curve.epoch <= result.epochs]
        curves.append(RunCurve(run_hash, hyperparameters, curve, result))
    if not curves:
        raise PlotError("no runs to draw: the list of runs is empty")
    return curves


def _folder_of(
    prefix: str, root: str | os.PathLike[str] | None, resource_name: str | None
) -> tuple[str, str]:
    if root is None:
        raise PlotError(f"run {prefix!r} is a hash: pass root=... (the store's folder) to find it")
    matches = hash_folders_by_prefix(root, prefix, resource_name or "all")
    if len(matches) != 1:
        found = "no folder" if not matches else f"{len(matches)} folders"
        where = os.path.join(os.fspath(root), resource_name or "all")
        raise PlotError(f"hash {prefix!r} names {found} under {where!r}: expected exactly one")
    entry = matches[0][1]
    return entry.path, entry.name


def _stored_hyperparameters(folder: str, resource: str, run_hash: str) -> dict[str, object]:
    try:
        document = read_folder_info(folder, resource, run_hash)
    except FileNotFoundError:
        return {}
    return {k: display_value(v) for k, v in document["hyperparameters"].items()}


def _result(folder: str) -> RunResult | None:
    if not os.path.isfile(os.path.join(folder, STATE_FILE)):
        return None
    try:
        return load_result(folder)
    except RunStateError as error:
        raise PlotError(f"run folder {folder!r}: {error}") from None


def _from_frame(
    frame: pd.DataFrame, root: str | os.PathLike[str] | None, resource_name: str | None
) -> list[RunCurve]:
    columns = list(frame.columns)
    if not columns or "epoch" not in columns:
        raise PlotError(
            f"the table has columns {columns}: expected a table of metric logs from "
            "phyper.collect (a hash column, the hyperparameters, then epoch and the metrics)"
        )
    index = columns[0]
    hyperparameter_names = columns[1 : columns.index("epoch")]
    if not index.endswith("hash"):
        raise PlotError(f"the table's first column is {index!r}: expected the hash column")
    curves = []
    for run_hash, rows in frame.groupby(index, sort=False):
        first = rows.iloc[0]
        hyperparameters = {name: _plain(first[name]) for name in hyperparameter_names}
        curve = rows[[c for c in columns[columns.index("epoch") :]]].reset_index(drop=True)
        result = None
        if root is not None:
            folder = os.path.join(os.fspath(root), resource_name or "all", str(run_hash))
            result = _result(folder)
        curves.append(RunCurve(str(run_hash), hyperparameters, curve, result))
    if not curves:
        raise PlotError("no runs to draw: the table is empty")
    return curves


def _plain(value: object) -> object:
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
