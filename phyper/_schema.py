"""Hyperparameter declarations: which class attributes are hyperparameters, of which type, and
whether they are key (they define a model, so they enter the hash) or non-key.

The rule: public attributes declared in a class that derives from ``Parser`` are key; those of
other bases (a ``NonKeys`` mixin) are non-key; ``hyperparameter(..., key=...)`` says it
explicitly. A subclass that redefines an attribute changes its default, never its kind or type.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType

from . import _hashing
from ._errors import DeclarationError, UnknownHyperparameterError, closest_hint
from ._types import ChoiceType, OptionalType, ValueType, type_from_annotation, type_from_default

_NEVER_OMITTED = object()
_SEGMENT_CACHE_LIMIT = 100_000  # distinct values per parameter; a continuous search goes past it


@dataclass(frozen=True)
class Hyperparameter:
    """An explicit declaration, for when a plain default is not enough.

    Use it through :func:`hyperparameter` or :func:`non_key`, which keep type checkers happy.
    """

    default: object
    key: bool | None = None
    omit: object = None
    choices: tuple[object, ...] | None = None
    doc: str | None = None


def hyperparameter(
    default: object,
    *,
    key: bool | None = None,
    omit: object = None,
    choices: Iterable[object] | None = None,
    doc: str | None = None,
) -> typing.Any:
    """Declare a hyperparameter with options a plain default cannot express.

    ``key`` forces key or non-key whatever class declares it; ``omit`` is the value that is left
    out of the hash (``None`` unless given), so that adding a parameter keeps old hashes;
    ``choices`` restricts the values; ``doc`` says what it means (``phyper.describe`` shows it).

    >>> import phyper
    >>> class Model(phyper.Parser):
    ...     depth = 3
    ...     dropout = phyper.hyperparameter(0.0, omit=0.0)   # new: old hashes stay valid
    ...     verbose = phyper.hyperparameter(False, key=False)
    >>> Model._phyper_schema.key_names
    ('depth', 'dropout')
    """
    return Hyperparameter(
        default=default,
        key=key,
        omit=omit,
        choices=None if choices is None else tuple(choices),
        doc=doc,
    )


def non_key(default: object, **options: typing.Any) -> typing.Any:
    """Declare a non-key hyperparameter inside a Parser subclass, without a mixin.

    >>> import phyper
    >>> class Model(phyper.Parser):
    ...     depth = 3
    ...     n_epochs = phyper.non_key(100)
    >>> Model._phyper_schema.non_key_names
    ('n_epochs',)
    """
    return hyperparameter(default, key=False, **options)


@dataclass
class HyperparameterSpec:
    """One resolved hyperparameter of a class."""

    name: str
    value_type: ValueType
    default: object
    key: bool
    declared_in: str
    omit_encoding: object = _NEVER_OMITTED
    omit: object = None
    doc: str | None = None
    _segments: dict[object, bytes] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Values of one Python type can key a cache of their encodings; mixed types cannot,
        # because 1 == 1.0 == True would share an entry.
        self._segments = {} if self.value_type.monomorphic else None

    def coerce(self, value: object) -> object:
        return self.value_type.coerce(value, self.name)

    def segment(self, value: object) -> bytes:
        """This parameter's contribution to a hash: empty when the value is the omit value."""
        cache = self._segments
        if cache is not None:
            found = cache.get(value)
            if found is not None:
                return found
        encoded = _hashing.encode_value(value)
        result = b"" if encoded == self.omit_encoding else _hashing.encode_segment(self.name, value)
        if cache is not None and len(cache) < _SEGMENT_CACHE_LIMIT:
            cache[value] = result
        return result


class Schema:
    """All hyperparameters of a Parser subclass, in declaration order."""

    def __init__(self, class_name: str, specs: dict[str, HyperparameterSpec]):
        self.class_name = class_name
        # key hyperparameters first: they are what an instance *is*
        ordered = sorted(specs.values(), key=lambda spec: not spec.key)
        self.specs = {spec.name: spec for spec in ordered}
        self.names = tuple(self.specs)
        self.key_names = tuple(s.name for s in ordered if s.key)
        self.non_key_names = tuple(s.name for s in ordered if not s.key)
        self.defaults = {s.name: s.default for s in ordered}

    def unknown(self, name: object, where: str = "") -> UnknownHyperparameterError:
        hint = closest_hint(str(name), self.names)
        place = f" in {where}" if where else ""
        return UnknownHyperparameterError(
            f"{name!r}{place} is not a hyperparameter of {self.class_name}{hint} "
            f"(hyperparameters: {', '.join(self.names)})"
        )

    def check_names(self, names: Iterable[object], where: str = "") -> None:
        for name in names:
            if name not in self.specs:
                raise self.unknown(name, where)

    def values(
        self,
        given: Mapping[str, object],
        where: str = "",
        base: Mapping[str, object] | None = None,
    ) -> dict[str, object]:
        """The full, coerced values of one instance: ``base`` (else the defaults) overridden by
        ``given``."""
        self.check_names(given, where)
        values = dict(self.defaults if base is None else base)
        for name, value in given.items():
            values[name] = self.specs[name].coerce(value)
        return values


def _is_hyperparameter_candidate(name: str, raw: object) -> bool:
    if name.startswith("_"):
        return False
    if isinstance(raw, Hyperparameter):
        return True
    if isinstance(raw, (staticmethod, classmethod, property, type, ModuleType)):
        return False
    # functions and other descriptors are behaviour, not values
    return not (callable(raw) or hasattr(type(raw), "__get__"))


def _class_annotations(klass: type) -> dict[str, object]:
    own = inspect.get_annotations(klass)
    if not own:
        return {}
    try:
        resolved = typing.get_type_hints(klass)
    except Exception as error:  # a forward reference that cannot be resolved
        raise DeclarationError(
            f"cannot resolve the annotations of {klass.__name__}: {error}"
        ) from error
    return {name: resolved.get(name, value) for name, value in own.items()}


def _is_class_var(annotation: object) -> bool:
    return annotation is typing.ClassVar or typing.get_origin(annotation) is typing.ClassVar


def _make_spec(
    name: str,
    raw: object,
    annotation: object,
    key: bool,
    declared_in: str,
    inherited: HyperparameterSpec | None,
) -> HyperparameterSpec:
    declared = raw if isinstance(raw, Hyperparameter) else Hyperparameter(default=raw)
    if declared.key is not None:
        key = declared.key
    if annotation is not None:
        value_type = type_from_annotation(annotation, name)
    elif inherited is not None:
        value_type = inherited.value_type
    else:
        value_type = type_from_default(declared.default, name)
    if declared.choices is not None:
        value_type = ChoiceType(declared.choices, inner=value_type)
    if declared.default is None and annotation is not None and not _accepts_none(value_type):
        value_type = OptionalType(value_type)  # `x: int = None` means "an int, or None"
    default = value_type.coerce(declared.default, name)
    omit_encoding: object = _NEVER_OMITTED
    omit: object = None
    if declared.omit is not None or _accepts_none(value_type):
        try:
            omit = value_type.coerce(declared.omit, name)
            omit_encoding = _hashing.encode_value(omit)
        except (TypeError, ValueError) as error:
            raise DeclarationError(
                f"hyperparameter {name!r} has omit value {declared.omit!r}, which is not "
                f"{value_type.describe()}"
            ) from error
    doc = declared.doc if declared.doc is not None else (inherited.doc if inherited else None)
    return HyperparameterSpec(
        name=name,
        value_type=value_type,
        default=default,
        key=key,
        declared_in=declared_in,
        omit_encoding=omit_encoding,
        omit=omit,
        doc=doc,
    )


def _accepts_none(value_type: ValueType) -> bool:
    try:
        value_type.coerce(None, "?")
    except (TypeError, ValueError):
        return False
    return True


def build_schema(cls: type, parser_base: type, reserved: frozenset[str]) -> Schema:
    """Walk the MRO of ``cls`` (base first) and resolve every hyperparameter."""
    skipped = set(parser_base.__mro__)
    specs: dict[str, HyperparameterSpec] = {}
    for klass in reversed(cls.__mro__):
        if klass in skipped:
            continue
        is_key_class = issubclass(klass, parser_base)
        annotations = _class_annotations(klass)
        for name, annotation in annotations.items():
            if _is_class_var(annotation) or name.startswith("_"):
                continue
            if name not in klass.__dict__:
                raise DeclarationError(
                    f"hyperparameter {name!r} of {klass.__name__} has an annotation but no "
                    f"default; give it one (e.g. `{name}: ... = <default>`)"
                )
        for name, raw in list(klass.__dict__.items()):
            annotation = annotations.get(name)
            if annotation is not None and _is_class_var(annotation):
                continue
            if not _is_hyperparameter_candidate(name, raw):
                continue
            if name in reserved:
                raise DeclarationError(
                    f"hyperparameter {name!r} of {klass.__name__} shadows the Parser attribute "
                    f"of the same name; rename the hyperparameter"
                )
            inherited = specs.get(name)
            key = inherited.key if inherited is not None else is_key_class
            specs[name] = _make_spec(name, raw, annotation, key, klass.__name__, inherited)
    return Schema(cls.__name__, specs)
