"""A search's figures: the best value so far by trial or by epochs trained, seeds of one study
shown as their median and range; and the metric against each searched hyperparameter."""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..tune._study import FINISHED, STOPPED_EARLY, StudyView
from ._common import (
    MAX_CATEGORIES,
    Colours,
    LogSetting,
    PlotError,
    check_names,
    given_axes,
    is_constrained,
    label,
    new_figure,
    set_log,
    spans_decades,
    use_log,
)
from ._studies import (
    Grouping,
    StudiesInput,
    best_so_far_values,
    epochs_trained,
    read_studies,
)

if typing.TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

X_LABELS = {"trial": "trials", "epochs": "epochs trained (cumulative)"}
BASELINE_STYLES = ("--", ":", "-.")


def best_so_far(
    studies: StudiesInput = None,
    *,
    root: str | os.PathLike[str] | None = None,
    x: typing.Literal["trial", "epochs"] = "trial",
    baseline: float | Mapping[str, float] | None = None,
    group: Grouping = "name",
    logy: LogSetting = "auto",
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Each study's best value so far, against trials or against epochs trained (the budget).

    ``studies``: names (with ``root``), ``tune.Study`` objects, a mapping of labels to lists of
    them, or None for every study under ``root``. Studies of one group (by default, names that
    differ only in a ``-seedN`` suffix; ``group="sampler"`` by sampler; or a function of the
    study) are drawn thin, with their median as a thick line and their range shaded, up to
    the budget every one of them reached. ``x="epochs"`` counts each trial's epochs from its
    run (0 for a configuration answered from the store). ``baseline``: a value, or values by
    label, drawn as dashed lines (e.g. the grid's best). Returns the figure.

    >>> import phyper, tempfile
    >>> from phyper import tune, plot
    >>> class Net(phyper.Parser):
    ...     width = 4
    >>> parser = Net(hashed_resources_folder=tempfile.mkdtemp())
    >>> for seed in (0, 1):
    ...     study = tune.Study(parser, f"demo-seed{seed}", space={"width": tune.integers(1, 9)},
    ...                        metric="loss", sampler=tune.RandomSampler(seed=seed))
    ...     _ = study.optimize(lambda net: {"loss": abs(net.width - 5) + 1}, n_trials=4)
    >>> figure = plot.best_so_far(root=parser.hashed_resources_folder, baseline=1.5)
    >>> [text.get_text() for text in figure.legends[0].get_texts()]
    ['demo: median of 2 (range shaded)', 'baseline: 1.5']
    """
    if x not in X_LABELS:
        raise PlotError(f"x={x!r}: expected 'trial' or 'epochs'")
    groups = read_studies(studies, root, group)
    first = next(iter(groups.values()))[0]
    metric, direction = first.metric, first.direction
    baselines = _baselines(baseline)
    if ax is None:
        figure, (panel,) = new_figure(1, 7.5, 5.0)
    else:
        panel, figure = ax, typing.cast("Figure", ax.figure)
    palette = Colours(None, list(groups))
    values: list[float] = list(baselines.values())
    handles = []
    for name, views in groups.items():
        colour = palette(name)
        lines = [_line(view, x) for view in views]
        for xs, ys in lines:
            values.extend(ys[np.isfinite(ys)].tolist())
            thin = len(lines) > 1
            panel.step(
                xs,
                ys,
                where="post",
                color=colour,
                alpha=0.35 if thin else 0.9,
                linewidth=0.9 if thin else 2.0,
            )
        if sum(len(xs) > 0 for xs, _ in lines) > 1:
            grid, median, low, high = _median_and_range([line for line in lines if len(line[0])])
            handle = panel.step(grid, median, where="post", color=colour, linewidth=2.4)[0]
            panel.fill_between(grid, low, high, step="post", color=colour, alpha=0.18, linewidth=0)
            handle.set_label(f"{name}: median of {len(lines)} (range shaded)")
        else:
            handle = panel.lines[-1]
            handle.set_label(name)
        handles.append(handle)
    for (text, value), style in zip(baselines.items(), BASELINE_STYLES * 3, strict=False):
        line = panel.axhline(value, color="black", linestyle=style, linewidth=1.3)
        line.set_label(f"{text}: {value:.3g}")
        handles.append(line)
    if use_log(logy, values, "logy"):
        set_log(panel, "y")
    panel.set_xlabel(X_LABELS[x])
    panel.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials and epochs count
    panel.set_ylabel(f"best {metric} so far")
    better = "lower" if direction == "minimize" else "higher"
    panel.set_title(title if title is not None else f"Best {metric} so far ({better} is better)")
    panel.grid(True, alpha=0.3)
    if is_constrained(figure) and ax is None:  # below: the labels can be long
        figure.legend(handles=handles, loc="outside lower center", ncols=min(2, len(handles)))
    else:
        panel.legend(handles=handles, loc="best")
    return figure


def _baselines(baseline: float | Mapping[str, float] | None) -> dict[str, float]:
    if baseline is None:
        return {}
    items = dict(baseline) if isinstance(baseline, Mapping) else {"baseline": baseline}
    for text, value in items.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise PlotError(f"baseline {text!r} = {value!r}: expected a number")
    return {str(k): float(v) for k, v in items.items()}


def _line(view: StudyView, x: str) -> tuple[np.ndarray, np.ndarray]:
    """The (x, best so far) points of a study, one per trial."""
    ys = np.asarray(best_so_far_values(view), dtype=float)
    xs = np.arange(1, len(ys) + 1, dtype=float) if x == "trial" else np.cumsum(epochs_trained(view))
    return xs, ys


def _median_and_range(
    lines: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Median, minimum and maximum of step functions on the union of their x values, where
    every one of them has a value: from the x where the last one found its first, up to the x
    every one reached (beyond it a study spent no budget, so it has no value). Before that, a
    study joining with a poor first value would lift the median of the others."""
    end = min(xs[-1] for xs, _ in lines if len(xs))
    grid = np.unique(np.concatenate([xs for xs, _ in lines]))
    grid = grid[grid <= end]
    table = np.full((len(lines), len(grid)), np.nan)
    for row, (xs, ys) in enumerate(lines):
        # the value after the last trial at or before each grid point
        positions = np.searchsorted(xs, grid, side="right") - 1
        valid = positions >= 0
        table[row, valid] = ys[positions[valid]]
    every = ~np.isnan(table).any(axis=0)
    table, grid = table[:, every], grid[every]
    if not grid.size:  # the studies have no stretch of budget in common
        return grid, grid, grid, grid
    return grid, np.median(table, 0), table.min(0), table.max(0)


# ------------------------------------------------------------------- metric by hyperparameter


def metric_by_hyperparameter(
    data: StudiesInput | pd.DataFrame = None,
    metric: str | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    params: Sequence[str] | None = None,
    group: Grouping = "name",
    hue: str | None = None,
    log_x: Sequence[str] | None = None,
    logy: LogSetting = "auto",
    title: str | None = None,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """The metric against each hyperparameter, one panel each (y shared).

    ``data``: studies (as for :func:`best_so_far`; their finished trials, coloured by group,
    the searched dimensions as panels, log x for ``log_uniform`` ones), or a table with one
    row per configuration (``metric`` and ``params`` are its columns; ``hue`` colours by a
    column; ``log_x`` names the log-scaled ones, by default those whose many values span a
    decade). Dimensions of a few values are drawn as categories, with their median. Trials
    stopped early are hollow; a star marks the best. Returns the figure.

    >>> import phyper, tempfile
    >>> from phyper import tune, plot
    >>> class Net(phyper.Parser):
    ...     width = 4
    ...     rate = 0.01
    >>> parser = Net(hashed_resources_folder=tempfile.mkdtemp())
    >>> space = {"width": tune.integers(1, 3), "rate": tune.log_uniform(1e-4, 1e-1)}
    >>> study = tune.Study(parser, "demo", space=space, metric="loss")
    >>> _ = study.optimize(lambda net: {"loss": net.width * net.rate}, n_trials=6)
    >>> figure = plot.metric_by_hyperparameter(study)
    >>> [(panel.get_xlabel(), panel.get_xscale()) for panel in figure.axes]
    [('rate (log scale)', 'log'), ('width', 'linear')]
    """
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        if hue is not None and hue not in data.columns:
            check_names([hue], data.columns, "hue column")
        frame, metric, params, kinds, colour_by, better = _from_table(
            data, metric, params, hue, log_x
        )
    else:
        if hue is not None:
            raise PlotError("hue=... colours a table's rows; studies are coloured by group")
        frame, metric, params, kinds, better = _from_studies(data, root, group, metric, params)
        colour_by = "group"
    if frame.empty:
        raise PlotError(f"no finished values of {metric!r} to draw")
    figure_axes = given_axes(axes, len(params), "metric_by_hyperparameter")
    if figure_axes is None:
        figure, figure_axes = new_figure(len(params), 3.2, 3.8, sharey=True, legend_width=1.6)
    else:
        figure = typing.cast("Figure", figure_axes[0].figure)
    colours = Colours(colour_by, frame[colour_by].tolist() if colour_by else [None])
    metric_values = frame[metric].to_numpy(dtype=float)
    best = np.argmin(metric_values) if better == "lower" else np.argmax(metric_values)
    best_row = frame.iloc[int(best)]
    hollow = frame["stopped_early"].to_numpy(dtype=bool)
    rng = np.random.default_rng(0)  # the same jitter every time
    for panel, name in zip(figure_axes, params, strict=True):
        kind = kinds[name]
        rows = frame[frame[name].notna()]
        colour = [
            colours(v) if colour_by else (0.12, 0.47, 0.71, 1.0)
            for v in (rows[colour_by] if colour_by else [None] * len(rows))
        ]
        if kind == "category":
            categories = _ordered(rows[name].tolist())
            where = {_category(v): i for i, v in enumerate(categories)}
            xs = np.array([where[_category(v)] for v in rows[name]], dtype=float)
            best_x = where.get(_category(best_row[name]))
            xs_plot = xs + rng.uniform(-0.18, 0.18, len(xs))
            for position in range(len(categories)):
                members = rows[metric][xs == position]
                panel.hlines(
                    members.median(),
                    position - 0.32,
                    position + 0.32,
                    color="black",
                    linewidth=2,
                    zorder=3,
                )
            panel.set_xticks(range(len(categories)), [label(v) for v in categories])
            panel.set_xlim(-0.6, len(categories) - 0.4)
        else:
            xs_plot = rows[name].to_numpy(dtype=float)
            best_x = best_row[name]
            if kind == "log":
                set_log(panel, "x")
        keep = hollow[frame.index.get_indexer(rows.index)]
        colour_array = np.array(colour)
        panel.scatter(
            xs_plot[~keep],
            rows[metric][~keep],
            s=30,
            c=colour_array[~keep],
            alpha=0.85,
            edgecolors="none",
            zorder=2,
        )
        if keep.any():
            panel.scatter(
                xs_plot[keep],
                rows[metric][keep],
                s=30,
                facecolors="none",
                edgecolors=colour_array[keep],
                linewidths=1.2,
                zorder=2,
            )
        if best_x is not None:
            panel.scatter(
                [best_x],
                [best_row[metric]],
                marker="*",
                s=260,
                color="gold",
                edgecolors="black",
                linewidths=1.0,
                zorder=5,
            )
        panel.set_xlabel(name + (" (log scale)" if kind == "log" else ""))
        panel.set_title(name)
        panel.grid(True, alpha=0.3)
    if use_log(logy, frame[metric].tolist(), "logy"):
        set_log(figure_axes[0], "y")
    figure_axes[0].set_ylabel(f"{metric} ({better} is better)")
    figure.suptitle(title if title is not None else f"{metric} against each hyperparameter")
    _legend(figure, figure_axes, colours, bool(hollow.any()), best_row[metric], colour_by)
    return figure


def _category(value: object) -> str:
    """A value's identity as a category: numpy scalars and Python values alike."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _ordered(values: list[object]) -> list[object]:
    distinct = list({_category(v): v for v in values}.values())
    try:
        return sorted(distinct)  # type: ignore[type-var]
    except TypeError:
        return distinct


def _from_studies(
    data: StudiesInput,
    root: str | os.PathLike[str] | None,
    group: Grouping,
    metric: str | None,
    params: Sequence[str] | None,
) -> tuple[pd.DataFrame, str, list[str], dict[str, str], str]:
    import pandas as pd

    groups = read_studies(data, root, group)
    views = [view for members in groups.values() for view in members]
    study_metric = views[0].metric
    if metric is not None and metric != study_metric:
        raise PlotError(f"metric={metric!r}, but the studies optimise {study_metric!r}")
    dimensions: dict[str, str] = {}
    for view in views:
        space = getattr(view, "definition", {}).get("space") or {
            n: typing.cast(typing.Any, view).space.dimensions[n].to_spec()
            for n in view.param_names  # a tune.Study
        }
        for name in view.param_names:
            dimensions.setdefault(name, _kind_of(space.get(name, {})))
    names = list(params) if params is not None else list(dimensions)
    check_names(names, dimensions, "searched hyperparameter")
    rows = []
    for label_, members in groups.items():
        for view in members:
            for trial in view.trials:
                if trial.state in FINISHED and trial.value is not None:
                    rows.append(
                        {
                            "group": label_,
                            study_metric: trial.value,
                            "stopped_early": trial.state == STOPPED_EARLY,
                            **{n: trial.params.get(n) for n in names},
                        }
                    )
    frame = pd.DataFrame(rows, columns=["group", study_metric, "stopped_early", *names])
    better = "lower" if views[0].direction == "minimize" else "higher"
    kinds = {n: dimensions[n] for n in names}
    return frame, study_metric, names, kinds, better


def _kind_of(spec: object) -> str:
    """``log``, ``linear`` or ``category``: how a dimension of this spec is drawn."""
    if not isinstance(spec, Mapping) or len(spec) != 1:
        return "category"
    ((kind, arguments),) = spec.items()
    if kind == "log_uniform":
        return "log"
    if kind == "uniform":
        return "linear"
    if kind == "integers":
        low, high, *rest = arguments
        step = rest[0] if rest else 1
        return "category" if (high - low) // step + 1 <= MAX_CATEGORIES else "linear"
    return "category"


def _from_table(
    data: pd.DataFrame,
    metric: str | None,
    params: Sequence[str] | None,
    hue: str | None,
    log_x: Sequence[str] | None,
) -> tuple[pd.DataFrame, str, list[str], dict[str, str], str | None, str]:
    if metric is None:
        raise PlotError("metric=...: name the table's column to draw")
    check_names([metric], data.columns, "metric column")
    if params is None:
        raise PlotError(f"params=[...]: name the hyperparameter columns to draw against {metric!r}")
    names = list(params)
    check_names(names, data.columns, "hyperparameter column")
    check_names(list(log_x or ()), names, "log_x hyperparameter")
    frame = data.reset_index(drop=True).copy()
    if "stopped_early" not in frame.columns:
        frame["stopped_early"] = False
    frame = frame[frame[metric].notna()]
    kinds = {}
    for name in names:
        values = frame[name].dropna()
        numeric = values.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
        many = bool(numeric.all()) and values.nunique() > MAX_CATEGORIES
        if log_x is not None:
            kinds[name] = "log" if name in log_x else ("linear" if many else "category")
        else:
            kinds[name] = ("log" if spans_decades(values) else "linear") if many else "category"
    return frame, metric, names, kinds, hue, "lower"


def _legend(
    figure: Figure,
    axes: Sequence[Axes],
    colours: Colours,
    any_hollow: bool,
    best_value: float,
    colour_by: str | None,
) -> None:
    from matplotlib.lines import Line2D

    handles = []
    if colour_by is not None and not colours.continuous:
        handles += [
            Line2D([], [], linestyle="", marker="o", color=colours(v), label=label(v))
            for v in colours.categories
        ]
    if any_hollow:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="",
                marker="o",
                markerfacecolor="none",
                color="0.3",
                label="stopped early",
            )
        )
    handles.append(Line2D([], [], color="black", linewidth=2, label="median"))
    handles.append(
        Line2D(
            [],
            [],
            linestyle="",
            marker="*",
            markersize=14,
            color="gold",
            markeredgecolor="black",
            label=f"best ({best_value:.3g})",
        )
    )
    if colours.continuous and colour_by is not None:
        colours.draw(figure, axes)
    if is_constrained(figure):
        figure.legend(handles=handles, loc="outside right upper")
    else:
        axes[-1].legend(handles=handles, loc="best")
