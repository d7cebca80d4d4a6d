"""Declarations: which attributes are hyperparameters, key or non-key, and of which type."""

from __future__ import annotations

import enum
import pathlib
import typing

import numpy as np
import pytest

import phyper
from tests.conftest import Instance, NonKeys


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def test_parser_subclass_attributes_are_key_and_mixin_attributes_non_key():
    assert Instance.get_hyperparameter_names("key") == [
        "seed",
        "n_hidden_layers",
        "cv_k",
        "cv_fold",
        "transformation",
        "centering",
    ]
    assert Instance.get_hyperparameter_names("non_key") == [
        "n_epochs",
        "batch_size",
        "learning_rate",
        "log_interval",
    ]


def test_subclass_of_a_subclass_adds_key_hyperparameters_and_keeps_kinds():
    class Deeper(Instance):
        dropout = 0.5
        n_epochs = 10  # a new default for an inherited non-key stays non-key

    assert "dropout" in Deeper.get_hyperparameter_names("key")
    assert "n_epochs" in Deeper.get_hyperparameter_names("non_key")
    assert Deeper().n_epochs == 10
    assert Instance().n_epochs == NonKeys.n_epochs != 10


def test_explicit_key_and_non_key_without_a_mixin():
    class Model(phyper.Parser):
        depth = 3
        verbose = phyper.non_key(False)
        n_epochs = phyper.hyperparameter(100, key=False)

    class Mixin:
        important = phyper.hyperparameter("x", key=True)

    class Mixed(phyper.Parser, Mixin):
        depth = 1

    assert Model.get_hyperparameter_names("non_key") == ["verbose", "n_epochs"]
    assert Mixed.get_hyperparameter_names("key") == ["important", "depth"]
    assert Model.n_epochs == 100  # the class attribute is the default, not the declaration


def test_methods_properties_private_names_and_classvars_are_not_hyperparameters():
    class Model(phyper.Parser):
        depth = 3
        _private = 1
        LIMITS: typing.ClassVar[dict] = {"a": 1}

        def helper(self):
            return self.depth

        @property
        def double(self):
            return self.depth * 2

        @staticmethod
        def tool():
            return 1

    assert Model.get_hyperparameter_names() == ["depth"]
    assert Model().double == 6


def test_annotation_decides_the_type():
    class Model(phyper.Parser):
        rate: float = 1
        path: pathlib.Path = "data/x"
        layers: tuple[int, ...] = [64, 32]
        pair: tuple[int, str] = (1, "a")
        mode: typing.Literal["fast", "slow"] = "fast"
        color: Color = Color.RED
        limit: typing.Optional[int] = None  # noqa: UP045 (the typing spelling must work too)
        budget: int | None = 5
        widths: list[float] = (1, 2)

    m = Model()
    assert m.rate == 1.0 and type(m.rate) is float
    assert m.path == pathlib.Path("data/x")
    assert m.layers == (64, 32)
    assert m.widths == (1.0, 2.0) and all(type(w) is float for w in m.widths)
    assert m.limit is None
    assert Model(limit=3).limit == 3
    assert Model(color="BLUE").color is Color.BLUE
    assert Model(color="blue").color is Color.BLUE
    assert Model(mode="slow").mode == "slow"
    with pytest.raises(phyper.HyperparameterValueError, match="'mode'.*one of"):
        Model(mode="medium")
    with pytest.raises(phyper.HyperparameterValueError, match="'pair'.*2"):
        Model(pair=(1, "a", 3))


def test_default_decides_the_type_without_annotation():
    class Model(phyper.Parser):
        rate = 0.1
        count = 2
        flag = False
        name = "x"
        anything = None
        sizes = [1, 2]

    assert Model(rate=1).rate == 1.0 and type(Model(rate=1).rate) is float
    assert Model(count=np.int32(4)).count == 4 and type(Model(count=np.int32(4)).count) is int
    assert Model(count=3.0).count == 3
    assert Model(flag=np.bool_(True)).flag is True
    assert Model(anything=2).anything == 2
    assert Model(anything="a").anything == "a"
    assert Model(sizes=np.array([3, 4])).sizes == (3, 4)
    assert Model(rate=-0.0).get_instance_hash() == Model(rate=0.0).get_instance_hash()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", 3, "'name' expects a str, got int 3"),
        ("count", 2.5, "'count' expects an int, got float 2.5"),
        ("count", True, "'count' expects an int, got bool"),
        ("rate", "0.1", "'rate' expects a float, got str '0.1'"),
        ("flag", 1, "'flag' expects a bool, got int 1"),
    ],
)
def test_wrong_types_are_refused(field, value, message):
    class Model(phyper.Parser):
        rate = 0.1
        count = 2
        flag = False
        name = "x"

    with pytest.raises(phyper.HyperparameterTypeError) as error:
        Model(**{field: value})
    assert message in str(error.value)


def test_choices_option_and_type_exact_choice_matching():
    class Model(phyper.Parser):
        level = phyper.hyperparameter(1, choices=[1, 2, 3])
        anything: typing.Literal[1, True] = 1

    assert Model(level=2).level == 2
    assert Model(anything=True).anything is True
    assert Model(anything=1).anything == 1 and Model(anything=1).anything is not True
    with pytest.raises(phyper.HyperparameterValueError, match="'level'.*one of \\[1, 2, 3\\]"):
        Model(level=4)


def test_omit_value_keeps_old_hashes_when_a_hyperparameter_is_added():
    class Old(phyper.Parser):
        depth = 3

    class New(phyper.Parser):
        depth = 3
        dropout: float | None = None
        augment = phyper.hyperparameter(False, omit=False)

    class Renamed(phyper.Parser):  # class names are not part of the hash
        depth = 3

    old = Old().get_instance_hash()
    assert New().get_instance_hash() == old
    assert Renamed().get_instance_hash() == old
    assert New(dropout=0.1).get_instance_hash() != old
    assert New(augment=True).get_instance_hash() != old


def test_the_hash_of_an_instance_matches_the_contract_function():
    values = dict(seed=1, n_hidden_layers=2, cv_k=5, cv_fold=3, transformation="log")
    values["centering"] = True
    assert Instance(**values).get_instance_hash() == phyper.hash_values(values)
