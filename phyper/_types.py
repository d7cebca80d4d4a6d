"""Value types of hyperparameters: what a value may be, and how it is coerced.

Coercion happens once, when an instance is built, so that everything downstream (hashing,
comparison, the data frames) sees one canonical Python value per semantic value: a float
parameter given ``1`` holds ``1.0``, numpy scalars become Python scalars, lists become tuples.
"""

from __future__ import annotations

import enum
import math
import pathlib
import types
import typing
from dataclasses import dataclass

from ._errors import DeclarationError, HyperparameterTypeError, HyperparameterValueError


def _type_name(value: object) -> str:
    return type(value).__name__


def _unwrap_numpy(value: object) -> object:
    # numpy is not imported here: its scalars are recognised by module and unwrapped with item().
    if (
        type(value).__module__ == "numpy"
        and hasattr(value, "item")
        and getattr(value, "ndim", None) == 0
    ):
        return value.item()
    return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class ValueType:
    """One kind of hyperparameter value. Subclasses implement ``coerce`` and ``describe``."""

    def coerce(self, value: object, name: str) -> object:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def reject(self, value: object, name: str) -> typing.NoReturn:
        hint = ""
        if isinstance(value, str) and _looks_numeric(value):
            hint = " (YAML reads 1e-3 as text: write 1.0e-3)"
        raise HyperparameterTypeError(
            f"hyperparameter {name!r} expects {self.describe()}, "
            f"got {_type_name(value)} {value!r}{hint}"
        )

    @property
    def monomorphic(self) -> bool:
        """True when every coerced value has one Python type, so values can key a cache."""
        return False


class BoolType(ValueType):
    def coerce(self, value: object, name: str) -> object:
        value = _unwrap_numpy(value)
        if isinstance(value, bool):
            return value
        self.reject(value, name)

    def describe(self) -> str:
        return "a bool"

    monomorphic = True


class IntType(ValueType):
    def coerce(self, value: object, name: str) -> object:
        value = _unwrap_numpy(value)
        if isinstance(value, (bool, enum.Enum)):
            self.reject(value, name)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)  # data frames turn int columns into floats
        self.reject(value, name)

    def describe(self) -> str:
        return "an int"

    monomorphic = True


class FloatType(ValueType):
    def coerce(self, value: object, name: str) -> object:
        value = _unwrap_numpy(value)
        if isinstance(value, (bool, enum.Enum)):
            self.reject(value, name)
        if isinstance(value, (int, float)):
            result = float(value)
            if math.isnan(result):
                raise HyperparameterValueError(
                    f"hyperparameter {name!r} got NaN, expected a number: NaN is not equal to "
                    "itself, so it cannot name a result; use None (with an Optional type) for "
                    "'no value'"
                )
            return result + 0.0  # -0.0 and 0.0 are one value
        self.reject(value, name)

    def describe(self) -> str:
        return "a float"

    monomorphic = True


class StrType(ValueType):
    def coerce(self, value: object, name: str) -> object:
        value = _unwrap_numpy(value)
        if isinstance(value, str) and not isinstance(value, enum.Enum):
            return str(value)
        self.reject(value, name)

    def describe(self) -> str:
        return "a str"

    monomorphic = True


class PathType(ValueType):
    def coerce(self, value: object, name: str) -> object:
        if isinstance(value, (str, pathlib.PurePath)):
            return pathlib.Path(value)
        self.reject(value, name)

    def describe(self) -> str:
        return "a path (str or pathlib.Path)"

    monomorphic = True


@dataclass(frozen=True)
class EnumType(ValueType):
    enum_class: type[enum.Enum]

    def coerce(self, value: object, name: str) -> object:
        value = _unwrap_numpy(value)
        if isinstance(value, self.enum_class):
            return value
        for member in self.enum_class:
            if type(member.value) is type(value) and member.value == value:
                return member
        if isinstance(value, str) and value in self.enum_class.__members__:
            return self.enum_class[value]
        self.reject(value, name)

    def describe(self) -> str:
        names = ", ".join(self.enum_class.__members__)
        return f"a member of {self.enum_class.__name__} ({names})"

    monomorphic = True


@dataclass(frozen=True)
class OptionalType(ValueType):
    inner: ValueType

    def coerce(self, value: object, name: str) -> object:
        if value is None:
            return None
        return self.inner.coerce(value, name)

    def describe(self) -> str:
        return f"{self.inner.describe()} or None"


@dataclass(frozen=True)
class ChoiceType(ValueType):
    """A value from a fixed set (``Literal[...]`` or ``choices=``), compared type-exactly."""

    choices: tuple[object, ...]
    inner: ValueType | None = None

    def coerce(self, value: object, name: str) -> object:
        value = _unwrap_numpy(value)
        if self.inner is not None:
            value = self.inner.coerce(value, name)
        for choice in self.choices:
            # type-exact: True is not the choice 1, and 1 is not the choice 1.0
            if type(choice) is type(value) and choice == value:
                return choice
        raise HyperparameterValueError(
            f"hyperparameter {name!r} got {value!r}, expected one of {list(self.choices)!r}"
        )

    def describe(self) -> str:
        return f"one of {list(self.choices)!r}"


@dataclass(frozen=True)
class TupleType(ValueType):
    """A sequence stored as a tuple: ``tuple[int, ...]``, ``tuple[int, str]``, ``list[float]``."""

    items: tuple[ValueType, ...] | None = None  # fixed length, one type per position
    each: ValueType | None = None  # variable length, one type for all

    def coerce(self, value: object, name: str) -> object:
        if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
            value = value.tolist()
        if not isinstance(value, (tuple, list)):
            self.reject(value, name)
        if self.items is not None:
            if len(value) != len(self.items):
                raise HyperparameterValueError(
                    f"hyperparameter {name!r} expects {self.describe()}, "
                    f"got {len(value)} items: {value!r}"
                )
            return tuple(
                t.coerce(v, f"{name}[{i}]")
                for i, (t, v) in enumerate(zip(self.items, value, strict=True))
            )
        each = self.each or AnyType()
        return tuple(each.coerce(v, f"{name}[{i}]") for i, v in enumerate(value))

    def describe(self) -> str:
        if self.items is not None:
            inner = ", ".join(t.describe() for t in self.items)
            return f"a tuple of {len(self.items)} items ({inner})"
        if self.each is not None:
            return f"a tuple (or list) of {self.each.describe()}"
        return "a tuple (or list)"


class AnyType(ValueType):
    """No declared type: bool, int, float, str, None or tuples of them, hashed by their own type."""

    def coerce(self, value: object, name: str) -> object:
        value = _unwrap_numpy(value)
        # only JSON-native values (and tuples), so a metadata file rebuilds the value exactly
        if value is None or (
            isinstance(value, (bool, int, str)) and not isinstance(value, enum.Enum)
        ):
            return value
        if isinstance(value, float):
            return FloatType().coerce(value, name)
        if isinstance(value, (tuple, list)):
            return TupleType().coerce(value, name)
        self.reject(value, name)

    def describe(self) -> str:
        return "a bool, int, float, str, None or a tuple of them"


_SCALARS: dict[object, ValueType] = {
    bool: BoolType(),
    int: IntType(),
    float: FloatType(),
    str: StrType(),
}


def type_from_annotation(annotation: object, name: str) -> ValueType:
    """Turn a class-body annotation into a ValueType, or raise a DeclarationError naming it."""
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if annotation is typing.Any:
        return AnyType()
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return EnumType(annotation)
        if issubclass(annotation, pathlib.PurePath):
            return PathType()
        if annotation in (tuple, list):
            return TupleType()
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return ChoiceType(tuple(args))
    if origin in (typing.Union, types.UnionType):
        others = [a for a in args if a is not type(None)]
        if len(others) == 1 and len(args) == 2:
            return OptionalType(type_from_annotation(others[0], name))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return TupleType(each=type_from_annotation(args[0], name))
        if args == ((),):
            return TupleType(items=())
        return TupleType(items=tuple(type_from_annotation(a, name) for a in args))
    if origin is list and len(args) == 1:
        return TupleType(each=type_from_annotation(args[0], name))
    raise DeclarationError(
        f"hyperparameter {name!r} has an unsupported annotation {annotation!r}; expected bool, "
        "int, float, str, pathlib.Path, an Enum, Literal[...], Optional[...], tuple[...] or "
        "list[...]"
    )


def type_from_default(default: object, name: str) -> ValueType:
    """The type a default value implies when there is no annotation."""
    default = _unwrap_numpy(default)
    if default is None:
        return AnyType()
    for python_type, value_type in _SCALARS.items():
        if type(default) is python_type:
            return value_type
    if isinstance(default, enum.Enum):
        return EnumType(type(default))
    if isinstance(default, pathlib.PurePath):
        return PathType()
    if isinstance(default, (tuple, list)):
        return TupleType()
    raise DeclarationError(
        f"hyperparameter {name!r} has a default of unsupported type {_type_name(default)} "
        f"({default!r}); expected bool, int, float, str, None, pathlib.Path, an Enum, a tuple or "
        "a list. If it is not a hyperparameter, give it a leading underscore or annotate it "
        "with typing.ClassVar"
    )
