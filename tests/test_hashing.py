"""The hash contract: golden vectors and properties (docs/hash-spec.md).

A changed golden vector is a breaking change: it needs a new HASH_SPEC_VERSION, not an edit.
"""

from __future__ import annotations

import enum
import math
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phyper import hash_values
from phyper._hashing import encode_value


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mode(str, enum.Enum):
    FAST = "fast"


CASES = [
    ("empty", {}),
    ("none_is_omitted", {"a": None}),
    ("bool_true", {"a": True}),
    ("bool_false", {"a": False}),
    ("int_zero", {"a": 0}),
    ("int_one", {"a": 1}),
    ("int_negative", {"a": -1}),
    ("int_2_pow_64", {"a": 2**64}),
    ("int_minus_2_pow_100", {"a": -(2**100)}),
    ("int_large_positive", {"a": 123456789012345678901234567890}),
    ("float_zero", {"a": 0.0}),
    ("float_negative_zero", {"a": -0.0}),
    ("float_one", {"a": 1.0}),
    ("float_tenth", {"a": 0.1}),
    ("float_learning_rate", {"lr": 0.001}),
    ("float_smallest_subnormal", {"a": 5e-324}),
    ("float_tiny", {"a": 1e-300}),
    ("float_max", {"a": 1.7976931348623157e308}),
    ("float_inf", {"a": math.inf}),
    ("float_minus_inf", {"a": -math.inf}),
    ("str_empty", {"a": ""}),
    ("str_digit_one", {"a": "1"}),
    ("str_identity", {"a": "identity"}),
    ("str_accents", {"a": "héllo wörld"}),
    ("str_cjk", {"a": "日本語"}),
    ("str_emoji", {"a": "🙂"}),
    ("str_nul_inside", {"a": "a\x00b"}),
    ("str_newline", {"a": "line\nbreak"}),
    ("str_long", {"a": "x" * 1000}),
    ("tuple_empty", {"a": ()}),
    ("tuple_one_int", {"a": (1,)}),
    ("tuple_ints", {"a": (1, 2, 3)}),
    ("tuple_mixed", {"a": (1.0, "x", True, None)}),
    ("tuple_nested_empty", {"a": ((), ((),))}),
    ("tuple_big_int", {"a": (2**70,)}),
    ("path_relative", {"a": pathlib.PurePosixPath("data/x.csv")}),
    ("path_absolute", {"a": pathlib.PurePosixPath("/srv/data")}),
    ("enum_member", {"a": Color.RED}),
    ("int_enum_member", {"a": Level.HIGH}),
    ("str_enum_member", {"a": Mode.FAST}),
    ("two_names", {"a": 1, "b": 2}),
    ("two_names_other_order", {"b": 2, "a": 1}),
    ("none_beside_value", {"x": 1.5, "y": None}),
    ("unicode_name", {"taille_é": 1}),
    ("seed_resource", {"transformation": "identity", "centering": False, "n_hidden_layers": 3}),
    (
        "seed_instance",
        {
            "seed": 0,
            "cv_fold": 4,
            "cv_k": 5,
            "n_hidden_layers": 2,
            "transformation": "log",
            "centering": True,
        },
    ),
]

GOLDEN = {
    "empty": "85a9aea7df54d7ed39e6456e10952f32",
    "none_is_omitted": "85a9aea7df54d7ed39e6456e10952f32",
    "bool_true": "cd8caf9b56b4b7ac9e4e82328f1aac93",
    "bool_false": "6bc5f947edeec7535129c1f3d494c3fa",
    "int_zero": "9a2f77e9321052e4bbb1ddba49c26f98",
    "int_one": "aeddfc08322eb67404f6f1541438fe71",
    "int_negative": "99fae09a8f79a95ca336c82aa7ea8e16",
    "int_2_pow_64": "55074db17807543c6b94369c5451665c",
    "int_minus_2_pow_100": "e4651ac10087604bcaebc0ac142f2aa7",
    "int_large_positive": "91cc196ece04b10008e4723e16695f8c",
    "float_zero": "33e21d67a7baaf65aa5427c9d171daa4",
    "float_negative_zero": "33e21d67a7baaf65aa5427c9d171daa4",
    "float_one": "8f3a37ea455c0c82246dae1757ef8868",
    "float_tenth": "ee030aa0bbc9f2de7b52fdc2e69eeb78",
    "float_learning_rate": "69dac0c184c09a8696e5a3a826662390",
    "float_smallest_subnormal": "5a9148f74bb0a485a38714b8d32f8881",
    "float_tiny": "6d2169afdfb38525ede7248593f149d4",
    "float_max": "1d8d64218a0823bd155dbaaa6768c341",
    "float_inf": "31d6eacdacec3e680395fd04a6743e7f",
    "float_minus_inf": "98485ffffdafdf13b4f8b79345a485fb",
    "str_empty": "b9c50837113c499731808c27437793e1",
    "str_digit_one": "ef55bf876071ae2a9c1c0e3d398a9b3a",
    "str_identity": "f62360e482647e4ca33b381952236a83",
    "str_accents": "a2372a321170b2e28af995af30e0604d",
    "str_cjk": "3653312535869dc27aafe043ae08f948",
    "str_emoji": "97b372e11b205092643ed577fc8e9401",
    "str_nul_inside": "7445c63d438be6b42f0368c62de9eba9",
    "str_newline": "e22c07eed4a492ec99dfa261914ffad2",
    "str_long": "41a0cf700d09fba10cefca79668ae5d5",
    "tuple_empty": "0026a5d9536181a43b4fceae0522e11d",
    "tuple_one_int": "e2d87c51c00da43456c2f82abf2d1577",
    "tuple_ints": "3eb744eb60aa997989fe2c8498f26c7c",
    "tuple_mixed": "01af86e21e1064e3f0a9954083c6068f",
    "tuple_nested_empty": "6ce0964415f505370f7abe7be8a9bebd",
    "tuple_big_int": "6392427e06ad0420814d64cd35e2e3de",
    "path_relative": "f89aef47252abb0870bb5ee486d5f437",
    "path_absolute": "346c36d4e752079e9bc8b956f2f7ccf3",
    "enum_member": "06caee454c056d2738089e2d51747dae",
    "int_enum_member": "a95824bacf527cabc4c6de071e68214e",
    "str_enum_member": "256eb573ef10bd348c66397eb5ed73dc",
    "two_names": "2ad73e748d4fc0b1e33963245631914c",
    "two_names_other_order": "2ad73e748d4fc0b1e33963245631914c",
    "none_beside_value": "7ad679eda1ead01d07a1b13b58f80ca2",
    "unicode_name": "a7ae8630f1e245a97c0c8c352089c896",
    "seed_resource": "af315b66ceee2b9fb7e5d64296be035e",
    "seed_instance": "0afb865e1592ca560fc41e966c136d3d",
}


VALUES = dict(CASES)
NAMES = list(dict.fromkeys([*VALUES, *GOLDEN]))  # a case without a vector fails, and vice versa


@pytest.mark.parametrize("name", NAMES)
def test_golden_vector(name):
    assert hash_values(VALUES[name]) == GOLDEN[name]


def test_computed_hashes_are_shared_only_where_the_contract_says():
    equal_by_contract = [
        {"empty", "none_is_omitted"},
        {"float_zero", "float_negative_zero"},
        {"two_names", "two_names_other_order"},
    ]
    by_hash: dict[str, set[str]] = {}
    for name, case in CASES:
        by_hash.setdefault(hash_values(case), set()).add(name)
    shared = [names for names in by_hash.values() if len(names) > 1]
    assert sorted(map(sorted, shared)) == sorted(map(sorted, equal_by_contract))


def test_path_hashes_by_posix_form():
    assert hash_values({"a": pathlib.Path("data/x.csv")}) == GOLDEN["path_relative"]


def test_nan_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        hash_values({"a": math.nan})


def test_unencodable_type_is_refused_with_its_name():
    with pytest.raises(TypeError, match="dict"):
        encode_value({"a": 1})


# ------------------------------------------------------------------------- property tests

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4).map(tuple), max_leaves=8)
names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
mappings = st.dictionaries(names, values, max_size=6)


@given(mappings)
def test_digest_is_32_lowercase_hex(mapping):
    assert re.fullmatch("[0-9a-f]{32}", hash_values(mapping))


@given(mappings, st.randoms())
def test_order_of_names_does_not_matter(mapping, rng):
    items = list(mapping.items())
    rng.shuffle(items)
    assert hash_values(dict(items)) == hash_values(mapping)


@given(mappings)
def test_none_values_are_left_out(mapping):
    without_none = {k: v for k, v in mapping.items() if v is not None}
    assert hash_values(mapping) == hash_values(without_none)


def _typed(value):
    """A comparison key that tells 1, 1.0 and True apart (and treats -0.0 as 0.0)."""
    if isinstance(value, tuple):
        return ("tuple", tuple(_typed(v) for v in value))
    if isinstance(value, float):
        return ("float", value + 0.0)
    return (type(value).__name__, value)


@given(values, values)
def test_encoding_is_injective_on_typed_values(a, b):
    if _typed(a) != _typed(b):
        assert encode_value(a) != encode_value(b)
    else:
        assert encode_value(a) == encode_value(b)


@given(st.integers(min_value=-(2**53), max_value=2**53))
def test_int_float_bool_and_str_of_one_number_never_collide(n):
    encodings = {encode_value(n), encode_value(float(n)), encode_value(str(n))}
    if n in (0, 1):
        encodings.add(encode_value(bool(n)))
        assert len(encodings) == 4
    else:
        assert len(encodings) == 3


@given(st.lists(st.integers(), max_size=6), st.data())
def test_tuple_boundaries_are_delimited(items, data):
    # the same flat items split differently into nested tuples must never encode alike
    i = data.draw(st.integers(min_value=0, max_value=len(items)))
    j = data.draw(st.integers(min_value=0, max_value=len(items)))
    left = (tuple(items[:i]), tuple(items[i:]))
    right = (tuple(items[:j]), tuple(items[j:]))
    assert (encode_value(left) == encode_value(right)) == (i == j)


@settings(max_examples=50)
@given(st.integers(min_value=-(2**31), max_value=2**31), st.floats(allow_nan=False, width=32))
def test_numpy_scalars_hash_like_python_scalars_after_coercion(i, f):
    import phyper

    class Model(phyper.Parser):
        count = 0
        rate = 0.5

    python = Model(count=i, rate=float(f))
    numpy = Model(count=np.int64(i), rate=np.float32(f))
    assert python.get_instance_hash() == numpy.get_instance_hash()


_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from tests.test_hashing import CASES, GOLDEN
from phyper import hash_values
print(sum(hash_values(v) == GOLDEN[n] for n, v in CASES))
"""


@pytest.mark.parametrize("seed", ["0", "1", "12345", "random"])
def test_same_hashes_in_other_processes_and_hash_seeds(seed):
    root = str(pathlib.Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(root=root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout.strip()) == len(CASES)
