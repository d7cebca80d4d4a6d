"""Search spaces: which key hyperparameters a study searches, and over which values.

A space maps hyperparameter names to dimensions: :func:`choice`, :func:`integers`,
:func:`uniform` and :func:`log_uniform`. It is checked against the Parser when a study is made:
every name must be a key hyperparameter (a non-key value does not define a trial), and every
value must fit the parameter's declared type and choices, so a bad range fails at once, not in
trial 37.

>>> import phyper
>>> from phyper import tune
>>> class Net(phyper.Parser):
...     depth = 2
...     rate = 0.01
>>> dimensions = {"depth": tune.integers(1, 4), "rate": tune.log_uniform(1e-4, 1e-1)}
>>> space = tune.SearchSpace.check(Net(), dimensions)
>>> space.names
('depth', 'rate')
"""

from __future__ import annotations

import math
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from .._context import context_of
from .._errors import (
    HyperparameterValueError,
    PhyperError,
    SweepFileError,
)

if typing.TYPE_CHECKING:
    import numpy as np

    from .._parser import Parser


class SearchSpaceError(PhyperError, ValueError):
    """A search space that does not fit the Parser's hyperparameters."""


class Dimension:
    """One searched hyperparameter's domain. Subclasses say how to draw, list and check it."""

    kind: typing.ClassVar[str]

    def sample(self, rng: np.random.Generator) -> object:
        raise NotImplementedError

    def grid(self, points: int) -> list[object]:
        """The values a grid visits (continuous dimensions: ``points`` values, evenly spread)."""
        raise NotImplementedError

    def contains(self, value: object) -> bool:
        raise NotImplementedError

    def to_spec(self) -> dict[str, object]:
        raise NotImplementedError

    def bind(self, name: str, coerce: typing.Callable[[object], object]) -> Dimension:
        """This dimension with its values coerced to the parameter's type (errors name it)."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_spec() == other.to_spec()

    def __hash__(self) -> int:
        return hash(repr(self.to_spec()))

    def __repr__(self) -> str:
        ((kind, args),) = self.to_spec().items()
        return f"{kind}({args!r})"


class Choice(Dimension):
    kind = "choice"

    def __init__(self, values: Sequence[object]) -> None:
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise SearchSpaceError(f"choice() takes a non-empty list of values, got {values!r}")
        self.values = list(values)

    def sample(self, rng: np.random.Generator) -> object:
        return self.values[int(rng.integers(len(self.values)))]

    def grid(self, points: int) -> list[object]:
        return list(self.values)

    def contains(self, value: object) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    def to_spec(self) -> dict[str, object]:
        return {"choice": list(self.values)}

    def bind(self, name: str, coerce: typing.Callable[[object], object]) -> Dimension:
        coerced = [coerce(v) for v in self.values]
        if len({repr(v) for v in coerced}) != len(coerced):
            raise SearchSpaceError(f"choice() of {name!r} lists a value twice: {self.values!r}")
        return Choice(coerced)


class Integers(Dimension):
    kind = "integers"

    def __init__(self, low: int, high: int, step: int = 1) -> None:
        for label, value in (("low", low), ("high", high), ("step", step)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise SearchSpaceError(f"integers(): {label} must be an int, got {value!r}")
        if high < low or step < 1:
            raise SearchSpaceError(
                f"integers({low}, {high}, step={step}): expected low <= high and step >= 1"
            )
        self.low, self.high, self.step = low, high, step

    def sample(self, rng: np.random.Generator) -> object:
        count = (self.high - self.low) // self.step + 1
        return self.low + self.step * int(rng.integers(count))

    def grid(self, points: int) -> list[object]:
        return list(range(self.low, self.high + 1, self.step))

    def contains(self, value: object) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
            and (value - self.low) % self.step == 0
        )

    def to_spec(self) -> dict[str, object]:
        return {"integers": [self.low, self.high, self.step]}

    def bind(self, name: str, coerce: typing.Callable[[object], object]) -> Dimension:
        if not isinstance(coerce(self.low), int) or isinstance(coerce(self.low), bool):
            raise SearchSpaceError(
                f"integers() over {name!r}, which does not hold integers; use choice() or "
                "uniform() for it"
            )
        coerce(self.high)
        return self


class Uniform(Dimension):
    kind = "uniform"
    log = False

    def __init__(self, low: float, high: float) -> None:
        for label, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SearchSpaceError(f"{self.kind}(): {label} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise SearchSpaceError(f"{self.kind}(): {label} must be finite, got {value!r}")
        if not low < high:
            raise SearchSpaceError(f"{self.kind}({low}, {high}): expected low < high")
        if self.log and low <= 0:
            raise SearchSpaceError(f"log_uniform({low}, {high}): expected 0 < low")
        self.low, self.high = float(low), float(high)

    # base 10, so that a log grid from 1e-4 to 1e-1 visits 1e-3 and 1e-2 exactly
    def _to_unit(self, value: float) -> float:
        return math.log10(value) if self.log else value

    def _from_unit(self, value: float) -> float:
        return 10.0**value if self.log else value

    def sample(self, rng: np.random.Generator) -> object:
        low, high = self._to_unit(self.low), self._to_unit(self.high)
        return min(self.high, max(self.low, self._from_unit(float(rng.uniform(low, high)))))

    def grid(self, points: int) -> list[object]:
        low, high = self._to_unit(self.low), self._to_unit(self.high)
        if points == 1:
            return [self._from_unit((low + high) / 2)]
        step = (high - low) / (points - 1)
        values: list[object] = [self._from_unit(low + i * step) for i in range(points)]
        values[0], values[-1] = self.low, self.high  # exact ends, whatever rounding did
        return values

    def contains(self, value: object) -> bool:
        return isinstance(value, float) and self.low <= value <= self.high

    def to_spec(self) -> dict[str, object]:
        return {self.kind: [self.low, self.high]}

    def bind(self, name: str, coerce: typing.Callable[[object], object]) -> Dimension:
        if not isinstance(coerce(self.low), float):
            raise SearchSpaceError(
                f"{self.kind}() over {name!r}, which does not hold floats; use integers() or "
                "choice() for it"
            )
        coerce(self.high)
        return self


class LogUniform(Uniform):
    kind = "log_uniform"
    log = True


def choice(values: Sequence[object]) -> Dimension:
    """One of the listed values."""
    return Choice(values)


def integers(low: int, high: int, step: int = 1) -> Dimension:
    """An integer from ``low`` to ``high``, both included, every ``step``."""
    return Integers(low, high, step)


def uniform(low: float, high: float) -> Dimension:
    """A float between ``low`` and ``high``."""
    return Uniform(low, high)


def log_uniform(low: float, high: float) -> Dimension:
    """A float between ``low`` and ``high``, uniform in its logarithm (learning rates)."""
    return LogUniform(low, high)


_RANGES: dict[str, typing.Callable[..., Dimension]] = {
    "integers": Integers,
    "uniform": Uniform,
    "log_uniform": LogUniform,
}


def dimension_from_spec(name: str, spec: object) -> Dimension:
    """A dimension from YAML-friendly data: ``{"choice": [...]}``, ``{"integers": [1, 4]}``,
    ``{"uniform": [0, 1]}``, ``{"log_uniform": [1e-4, 1e-1]}``, or a plain list (a choice)."""
    if isinstance(spec, list):
        return Choice(spec)
    if isinstance(spec, Mapping) and len(spec) == 1:
        ((kind, arguments),) = spec.items()
        arguments = arguments if isinstance(arguments, list) else [arguments]
        if kind == "choice":
            return Choice(arguments)
        if kind in _RANGES:
            try:
                return _RANGES[kind](*arguments)
            except TypeError as error:
                raise SearchSpaceError(
                    f"search dimension {name!r}: {kind}{arguments}: {error}"
                ) from None
    raise SearchSpaceError(
        f"search dimension {name!r} is {spec!r}; expected a list of values or one of "
        "{choice: [...]}, {integers: [low, high]}, {uniform: [low, high]}, "
        "{log_uniform: [low, high]}"
    )


@dataclass(frozen=True)
class SearchSpace:
    """Dimensions over key hyperparameters, in name order, checked against a Parser."""

    dimensions: dict[str, Dimension]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.dimensions)

    @classmethod
    def check(cls, parser: Parser, space: Mapping[str, object]) -> SearchSpace:
        """The space, validated: names are key hyperparameters, values fit their types."""
        if not isinstance(space, Mapping) or not space:
            raise SearchSpaceError(
                f"a search space is a non-empty mapping of hyperparameter names to dimensions "
                f"(tune.choice, tune.integers, ...), got {space!r}"
            )
        schema = context_of(parser).schema
        dimensions: dict[str, Dimension] = {}
        for name in sorted(space):
            raw = space[name]
            if name not in schema.specs:
                raise schema.unknown(name, "the search space")
            spec = schema.specs[name]
            if not spec.key:
                raise SearchSpaceError(
                    f"{name!r} is a non-key hyperparameter of {schema.class_name}: a search "
                    "varies key hyperparameters only (a non-key value does not change what a "
                    "trial is); declare it key, with an omit value to keep existing hashes"
                )
            dimension = raw if isinstance(raw, Dimension) else dimension_from_spec(name, raw)

            def coerce(value: object, spec: typing.Any = spec) -> object:
                return spec.coerce(value)

            try:
                dimensions[name] = dimension.bind(name, coerce)
            except (HyperparameterValueError, TypeError, ValueError) as error:
                if isinstance(error, SearchSpaceError):
                    raise
                raise SearchSpaceError(
                    f"search dimension {name!r} = {dimension!r} does not fit {name!r}: {error}"
                ) from None
        return cls(dimensions)

    def contains(self, values: Mapping[str, object]) -> bool:
        return all(d.contains(values.get(n)) for n, d in self.dimensions.items())

    def sample(self, rng: np.random.Generator) -> dict[str, object]:
        return {name: d.sample(rng) for name, d in self.dimensions.items()}

    def grid_axes(self, points: int) -> list[list[object]]:
        return [d.grid(points) for d in self.dimensions.values()]

    def to_spec(self) -> dict[str, object]:
        return {name: d.to_spec() for name, d in self.dimensions.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(self.dimensions)


def space_from_document(document: object, where: str) -> dict[str, Dimension]:
    """The ``search:`` section of a sweep file, as dimensions."""
    if not isinstance(document, Mapping) or not document:
        raise SweepFileError(
            f"'search' in {where!r} must be a mapping of hyperparameter names to dimensions"
        )
    try:
        return {str(name): dimension_from_spec(str(name), spec) for name, spec in document.items()}
    except SearchSpaceError as error:
        raise SweepFileError(f"'search' in {where!r}: {error}") from None
