"""The exceptions phyper raises.

Each one subclasses the built-in exception users already catch (``ValueError``, ``TypeError``,
``KeyError``, ``LookupError``), so ``except KeyError`` keeps working around phyper calls.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PhyperError(Exception):
    """Base class of every error phyper raises on purpose."""

    def __str__(self) -> str:
        # KeyError would quote the message; a readable sentence is more useful.
        return str(self.args[0]) if self.args else ""


class DeclarationError(PhyperError, TypeError):
    """A Parser subclass declares a hyperparameter phyper cannot accept."""


class UnknownHyperparameterError(PhyperError, KeyError):
    """A name that is not a hyperparameter of the class."""


class HyperparameterTypeError(PhyperError, TypeError):
    """A value of the wrong type for its hyperparameter."""


class HyperparameterValueError(PhyperError, ValueError):
    """A value of the right type that is not allowed (NaN, outside the declared choices)."""


class FrozenInstanceError(PhyperError, AttributeError):
    """An attempt to change an instance, which is immutable once built."""


class ResourceError(PhyperError, ValueError):
    """A resource registered with a bad name or bad dependencies."""


class UnknownResourceError(PhyperError, KeyError):
    """A resource name that was never registered."""


class HashNotFoundError(PhyperError, LookupError):
    """A hash that matches no instance, or no folder on disk."""


class MetadataError(PhyperError, ValueError):
    """A metadata file on disk that is corrupt, foreign or does not match its folder."""


class SweepFileError(PhyperError, ValueError):
    """A YAML sweep file that does not have the expected shape."""


class DuplicateInstanceWarning(UserWarning):
    """Instances that share a hash: they differ only in non-key values, or not at all."""


def closest_hint(name: str, candidates: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest candidate, or an empty string."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {matches[0]!r}?" if matches else ""
