"""Figures a user can reuse (matplotlib, the ``plot`` extra): learning curves of runs, a
study's best value so far, and the metric against each searched hyperparameter.

```python
from phyper import plot

plot.learning_curves(instances, ["validation_loss", "train_loss"], hue="learning_rate")
plot.best_so_far(root="derived_data", x="epochs", baseline={"grid's best": 0.07})
plot.metric_by_hyperparameter(root="derived_data")
```

Each function returns the matplotlib ``Figure`` (``figure.savefig("curves.png")``) and takes
``ax=`` to draw into axes of the caller's. ``import phyper`` never imports matplotlib; this
module does.
"""

try:
    import matplotlib  # noqa: F401
except ModuleNotFoundError as error:  # pragma: no cover - the extra is missing
    raise ModuleNotFoundError(
        "phyper.plot draws with matplotlib, which is not installed: pip install "
        "'phyper-ml[plot]' (or matplotlib)"
    ) from error

from ._common import PlotError, spans_decades
from ._curves import learning_curves
from ._search import best_so_far, metric_by_hyperparameter
from ._studies import study_group

__all__ = [
    "PlotError",
    "best_so_far",
    "learning_curves",
    "metric_by_hyperparameter",
    "spans_decades",
    "study_group",
]
