"""Reading studies for the search figures: which studies, grouped how, and what each trial
cost in epochs trained."""

from __future__ import annotations

import math
import os
import re
import typing
from collections.abc import Callable, Iterable, Mapping

from ..tune._errors import RunStateError
from ..tune._state import read_state
from ..tune._study import FINISHED, FROM_STORE, STUDIES, StudyError, StudyView, Trial, studies
from ._common import PlotError

StudyLike = str | StudyView
StudiesInput = StudyLike | Iterable[StudyLike] | Mapping[str, Iterable[StudyLike]] | None
Grouping = typing.Literal["name", "sampler", "study"] | Callable[[StudyView], str]

# "iris-tpe-seed2" is seed 2 of "iris-tpe": studies that differ only in this suffix are one line
SEED_SUFFIX = re.compile(r"[-_.]?seed[-_]?\d+$")


def read_studies(
    studies_input: StudiesInput, root: str | os.PathLike[str] | None, group: Grouping
) -> dict[str, list[StudyView]]:
    """The studies to draw, by group label: every study under ``root`` when none are named;
    a mapping is taken as its own grouping."""
    if isinstance(studies_input, Mapping):
        groups = {
            str(label): [_view(s, root) for s in _as_list(members)]
            for label, members in studies_input.items()
        }
    else:
        if studies_input is None:
            if root is None:
                raise PlotError("no studies given: pass studies=... or root=... (the store)")
            names = list(studies(root).get("study", []))
            if not names:
                where = os.path.join(os.fspath(root), STUDIES)
                raise PlotError(f"no studies under {where!r}: run a tune.Study first")
            views = [_view(name, root) for name in names]
        else:
            views = [_view(s, root) for s in _as_list(studies_input)]
        groups = {}
        for view in views:
            groups.setdefault(_label(view, group), []).append(view)
    groups = {label: members for label, members in groups.items() if members}
    if not groups:
        raise PlotError("no studies to draw: the list of studies is empty")
    metrics = {(v.metric, v.direction) for members in groups.values() for v in members}
    if len(metrics) > 1:
        raise PlotError(
            f"the studies optimise different things {sorted(metrics)}: draw them separately"
        )
    return groups


def _as_list(value: StudyLike | Iterable[StudyLike]) -> list[StudyLike]:
    if isinstance(value, (str, StudyView)):
        return [value]
    return list(value)


def _view(study: StudyLike, root: str | os.PathLike[str] | None) -> StudyView:
    if isinstance(study, StudyView):
        return study
    if not isinstance(study, str):
        raise PlotError(f"study {study!r}: expected a study's name or a tune.Study")
    if root is None:
        raise PlotError(f"study {study!r} is a name: pass root=... (the store's folder)")
    try:
        return StudyView.read(root, study)
    except StudyError as error:
        raise PlotError(str(error)) from None


def study_group(name: str) -> str:
    """The line a study is drawn in by default: its name without a ``-seedN`` suffix.

    >>> study_group("iris-tpe-seed2"), study_group("iris-tpe")
    ('iris-tpe', 'iris-tpe')
    """
    return SEED_SUFFIX.sub("", name) or name


def _label(view: StudyView, group: Grouping) -> str:
    if callable(group):
        return str(group(view))
    if group == "study":
        return view.name
    if group == "name":
        return study_group(view.name)
    if group == "sampler":
        described = getattr(view, "definition", {}).get("sampler") or {}
        return str(described.get("optuna_sampler") or described.get("sampler") or "unknown")
    raise PlotError(
        f"group={group!r}: expected 'name' (seeds of one study name together), 'sampler', "
        "'study', a function of the study, or a mapping of labels to studies"
    )


def root_of(view: StudyView) -> str:
    """The store a study belongs to (its folder is ``<root>/studies/<name>``)."""
    root = getattr(view, "root", None)
    return os.fspath(root) if root is not None else os.path.dirname(os.path.dirname(view.folder))


def epochs_trained(view: StudyView) -> list[float]:
    """Per trial, the epochs this study trained for it: the run's epochs (``run.json``) the
    first time the study met its hash, 0 for an answer from the store or a repeat."""
    root = root_of(view)
    seen: set[str] = set()
    spent = []
    for trial in view.trials:
        if trial.state == FROM_STORE or trial.hash in seen:
            spent.append(0.0)
            continue
        seen.add(trial.hash)
        spent.append(_run_epochs(root, view, trial))
    return spent


def _run_epochs(root: str, view: StudyView, trial: Trial) -> float:
    folder = os.path.join(root, "all", trial.hash)
    try:
        state = read_state(folder, trial.hash)
    except RunStateError as error:
        raise PlotError(f"trial {trial.number} of study {view.name!r}: {error}") from None
    if state is None and trial.state not in FINISHED:
        return 0.0  # failed (or not started) before its run began: it trained nothing
    if state is None:
        raise PlotError(
            f"trial {trial.number} of study {view.name!r} has no run state in {folder!r}: "
            "x='epochs' counts the epochs of trials trained by tune.Run; use x='trial'"
        )
    return float(state.epoch)


def best_so_far_values(view: StudyView) -> list[float]:
    """Per trial in start order, the best value of the finished trials so far (NaN before the
    first)."""
    pick = min if view.direction == "minimize" else max
    best = math.nan
    values = []
    for trial in view.trials:
        if trial.state in FINISHED and trial.value is not None:
            best = trial.value if math.isnan(best) else pick(best, trial.value)
        values.append(best)
    return values
