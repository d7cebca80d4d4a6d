"""What the figures share: the log-scale rule, colours by a hyperparameter, the figure itself."""

from __future__ import annotations

import math
import typing
from collections.abc import Iterable, Sequence

import numpy as np
from matplotlib.ticker import LogFormatterSciNotation

from .._errors import PhyperError

if typing.TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

LogSetting = bool | typing.Literal["auto"]

# Values whose largest is at least this many times their smallest are drawn on a log axis: one
# full decade. Below it a log axis only makes the ticks harder to read.
DECADE = 10.0
# a hyperparameter with at most this many values gets one colour each and a legend; more
# (numeric) values get a colour map and a colour bar
MAX_CATEGORIES = 10


class PlotError(PhyperError, ValueError):
    """Input a figure cannot be drawn from: no runs, an unknown metric or hyperparameter, ..."""


def spans_decades(values: Iterable[float]) -> bool:
    """True when the finite values are all positive and the largest is at least ten times the
    smallest: a log axis then shows the small ones instead of squashing them.

    >>> spans_decades([0.05, 0.2, 3.5]), spans_decades([0.3, 0.9]), spans_decades([-1, 10])
    (True, False, False)
    """
    array = np.asarray([v for v in values if v is not None], dtype=float)
    array = array[np.isfinite(array)]
    if array.size == 0 or (array <= 0).any():
        return False
    return bool(array.max() >= DECADE * array.min())


def use_log(setting: LogSetting, values: Iterable[float], what: str) -> bool:
    """The log-scale choice: ``setting`` itself, or :func:`spans_decades` for ``"auto"``."""
    if setting == "auto":
        return spans_decades(values)
    if not isinstance(setting, bool):
        raise PlotError(f"{what}={setting!r}: expected True, False or 'auto'")
    return setting


class PlainLogFormatter(LogFormatterSciNotation):
    """matplotlib's choice of which log ticks get a label, each label a plain number (0.05,
    0.1, 0.2) rather than a power of ten (5×10⁻²): how people read a loss or a learning rate."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def set_log(ax: Axes, which: typing.Literal["x", "y"]) -> None:
    """A log scale on the x or y axis of ``ax``, with plain-number tick labels."""
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(PlainLogFormatter())
    axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(1.2, 0.5)))


def check_names(wanted: Sequence[str], available: Iterable[str], what: str) -> None:
    """Each name in ``wanted`` must be available; the error lists what is."""
    known = list(dict.fromkeys(available))
    for name in wanted:
        if name not in known:
            raise PlotError(f"unknown {what} {name!r}: expected one of {known}")


def new_figure(
    n_panels: int, width: float, height: float, *, sharey: bool = False, legend_width: float = 0
) -> tuple[Figure, list[Axes]]:
    """A figure of ``n_panels`` panels of ``width`` side by side, plus ``legend_width`` inches
    for legends to their right (constrained layout gives legends outside the panels room of
    their own)."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(
        1,
        n_panels,
        figsize=(width * n_panels + legend_width, height),
        squeeze=False,
        sharey=sharey,
        layout="constrained",
    )
    return figure, list(axes[0])


def given_axes(ax: Axes | Sequence[Axes] | None, n_panels: int, what: str) -> list[Axes] | None:
    """The caller's axes as a list of ``n_panels`` (None when none were given)."""
    if ax is None:
        return None
    from matplotlib.axes import Axes

    axes = [ax] if isinstance(ax, Axes) else list(ax)
    if len(axes) != n_panels:
        raise PlotError(f"{what} draws {n_panels} panel(s); {len(axes)} axes were given")
    return axes


def is_constrained(figure: Figure) -> bool:
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    return isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine)


def label(value: object) -> str:
    """A hyperparameter value as legend text (floats shortly, e.g. 0.001 not 0.0010000)."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


class Colours:
    """One colour per value of a hyperparameter: a palette and a legend for a few values, a
    colour map and a colour bar for many numeric ones (log-scaled when they span decades)."""

    def __init__(self, name: str | None, values: Sequence[object]) -> None:
        import matplotlib as mpl
        from matplotlib.colors import ListedColormap, LogNorm, Normalize

        self.name = name
        distinct = list(dict.fromkeys(_key(v) for v in values))
        numeric = all(_is_number(v) for v in values)
        self.continuous = numeric and len(distinct) > MAX_CATEGORIES
        if self.continuous:
            floats = [float(typing.cast(float, v)) for v in values]
            low, high = min(floats), max(floats)
            log = spans_decades(floats)
            self.norm: Normalize = LogNorm(low, high) if log else Normalize(low, high)
            # viridis without its last, pale yellow tenth, which hardly shows on white
            self.cmap: Colormap = ListedColormap(
                mpl.colormaps["viridis"](np.linspace(0.0, 0.88, 256))
            )
            self.categories: list[object] = []
        else:
            try:  # numbers and names in their order; mixed values as they came
                order = sorted(distinct)  # type: ignore[type-var]
            except TypeError:
                order = distinct
            self.categories = order
            listed: typing.Any = mpl.colormaps["tab10" if len(order) <= 10 else "tab20"]
            palette = listed.colors
            self.palette = {v: palette[i % len(palette)] for i, v in enumerate(order)}

    def __call__(self, value: object) -> tuple[float, float, float, float]:
        from matplotlib.colors import to_rgba

        if self.continuous:
            return to_rgba(self.cmap(self.norm(float(typing.cast(float, value)))))
        return to_rgba(self.palette[_key(value)])

    def legend_handles(self) -> list[typing.Any]:
        from matplotlib.lines import Line2D

        return [
            Line2D([], [], color=self.palette[v], linewidth=2.5, label=label(v))
            for v in self.categories
        ]

    def draw(self, figure: Figure, axes: Sequence[Axes]) -> None:
        """The legend (titled with the hyperparameter's name) or the colour bar, to the right."""
        if self.name is None:
            return
        if self.continuous:
            from matplotlib.cm import ScalarMappable

            mappable = ScalarMappable(norm=self.norm, cmap=self.cmap)
            figure.colorbar(mappable, ax=list(axes), label=self.name, pad=0.02)
            return
        handles = self.legend_handles()
        if is_constrained(figure):
            figure.legend(handles=handles, title=self.name, loc="outside right upper")
        else:
            axes[-1].add_artist(axes[-1].legend(handles=handles, title=self.name, loc="best"))


def _key(value: object) -> object:
    # numpy scalars from a data frame become Python values, so 1 and np.int64(1) match
    return value.item() if isinstance(value, np.generic) else value


def _is_number(value: object) -> bool:
    value = _key(value)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
