"""The canonical encoding of hyperparameter values and the digest: the hash contract.

The hash of an instance (or of one of its resources) is the xxh3-128 digest, as 32 lowercase hex
characters, of::

    PREFIX + segment(name_1, value_1) + segment(name_2, value_2) + ...

over the hashed hyperparameters sorted by name, where a value equal to its parameter's omit value
(``None`` unless declared otherwise) contributes no segment at all. A segment is the name as a
length-delimited field followed by the value's encoding. Every encoding starts with a one-byte
tag naming the type, so values of different types never share an encoding:

=========  ===============================================================
type       encoding
=========  ===============================================================
None       ``N``
bool       ``b1`` or ``b0``
int        ``i<len>:<decimal digits>``  (any size, sign included)
float      ``f`` + 8 bytes IEEE-754 big endian; ``-0.0`` as ``0.0``; NaN refused
str        ``s<len>:<utf-8 bytes>``
Path       ``p<len>:<posix form, utf-8>``
Enum       ``e<len>:<member name, utf-8>``
tuple      ``t<count>:`` + the encoding of each item
=========  ===============================================================

``<len>`` is the byte length of the payload in decimal ASCII. Changing anything here changes
hashes on users' disks: it needs a new ``HASH_SPEC_VERSION`` and new golden vectors, never a
silent edit.
"""

from __future__ import annotations

import enum
import math
import pathlib
import struct
from collections.abc import Iterable

import xxhash

HASH_SPEC_VERSION = 1
PREFIX = b"phyper-hash/1\n"

_pack_float = struct.Struct(">d").pack
_digest = xxhash.xxh3_128_hexdigest


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + str(len(payload)).encode("ascii") + b":" + payload


def encode_value(value: object) -> bytes:
    """Encode one coerced value; the type of the value picks the tag.

    >>> encode_value(1.0) != encode_value(1) != encode_value(True) != encode_value("1")
    True
    """
    # Order matters: bool and IntEnum are ints, str-Enums are strs, so the narrow types go first.
    if value is None:
        return b"N"
    if value is True:
        return b"b1"
    if value is False:
        return b"b0"
    if isinstance(value, enum.Enum):
        return _field(b"e", value.name.encode("utf-8"))
    if isinstance(value, int):
        return _field(b"i", str(int(value)).encode("ascii"))
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("NaN cannot be hashed: it is not equal to itself")
        return b"f" + _pack_float(value + 0.0)  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, str):
        return _field(b"s", value.encode("utf-8"))
    if isinstance(value, pathlib.PurePath):
        return _field(b"p", value.as_posix().encode("utf-8"))
    if isinstance(value, tuple):
        return b"t" + str(len(value)).encode("ascii") + b":" + b"".join(map(encode_value, value))
    raise TypeError(f"cannot encode a value of type {type(value).__name__}: {value!r}")


def encode_segment(name: str, value: object) -> bytes:
    """The bytes one hyperparameter contributes to a hash."""
    return _field(b"k", name.encode("utf-8")) + encode_value(value)


def digest_segments(segments: Iterable[bytes]) -> str:
    """The hash of already sorted segments."""
    return _digest(PREFIX + b"".join(segments))


def hash_values(values: dict[str, object]) -> str:
    """Hash a mapping of already coerced values, leaving ``None`` values out.

    This is the contract in one function, independent of any Parser class.

    >>> hash_values({"b": 1, "a": "x"}) == hash_values({"a": "x", "b": 1})
    True
    >>> hash_values({"a": "x", "new": None}) == hash_values({"a": "x"})
    True
    """
    return digest_segments(
        encode_segment(name, values[name]) for name in sorted(values) if values[name] is not None
    )
