"""Bad input gets a clear error naming the offending thing and what was expected."""

from __future__ import annotations

import math

import pytest

import phyper
from tests.conftest import Instance


def _declare(**attributes):
    return type("Bad", (phyper.Parser,), attributes)


CASES = [
    # (what, call, exception class, built-in base, fragments the message must contain)
    (
        "unknown grid key",
        lambda p, i: p.get_instances_from_dictionary({"n_hiden_layers": [1]}),
        phyper.UnknownHyperparameterError,
        KeyError,
        ["'n_hiden_layers'", "did you mean 'n_hidden_layers'"],
    ),
    (
        "wrong type",
        lambda p, i: p.get_instances_from_dictionary({"transformation": [3]}),
        phyper.HyperparameterTypeError,
        TypeError,
        ["'transformation'", "expects a str", "int 3"],
    ),
    (
        "NaN",
        lambda p, i: p.replace(learning_rate=math.nan),
        phyper.HyperparameterValueError,
        ValueError,
        ["'learning_rate'", "NaN", "expected a number"],
    ),
    (
        "value outside choices",
        lambda p, i: _declare(mode=phyper.hyperparameter("a", choices=["a", "b"]))(mode="c"),
        phyper.HyperparameterValueError,
        ValueError,
        ["'mode'", "'c'", "one of ['a', 'b']"],
    ),
    (
        "unknown dependency",
        lambda p, i: p.register_new_resource("model", ["trasformation"]),
        phyper.UnknownHyperparameterError,
        KeyError,
        ["'trasformation'", "resource 'model'", "did you mean 'transformation'"],
    ),
    (
        "non-key dependency",
        lambda p, i: p.register_new_resource("model", ["learning_rate"]),
        phyper.ResourceError,
        ValueError,
        ["'model'", "'learning_rate'", "only on key hyperparameters"],
    ),
    (
        "resource name escaping the folder",
        lambda p, i: p.register_new_resource("../outside", ["seed"]),
        phyper.ResourceError,
        ValueError,
        ["'../outside'", "identifier"],
    ),
    (
        "reserved resource name",
        lambda p, i: p.register_new_resource("all", ["seed"]),
        phyper.ResourceError,
        ValueError,
        ["'all'", "reserved"],
    ),
    (
        "dependencies given as a string",
        lambda p, i: p.register_new_resource("model", "seed"),
        phyper.ResourceError,
        ValueError,
        ["'model'", "['seed']"],
    ),
    (
        "unknown resource",
        lambda p, i: i[0].get_instance_hash("transformed_dta"),
        phyper.UnknownResourceError,
        KeyError,
        ["'transformed_dta'", "did you mean 'transformed_data'"],
    ),
    (
        "unknown hash",
        lambda p, i: Instance.get_instance_from_hash("f" * 32, i),
        phyper.HashNotFoundError,
        LookupError,
        ["f" * 32, "90 instances"],
    ),
    (
        "assignment to an instance",
        lambda p, i: setattr(i[0], "seed", 1),
        phyper.FrozenInstanceError,
        AttributeError,
        ["'seed'", "immutable", "replace(seed=...)"],
    ),
    (
        "hyperparameter shadowing a Parser method",
        lambda p, i: _declare(get_projections=1),
        phyper.DeclarationError,
        TypeError,
        ["'get_projections'", "shadows", "rename"],
    ),
    (
        "unsupported default type",
        lambda p, i: _declare(weights={"a": 1}),
        phyper.DeclarationError,
        TypeError,
        ["'weights'", "dict", "expected bool, int, float"],
    ),
    (
        "unsupported annotation",
        lambda p, i: _declare(__annotations__={"w": dict}, w=None),
        phyper.DeclarationError,
        TypeError,
        ["'w'", "unsupported annotation", "Literal"],
    ),
    (
        "annotation without default",
        lambda p, i: _declare(__annotations__={"depth": int}),
        phyper.DeclarationError,
        TypeError,
        ["'depth'", "no default"],
    ),
    (
        "unknown filter name",
        lambda p, i: Instance.get_filtered_instances(i, {"centring": True}),
        phyper.UnknownHyperparameterError,
        KeyError,
        ["'centring'", "the filter", "did you mean 'centering'"],
    ),
    (
        "unknown constructor value",
        lambda p, i: Instance(sed=1),
        phyper.UnknownHyperparameterError,
        KeyError,
        ["'sed'", "constructor", "did you mean 'seed'"],
    ),
    (
        "instantiating Parser itself",
        lambda p, i: phyper.Parser(),
        phyper.DeclarationError,
        TypeError,
        ["subclass it"],
    ),
    (
        "bad omit value",
        lambda p, i: _declare(depth=phyper.hyperparameter(3, omit="none")),
        phyper.DeclarationError,
        TypeError,
        ["'depth'", "omit value 'none'", "an int"],
    ),
    (
        "malformed hash on disk lookup",
        lambda p, i: p.load_instance_from_disk_by_hash("nothex"),
        phyper.HashNotFoundError,
        LookupError,
        ["'nothex'", "32 lowercase hex"],
    ),
    (
        "wildcard path without the hash",
        lambda p, i: Instance.snakemake_helper_get_wildcarded_path(
            lambda inst: "results/x.csv", i[0]
        ),
        ValueError,
        ValueError,
        ["'results/x.csv'", "0 times", "exactly once"],
    ),
]


@pytest.mark.parametrize(
    ("what", "call", "error_class", "builtin", "fragments"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input_gets_a_clear_error(
    parser, instances, what, call, error_class, builtin, fragments
):
    with pytest.raises(error_class) as caught:
        call(parser, instances)
    assert isinstance(caught.value, builtin)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, f"{what}: {fragment!r} not in {message!r}"


def test_errors_read_as_sentences_not_quoted_keys():
    with pytest.raises(KeyError) as caught:
        Instance(sed=1)
    assert not str(caught.value).startswith('"')
