"""Learning curves of a set of runs: one panel per metric, coloured by a hyperparameter, each
run's best epoch and the reason it stopped marked on its curve."""

from __future__ import annotations

import os
import typing
from collections.abc import Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

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
    use_log,
)
from ._runs import RunCurve, RunsInput, read_runs, stop_kind

if typing.TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# a marker shape per stop reason, so that a reason reads the same in every figure
STOP_MARKERS = {
    "max_epochs": "s",
    "patience": "X",
    "median_stop": "v",
    "target": "*",
    "time_budget": "P",
    "non_finite": "D",
    "paused": "p",
}
OTHER_MARKERS = ("^", "<", ">", "h", "d")
LINE_STYLES = ("-", "--", ":", "-.")
# points²: the best-epoch dot shows around a stop marker drawn on it; smaller with many runs,
# whose markers would otherwise hide the curves
BEST_SIZE, STOP_SIZE = 70, 34
MANY_RUNS, BEST_SIZE_MANY, STOP_SIZE_MANY = 30, 34, 18


def marker_sizes(n_runs: int) -> tuple[int, int]:
    """The areas of the best-epoch dot and of the stop marker, for ``n_runs`` curves."""
    if n_runs > MANY_RUNS:
        return BEST_SIZE_MANY, STOP_SIZE_MANY
    return BEST_SIZE, STOP_SIZE


def learning_curves(
    runs: RunsInput,
    metrics: str | Sequence[str] = "validation_loss",
    *,
    root: str | os.PathLike[str] | None = None,
    hue: str | None = "auto",
    style: str | None = None,
    logy: LogSetting = "auto",
    monitor: str | None = None,
    mode: typing.Literal["min", "max"] = "min",
    resource_name: str | None = None,
    title: str | None = None,
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """The learning curves of ``runs``: one panel per metric, epochs on x.

    ``runs`` are instances, hashes (or prefixes; give ``root``), or a table of metric logs
    from :func:`phyper.collect` (give ``root`` to read how each run ended). Each curve is
    coloured by the hyperparameter ``hue`` (``"auto"``: the first one that varies; a legend or
    colour bar names it) and drawn in a line style per value of ``style``. A dot marks each
    run's best epoch (the one ``tune.Run`` kept; else the best of ``monitor``, by default the
    first metric, by ``mode``), and a marker per stop reason its last epoch. A panel's y axis
    is logarithmic when its values span a decade or more (``logy="auto"``), else linear.
    ``ax``: the axes to draw in (one per metric); else a new figure. Returns the figure.

    >>> import phyper, tempfile
    >>> from phyper import tune, plot
    >>> class Net(phyper.Parser):
    ...     rate = 0.1
    >>> parser = Net(hashed_resources_folder=tempfile.mkdtemp())
    >>> instances = parser.get_instances_from_dictionary({"rate": [0.1, 0.5]})
    >>> for net in instances:
    ...     with tune.Run(net, stop=tune.patience("loss", epochs=2)) as run:
    ...         for epoch in run.epochs():
    ...             run.report(loss=abs(epoch * net.rate - 1) + 0.01)
    >>> figure = plot.learning_curves(instances, "loss")
    >>> figure.axes[0].get_yscale(), figure.legends[0].get_title().get_text()
    ('log', 'rate')
    """
    metric_names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not metric_names:
        raise PlotError("metrics=[]: expected at least one metric name")
    curves = read_runs(runs, root, resource_name)
    for curve in curves:
        check_names(
            metric_names,
            [c for c in curve.curve.columns if c != "epoch"],
            f"metric of run {curve.hash}",
        )
    names = list(dict.fromkeys(n for c in curves for n in c.hyperparameters))
    hue = _pick_hue(curves, names) if hue == "auto" else hue
    for chosen, what in ((hue, "hue"), (style, "style")):
        if chosen is not None:
            check_names([chosen], names, f"{what} hyperparameter")
    colours = Colours(hue, [c.hyperparameters.get(hue) for c in curves] if hue else [None])
    styles = _styles(curves, style)
    axes = given_axes(ax, len(metric_names), "learning_curves")
    if axes is None:
        figure, axes = new_figure(len(metric_names), 5.0, 4.0, legend_width=2.4)
    else:
        figure = typing.cast("Figure", axes[0].figure)
    alpha = 0.8 if len(curves) <= 12 else 0.5
    best_size, stop_size = marker_sizes(len(curves))
    kinds: dict[str, str] = {}
    monitors: set[str] = set()
    for panel, metric in zip(axes, metric_names, strict=True):
        values: list[float] = []
        for run in curves:
            colour = colours(run.hyperparameters.get(hue)) if hue else (0.12, 0.47, 0.71, 1.0)
            frame = run.curve
            values.extend(frame[metric].tolist())
            panel.plot(
                frame.epoch,
                frame[metric],
                color=colour,
                alpha=alpha,
                linewidth=1.2,
                linestyle=styles.get(_value_key(run, style), "-"),
            )
            best_epoch, watched = _best_epoch(run, monitor or metric_names[0], mode)
            if watched:
                monitors.add(watched)
            row = frame[frame.epoch == best_epoch]
            if len(row):
                panel.scatter(
                    row.epoch,
                    row[metric],
                    s=best_size,
                    color=colour,
                    marker="o",
                    edgecolors="black",
                    linewidths=1.0,
                    zorder=4,
                )
            kind = stop_kind(run.result)
            if kind is not None and len(frame):
                marker = kinds.setdefault(kind, _marker_for(kind, kinds))
                last = frame.iloc[-1]
                panel.scatter(
                    [last.epoch],
                    [last[metric]],
                    s=stop_size,
                    marker=marker,
                    color=colour,
                    edgecolors="black",
                    linewidths=0.6,
                    zorder=5,
                )
        if use_log(logy, values, "logy"):
            set_log(panel, "y")
        panel.set_xlabel("epoch")
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        panel.set_ylabel(metric)
        panel.set_title(metric)
        panel.grid(True, which="major", alpha=0.3)
    heading = title if title is not None else f"Learning curves of {len(curves)} runs"
    if len(axes) == 1 and ax is not None:
        axes[0].set_title(heading)
    else:
        figure.suptitle(heading)
    colours.draw(figure, axes)
    _style_legend(figure, axes, style, styles)
    _marker_legend(figure, axes, kinds, monitors)
    return figure


def _pick_hue(curves: Sequence[RunCurve], names: Sequence[str]) -> str | None:
    """The first hyperparameter that varies with few values, else the first that varies."""
    varying = [n for n in names if len(_distinct(curves, n)) > 1]
    few = [n for n in varying if len(_distinct(curves, n)) <= MAX_CATEGORIES]
    chosen = few or varying
    return chosen[0] if chosen else None


def _distinct(curves: Sequence[RunCurve], name: str) -> set[str]:
    return {repr(c.hyperparameters.get(name)) for c in curves}


def _value_key(run: RunCurve, name: str | None) -> str:
    return repr(run.hyperparameters.get(name)) if name else ""


def _styles(curves: Sequence[RunCurve], style: str | None) -> dict[str, str]:
    if style is None:
        return {}
    keys = list(dict.fromkeys(_value_key(c, style) for c in curves))
    if len(keys) > len(LINE_STYLES):
        raise PlotError(
            f"style={style!r} has {len(keys)} values; line styles tell at most "
            f"{len(LINE_STYLES)} apart: use it as hue, or select fewer runs"
        )
    return {key: LINE_STYLES[i] for i, key in enumerate(keys)}


def _best_epoch(run: RunCurve, fallback: str, mode: str) -> tuple[int | None, str | None]:
    """The run's kept epoch and the metric it was chosen by."""
    result = run.result
    if result is not None and result.monitor is not None:
        return result.best_epoch, result.monitor
    if fallback not in run.curve.columns or run.curve[fallback].isna().all():
        return None, None
    values = run.curve[fallback].to_numpy(dtype=float)
    position = np.nanargmin(values) if mode == "min" else np.nanargmax(values)
    return int(run.curve.epoch.iloc[int(position)]), fallback


def _marker_for(kind: str, taken: dict[str, str]) -> str:
    if kind in STOP_MARKERS:
        return STOP_MARKERS[kind]
    free = [m for m in OTHER_MARKERS if m not in taken.values()]
    return free[0] if free else "o"


def _style_legend(
    figure: Figure, axes: Sequence[Axes], style: str | None, styles: dict[str, str]
) -> None:
    if style is None:
        return
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color="0.3", linestyle=typing.cast(typing.Any, s), label=label(_from_key(k)))
        for k, s in styles.items()
    ]
    if is_constrained(figure):
        figure.legend(handles=handles, title=style, loc="outside right lower")
    else:
        axes[0].add_artist(axes[0].legend(handles=handles, title=style, loc="best"))


def _from_key(key: str) -> object:
    """A value back from its repr key, for the legend (literals only; anything else as text)."""
    import ast

    try:
        return ast.literal_eval(key)
    except (ValueError, SyntaxError):
        return key


def _marker_legend(
    figure: Figure, axes: Sequence[Axes], kinds: dict[str, str], monitors: set[str]
) -> None:
    from matplotlib.lines import Line2D

    best = "best epoch" + (f" ({', '.join(sorted(monitors))})" if monitors else "")
    handles = [
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            markersize=8,
            color="0.75",
            markeredgecolor="black",
            label=best,
        )
    ]
    handles += [
        Line2D(
            [],
            [],
            linestyle="",
            marker=marker,
            markersize=7,
            color="0.75",
            markeredgecolor="black",
            label=f"stopped: {kind}",
        )
        for kind, marker in kinds.items()
    ]
    if is_constrained(figure):  # below the panels, in as many columns as fit under them
        columns = len(handles) if len(axes) > 1 else min(2, len(handles))
        figure.legend(handles=handles, loc="outside lower center", ncols=columns)
    else:
        axes[-1].legend(handles=handles, loc="best")
