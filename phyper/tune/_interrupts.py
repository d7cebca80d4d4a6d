"""A Ctrl-C that the training code swallowed is delivered again at the next epoch boundary.

Some libraries catch ``KeyboardInterrupt`` and carry on: scikit-learn's ``partial_fit`` warns
and returns as if the epoch were done, and an interrupt that lands while numpy imports a
submodule lazily can vanish the same way. In a worker of a study's pool the first Ctrl-C both
raises and records itself here (a second one is ignored there, so the run's cleanup is not cut
short); :meth:`phyper.tune.Run.epochs` raises it again after the epoch in progress is committed.

>>> from phyper.tune import _interrupts
>>> _interrupts.request(); _interrupts.pending()
True
>>> _interrupts.clear(); _interrupts.pending()
False
"""

from __future__ import annotations

_requested = False


def request() -> None:
    """Record a Ctrl-C (from a signal handler)."""
    global _requested
    _requested = True


def pending() -> bool:
    """Whether a recorded Ctrl-C is still to be acted on."""
    return _requested


def clear() -> None:
    global _requested
    _requested = False
