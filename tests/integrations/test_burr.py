"""phyper.integrations.burr with the real apache-burr package: the persister's round trip and
refusals, the condition and hook adapters in real applications, the example's application
killed with SIGKILL and resumed, and a gate decided by `phyper decide` in another process."""

from __future__ import annotations

import io
import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import hypothesis
import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as st

burr = pytest.importorskip("burr")

from burr.core import ApplicationBuilder, State, action, default, expr  # noqa: E402

import phyper  # noqa: E402
from phyper import tune  # noqa: E402
from phyper.integrations.burr import (  # noqa: E402
    ARRAYS_DIR,
    HISTORY_FILE,
    STATE_FILE,
    STATE_FILES,
    BurrStateError,
    PhyperPersister,
    StateSerializationError,
    TuneHooks,
    await_decision,
    decision_input,
    fired,
    load_history,
    stop_condition_for_burr,
)

WORKTREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = sys.executable
HASH = "0123456789abcdef0123456789abcdef"


class Declaration(phyper.Parser):
    seed = 0
    lr = 0.1


@pytest.fixture
def root(tmp_path) -> str:
    return str(tmp_path / "derived_data")


def newest_slot(folder: str) -> dict:
    """The newest of the two state files: each is plain JSON (padded with spaces)."""
    documents = []
    for name in STATE_FILES:
        with open(os.path.join(folder, name)) as stream:
            text = stream.read()
        if text.strip():
            documents.append(json.loads(text))
    return max(documents, key=lambda document: document["commit"])


def save_and_load(persister: PhyperPersister, values: dict, sequence_id: int = 0) -> dict:
    persister.save(None, HASH, sequence_id, "step", State(values), "completed")
    loaded = persister.load(None, HASH)
    assert loaded is not None and loaded["sequence_id"] == sequence_id
    return loaded["state"].get_all()


def same(a: object, b: object) -> bool:
    """Equal values of the same types, all the way down: NaN equals NaN (NaT equals NaT), and
    -0.0 differs from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):  # bit for bit: .npy files are exact
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()  # type: ignore[union-attr]
    if isinstance(a, (np.floating, float)):
        if np.isnan(a):
            return bool(np.isnan(b))  # type: ignore[arg-type]
        return bool(a == b) and bool(np.signbit(a) == np.signbit(b))  # type: ignore[arg-type]
    if isinstance(a, (np.complexfloating, complex)):
        return same(np.real(a), np.real(b)) and same(np.imag(a), np.imag(b))
    if isinstance(a, (np.datetime64, np.timedelta64)):
        return a.dtype == b.dtype and (bool(np.isnat(a) and np.isnat(b)) or bool(a == b))  # type: ignore[union-attr,arg-type]
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and bool(a == b)  # type: ignore[union-attr]
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)  # type: ignore[attr-defined,index]
    return bool(a == b)


# ------------------------------------------------------------------------------ round trip


def test_scalars_strings_and_containers_round_trip_with_their_types(root):
    values = {
        "none": None,
        "yes": True,
        "count": 3,
        "big": 2**80,
        "loss": 0.1 + 0.2,
        "nan": float("nan"),
        "inf": float("inf"),
        "minus_inf": float("-inf"),
        "name": "héllo\nworld",
        "empty": "",
        "list": [1, 2.5, "x", None, [True]],
        "dict": {"a": 1, "b": {"c": [0.5]}, "": "empty key"},
        "tuple": (1, ("x", 2.0)),
        "path": pathlib.Path("checkpoints") / "epoch-3.npz",
        "f32": np.float32(0.1),
        "i64": np.int64(-7),
        "u8": np.uint8(255),
        "flag": np.bool_(True),
    }
    loaded = save_and_load(PhyperPersister(root), values)
    for key, value in values.items():
        assert same(loaded[key], value), (key, loaded[key], value)


class Model:
    def __str__(self) -> str:
        return "Model()"


NUMPY_SCALARS = [
    np.float64("nan"),
    np.float32("inf"),
    np.float16("-inf"),
    np.float64("-0.0"),
    np.float32(0.1),
    np.float16(65504),
    np.longdouble(1) / np.longdouble(3),  # more digits than a Python float
    np.longdouble("nan"),
    -np.longdouble("inf"),
    np.longdouble("-0.0"),
    np.complex64(1.5 - 2.25j),
    np.complex128(complex(float("nan"), float("-inf"))),
    np.clongdouble(np.longdouble(1) / np.longdouble(3)),
    np.bool_(False),
    np.int8(-128),
    np.uint64(2**64 - 1),
    np.int64(-(2**63)),
    np.longlong(5),  # <i8 as int64 is, yet another type
    np.ulonglong(2**64 - 1),
    np.datetime64("2024-02-29T12:30", "m"),
    np.datetime64("NaT", "D"),
    np.timedelta64(-5, "us"),
    np.str_("héllo"),
    np.bytes_(b"\x00\xffab"),
]


@pytest.mark.parametrize("value", NUMPY_SCALARS, ids=lambda v: f"{v.dtype.str}-{v}")
def test_every_numpy_scalar_loads_back_with_its_dtype(root, value):
    persister = PhyperPersister(root)
    loaded = save_and_load(persister, {"v": value, "nested": {"in": [value, (value,)]}})
    assert same(loaded["v"], value), (loaded["v"], value)
    assert same(loaded["nested"], {"in": [value, (value,)]})
    # a later application object (initialize_from) reads it too
    assert same(PhyperPersister(root).load(None, HASH)["state"]["v"], value)


def test_a_diverged_loss_in_state_resumes(root):
    """Issue 16: np.mean of a diverged loss saved, then every later load failed."""
    persister = PhyperPersister(root)
    loss = np.mean(np.array([np.nan, 1.0], dtype=np.float32))  # a diverged loss: nan
    counter = {"loss": loss, "best": np.float32("inf"), "lr": np.longdouble("1e-4000")}
    loaded = save_and_load(persister, counter)
    assert np.isnan(loaded["loss"]) and type(loaded["loss"]) is np.float32
    assert loaded["best"] == np.inf and type(loaded["best"]) is np.float32
    assert loaded["lr"] == np.longdouble("1e-4000") and loaded["lr"] != 0
    row = load_history(os.path.join(persister.folder(HASH), HISTORY_FILE)).iloc[-1]
    assert np.isnan(row["loss"]) and row["best"] == np.inf and row["lr"] == 0.0  # a float view


def _values() -> st.SearchStrategy[object]:
    """What a Burr state may hold, and a few things it may not (refused at save)."""
    dtypes = [np.dtype(c) for c in "?bBhHiIlLqQefdgFDG"] + [
        np.dtype("M8[s]"), np.dtype("m8[ns]"), np.dtype("U3"), np.dtype("S2")
    ]  # fmt: skip
    from hypothesis.extra import numpy as hnp

    scalars = st.one_of(
        st.sampled_from(dtypes).flatmap(lambda d: hnp.from_dtype(d).map(lambda x: d.type(x))),
        st.sampled_from(NUMPY_SCALARS),
    )
    arrays = st.sampled_from(dtypes).flatmap(
        lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
    )
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.complex_numbers(allow_nan=True, allow_infinity=True),
        st.text(max_size=5),
        st.builds(pathlib.Path, st.text("ab/", min_size=1, max_size=4)),
        scalars,
        arrays,
        st.sampled_from([b"raw", {1, 2}, Model(), np.array([None], dtype=object)]),  # refused
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.lists(inner, max_size=3).map(tuple),
            st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 2)), inner, max_size=3),
        ),
        max_leaves=8,
    )


@hypothesis.settings(
    max_examples=300, deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
@hypothesis.given(value=_values())
def test_whatever_save_accepts_loads_back_equal_and_the_rest_is_refused_at_save(value):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        persister = PhyperPersister(folder)
        persister.save(None, HASH, 0, "step", State({"before": 1}), "completed")
        try:
            persister.save(None, HASH, 1, "step", State({"v": value}), "completed")
        except StateSerializationError as error:
            assert "state field 'v'" in str(error)
            assert PhyperPersister(folder).load(None, HASH)["sequence_id"] == 0  # untouched
            return
        finally:
            persister.close()
        loaded = PhyperPersister(folder).load(None, HASH)
        assert loaded["sequence_id"] == 1
        assert same(loaded["state"]["v"], value), (loaded["state"]["v"], value)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([[1.5, np.nan], [np.inf, -0.0]]),
        np.arange(24, dtype=np.int64).reshape(2, 3, 4),
        np.array(7, dtype=np.int16),  # 0-d
        np.zeros((0, 4), dtype=np.uint8),  # empty
        np.array([True, False, True]),
        np.array([1 + 2j, 3 - 4j], dtype=np.complex64),
        np.array(["ab", "cde"]),  # unicode
        np.array(["2024-01-01", "2025-06-30"], dtype="datetime64[D]"),
        np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),  # structured, no objects
        np.arange(10, dtype=">f8"),  # big-endian
    ],
    ids=lambda a: f"{a.dtype.str}{a.shape}",
)
def test_arrays_round_trip_exactly_as_npy_files(root, array):
    persister = PhyperPersister(root)
    loaded = save_and_load(persister, {"weights": array, "nested": {"rows": [array]}})
    assert same(loaded["weights"], array) and same(loaded["nested"]["rows"][0], array)
    folder = persister.folder(HASH)
    document = newest_slot(folder)
    reference = document["state"]["weights"]
    assert reference["__phyper__"] == "ndarray" and reference["dtype"] == array.dtype.str
    stored = os.path.join(folder, ARRAYS_DIR, reference["file"])
    assert np.load(stored, allow_pickle=False).dtype == array.dtype
    assert os.listdir(os.path.join(folder, ARRAYS_DIR)) == [reference["file"]]  # shared


def test_arrays_neither_of_the_two_last_states_names_are_removed(root):
    persister = PhyperPersister(root)
    save_and_load(persister, {"w": np.zeros(3)}, 0)
    save_and_load(persister, {"w": np.ones(3)}, 1)
    arrays = os.path.join(persister.folder(HASH), ARRAYS_DIR)
    assert len(os.listdir(arrays)) == 2  # the state before is the fallback of a torn write
    save_and_load(persister, {"w": np.full(3, 2.0)}, 2)
    assert len(os.listdir(arrays)) == 2
    assert same(save_and_load(persister, {"w": None}, 3)["w"], None)
    assert len(os.listdir(arrays)) == 1
    save_and_load(persister, {"w": None}, 4)
    assert os.listdir(arrays) == []


@pytest.mark.parametrize(
    ("value", "field", "detail"),
    [
        (Model(), "'model'", "tests.integrations.test_burr.Model"),
        ({"inner": [1, Model()]}, "'model'['inner'][1]", "Model"),
        (np.array([Model()], dtype=object), "'model'", "dtype object"),
        ({1: "a"}, "'model'", "key 1 is not a str"),
        ({1, 2}, "'model'", "builtins.set"),
        (b"bytes", "'model'", "builtins.bytes"),
        (pd.DataFrame({"a": [1]}), "'model'", "DataFrame"),
        (np.array((1, 2.0), dtype=[("a", "<i4"), ("b", "<f8")])[()], "'model'", "0-d array"),
        (np.int64, "'model'", "builtins.type"),
    ],
)
def test_values_that_cannot_round_trip_are_refused_with_the_field_named(root, value, field, detail):
    persister = PhyperPersister(root)
    with pytest.raises(StateSerializationError) as error:
        persister.save(None, HASH, 0, "train", State({"ok": 1, "model": value}), "completed")
    message = str(error.value)
    assert f"state field {field} " in message and detail in message
    assert "keep its path in the state instead" in message
    assert not os.path.exists(os.path.join(root, "all", HASH))  # nothing written


def test_a_model_in_state_stops_a_real_application_with_the_message(root):
    @action(reads=[], writes=["model"])
    def train(state: State) -> State:
        return state.update(model=Model())

    persister = PhyperPersister(root)
    app = (
        ApplicationBuilder()
        .with_actions(train=train)
        .with_transitions(("train", "train", default))
        .with_entrypoint("train")
        .with_state(model=None)
        .with_state_persister(persister)
        .with_identifiers(app_id=HASH)
        .build()
    )
    with pytest.raises(StateSerializationError, match="state field 'model' holds a"):
        app.step()


def test_the_history_is_one_json_line_per_step_for_pandas_and_collect(root):
    instance = Declaration(hashed_resources_folder=root)
    persister = PhyperPersister.for_instances([instance])
    app_id = instance.get_instance_hash()
    for step in range(3):
        state = State({"epoch": step, "loss": 1.0 / (step + 1), "w": np.ones(2), "position": "x"})
        persister.save(None, app_id, step, "train", state, "completed")
    path = os.path.join(instance.get_resources_path(), HISTORY_FILE)
    frame = pd.read_json(path, lines=True, precise_float=True)  # pandas' default rounds
    assert frame["sequence_id"].tolist() == [0, 1, 2]
    assert frame["loss"].tolist() == [1.0, 0.5, 1 / 3]
    assert "w" not in frame.columns and frame["state.position"].tolist() == ["x"] * 3
    assert list(frame.columns[:4]) == ["sequence_id", "position", "status", "timestamp"]
    collected = phyper.collect([instance], lambda i: path, loader=load_history)
    assert collected["loss"].tolist() == [1.0, 0.5, 1 / 3] and "seed" in collected.columns
    # phyper.json was written: the folder describes itself
    assert phyper.scan(root)["hash"].tolist() == [app_id]


def test_a_line_of_an_uncommitted_step_is_cut_off_by_the_next_save(root):
    persister = PhyperPersister(root)
    save_and_load(persister, {"loss": 1.0}, 0)
    persister.close()
    path = os.path.join(persister.folder(HASH), HISTORY_FILE)
    with open(path, "a") as stream:  # a kill after the append, before the state's rename
        stream.write('{"sequence_id": 1, "position": "step", "loss": 0.5}\n{"seq')
    again = PhyperPersister(root)
    assert again.load(None, HASH)["sequence_id"] == 0  # the committed state
    save_and_load(again, {"loss": 0.7}, 1)
    assert load_history(path)["loss"].tolist() == [1.0, 0.7]


def test_lost_history_rows_are_an_error_not_a_silent_restart(root):
    persister = PhyperPersister(root)
    for step in range(40):  # 40 kB of rows: more than the states carry unflushed
        save_and_load(persister, {"loss": 1.0 / (step + 1), "note": "x" * 1000}, step)
    persister.close()
    open(os.path.join(persister.folder(HASH), HISTORY_FILE), "w").close()
    with pytest.raises(BurrStateError, match="history rows were lost"):
        save_and_load(PhyperPersister(root), {"loss": 0.5}, 40)


def test_rows_a_power_cut_took_from_the_history_are_put_back(root):
    """Rows are flushed to disk in batches; until then each committed state carries them."""
    persister = PhyperPersister(root)
    for step in range(5):
        save_and_load(persister, {"loss": 1.0 / (step + 1)}, step)
    persister.close()
    path = os.path.join(persister.folder(HASH), HISTORY_FILE)
    whole = load_history(path)
    with open(path, "r+b") as stream:  # what a power cut may leave: the unflushed rows gone
        stream.truncate(0)
    save_and_load(PhyperPersister(root), {"loss": 0.1}, 5)
    again = load_history(path)
    assert again["loss"].tolist() == [*whole["loss"].tolist(), 0.1]
    assert again["sequence_id"].tolist() == list(range(6))


def test_a_state_torn_by_a_crash_falls_back_to_the_step_before(root):
    persister = PhyperPersister(root)
    save_and_load(persister, {"w": np.zeros(3), "loss": 1.0}, 0)
    save_and_load(persister, {"w": np.ones(3), "loss": 0.5}, 1)
    save_and_load(persister, {"w": np.full(3, 2.0), "loss": 0.25}, 2)
    persister.close()
    folder = persister.folder(HASH)
    newest = STATE_FILES[newest_slot(folder)["commit"] % 2]  # slot a holds commits 0, 2, ...
    with open(os.path.join(folder, newest), "r+b") as stream:  # a write cut off half-way
        stream.seek(40)
        stream.write(b"#" * 20)
    loaded = PhyperPersister(root).load(None, HASH)
    assert loaded["sequence_id"] == 1 and loaded["state"]["loss"] == 0.5
    assert same(loaded["state"]["w"], np.ones(3))  # its array was kept for this
    # resumed from there: the next step replaces the torn state and the history is cut back
    assert save_and_load(PhyperPersister(root), {"w": None, "loss": 0.3}, 2)["loss"] == 0.3
    rows = load_history(os.path.join(folder, HISTORY_FILE))
    assert rows["loss"].tolist() == [1.0, 0.5, 0.3]
    with (
        open(os.path.join(folder, STATE_FILES[0]), "r+b") as a,
        open(os.path.join(folder, STATE_FILES[1]), "r+b") as b,
    ):
        a.write(b"#"), b.write(b"#")
    with pytest.raises(BurrStateError, match="both state files"):
        PhyperPersister(root).load(None, HASH)


def test_a_version_1_state_file_is_read_and_replaced(root):
    folder = os.path.join(root, "all", HASH)
    os.makedirs(folder)
    legacy = {
        "format": "phyper-burr-state",
        "version": 1,
        "app_id": HASH,
        "partition_key": None,
        "sequence_id": 4,
        "position": "train",
        "status": "completed",
        "created_at": "2026-11-30T10:00:00+00:00",
        "history_bytes": 0,
        "state": {"epoch": 4, "loss": {"__phyper__": "float", "value": "inf"}},
    }
    with open(os.path.join(folder, STATE_FILE), "w") as stream:
        json.dump(legacy, stream)
    persister = PhyperPersister(root)
    loaded = persister.load(None, HASH)
    assert loaded["sequence_id"] == 4 and loaded["state"]["loss"] == float("inf")
    save_and_load(persister, {"epoch": 5}, 5)
    assert os.path.exists(os.path.join(folder, STATE_FILE))  # still the fallback
    save_and_load(persister, {"epoch": 6}, 6)
    assert not os.path.exists(os.path.join(folder, STATE_FILE))


def test_ids_partitions_and_listing(root):
    instance = Declaration(hashed_resources_folder=root)
    instance.register_new_resource("by_seed", ["seed"])
    persister = PhyperPersister(instance)
    with pytest.raises(BurrStateError, match=r"with_identifiers\(app_id=instance"):
        persister.save(None, "3f2b-uuid", 0, "a", State({}), "completed")
    with pytest.raises(phyper.UnknownResourceError, match="not a resource"):
        persister.save("study-1", HASH, 0, "a", State({}), "completed")
    seed_hash = instance.get_instance_hash("by_seed")
    persister.save("by_seed", seed_hash, 0, "a", State({"x": 1}), "completed")
    assert newest_slot(instance.get_resources_path("by_seed"))["state"] == {"x": 1}
    assert persister.list_app_ids("by_seed") == [seed_hash]
    assert persister.list_app_ids(None) == []
    assert persister.load("by_seed", None)["app_id"] == seed_hash  # the latest of the partition
    assert persister.load(None, HASH) is None
    with pytest.raises(BurrStateError, match="latest step only"):
        persister.load("by_seed", seed_hash, sequence_id=5)
    strict = PhyperPersister.for_instances([instance])
    with pytest.raises(BurrStateError, match="not the 'all' hash of any"):
        strict.save(None, HASH, 0, "a", State({}), "completed")
    assert strict.copy().root == strict.root


def test_a_state_file_copied_into_another_folder_is_refused(root):
    persister = PhyperPersister(root)
    save_and_load(persister, {"x": 1})
    other = os.path.join(root, "all", "f" * 32)
    os.makedirs(other)
    for name in STATE_FILES:
        os.link(os.path.join(persister.folder(HASH), name), os.path.join(other, name))
    with pytest.raises(BurrStateError, match="copied from another"):
        persister.load(None, "f" * 32)


# ------------------------------------------------------------------------ in an application


def counting_application(persister, app_id: str, stop, hooks=()):
    """Epochs whose loss falls for 4 epochs, then rises: patience fires 3 epochs later."""
    losses = [5.0, 4.0, 3.0, 2.0, 2.5, 2.6, 2.7, 2.8, 2.9, 3.0, 3.1, 3.2]

    @action(reads=["epoch"], writes=["epoch", "weights"])
    def train(state: State) -> State:
        epoch = state["epoch"] + 1
        return state.update(epoch=epoch, weights=np.full(3, float(epoch)))

    @action(reads=["epoch"], writes=["history"])
    def validate(state: State) -> State:
        return state.append(history={"loss": losses[state["epoch"] - 1]})

    @action(reads=["history"], writes=["why"])
    def finish(state: State) -> State:
        return state.update(why=fired(stop, state).reason)

    builder = (
        ApplicationBuilder()
        .with_actions(train=train, validate=validate, finish=finish)
        .with_transitions(
            ("train", "validate", default),
            ("validate", "finish", stop_condition_for_burr(stop)),
            ("validate", "train", default),
        )
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"epoch": 0, "history": [], "weights": None, "why": None},
            default_entrypoint="train",
        )
        .with_state_persister(persister)
        .with_identifiers(app_id=app_id)
    )
    if hooks:
        builder = builder.with_hooks(TuneHooks(hooks, epoch_action="validate", stop=stop))
    return builder.build()


def test_a_phyper_condition_is_a_burr_transition(root):
    stop = tune.max_epochs(10) | tune.patience("loss", 3)
    app = counting_application(PhyperPersister(root), HASH, stop)
    last, _, state = app.run(halt_after=["finish"])
    assert last.name == "finish"
    assert [row["loss"] for row in state["history"]] == [5.0, 4.0, 3.0, 2.0, 2.5, 2.6, 2.7]
    assert state["why"] == "patience(loss, 3): no improvement > 0 since epoch 4"
    assert same(state["weights"], np.full(3, 7.0))
    # resumed by another application object: nothing left to do, the state is the same
    again = counting_application(PhyperPersister(root), HASH, stop)
    assert again.get_next_action() is None
    assert same(again.state["weights"], np.full(3, 7.0)) and again.state["epoch"] == 7
    with pytest.raises(TypeError, match="phyper condition"):
        stop_condition_for_burr("epochs > 3")  # type: ignore[arg-type]


def test_max_epochs_ends_a_run_and_composes_with_burr_conditions(root):
    from burr.core import expr

    condition = stop_condition_for_burr(tune.max_epochs(2)) | expr("epoch > 100")
    assert condition.run(State({"history": [{"loss": 1.0}] * 2, "epoch": 0}))["PROCEED"]
    assert not condition.run(State({"history": [{"loss": 1.0}], "epoch": 0}))["PROCEED"]
    with pytest.raises(ValueError, match="history"):  # Burr checks the keys it was given
        stop_condition_for_burr(tune.max_epochs(2)).run(State({"epoch": 1}))
    with pytest.raises(BurrStateError, match="no field 'history'"):
        fired(tune.max_epochs(2), State({"epoch": 1}))
    with pytest.raises(BurrStateError, match="expected a list with one dict"):
        fired(tune.max_epochs(2), {"history": 3})


class Recorder(tune.RunStartHook, tune.EpochEndHook, tune.StopHook, tune.FailureHook):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_run_start(self, *, epoch, resumed, **future_kwargs):
        self.calls.append(("start", epoch, resumed))

    def on_epoch_end(self, *, epoch, metrics, history, **future_kwargs):
        assert history.last_epoch == epoch and future_kwargs["app_id"] == HASH
        self.calls.append(("epoch", epoch, metrics["loss"]))

    def on_stop(self, *, result, **future_kwargs):
        self.calls.append(("stop", result))

    def on_failure(self, *, error, **future_kwargs):
        self.calls.append(("failure", str(error)))


def test_phyper_hooks_run_as_burr_lifecycle_hooks(root):
    recorder = Recorder()
    output = io.StringIO()
    bar = tune.ProgressBar(enabled=True, file=output)
    stop = tune.max_epochs(3)
    app = counting_application(PhyperPersister(root), HASH, stop, hooks=[recorder, bar])
    app.run(halt_after=["validate"])  # one epoch, then a second session
    app.run(halt_after=["finish"])
    assert recorder.calls == [
        ("start", 0, False),
        ("epoch", 1, 5.0),
        ("stop", None),
        ("start", 1, True),
        ("epoch", 2, 4.0),
        ("epoch", 3, 3.0),
        ("stop", None),
    ]
    assert "3/3" in output.getvalue()  # the bar's total came from run.stop


def test_a_failing_action_and_a_failing_hook(root):
    recorder = Recorder()

    class Broken(tune.EpochEndHook):
        def on_epoch_end(self, **future_kwargs):
            raise ValueError("disk full")

    @action(reads=[], writes=["history"])
    def validate(state: State) -> State:
        raise RuntimeError("diverged")

    app = (
        ApplicationBuilder()
        .with_actions(validate=validate)
        .with_transitions(("validate", "validate", default))
        .with_entrypoint("validate")
        .with_state(history=[])
        .with_hooks(TuneHooks([recorder], epoch_action="validate"))
        .with_state_persister(PhyperPersister(root))
        .with_identifiers(app_id=HASH)
        .build()
    )
    with pytest.raises(RuntimeError, match="diverged"):
        app.step()
    assert recorder.calls == [("start", 0, False), ("failure", "diverged")]  # no on_stop
    loaded = PhyperPersister(root).load(None, HASH)
    assert loaded["status"] == "failed" and loaded["position"] == "validate"

    broken = counting_application(
        PhyperPersister(root), "e" * 32, tune.max_epochs(3), hooks=[Broken()]
    )
    with pytest.raises(tune.HookError, match="hook Broken raised in on_epoch_end"):
        broken.run(halt_after=["finish"])


def test_ctrl_c_inside_an_action_commits_nothing_and_the_action_runs_again(root):
    """Burr catches Exception only: on Ctrl-C it still saves, as "completed", the state from
    before the action, so a resumed application would skip the interrupted action."""
    calls = []

    def build(interrupt_at: int | None):
        @action(reads=["count"], writes=["count"])
        def count(state: State) -> State:
            calls.append(state["count"])
            if state["count"] == interrupt_at:
                raise KeyboardInterrupt
            return state.update(count=state["count"] + 1)

        @action(reads=["count"], writes=["seen"])
        def check(state: State) -> State:
            return state.update(seen=state["count"])

        persister = PhyperPersister(root)
        return persister, (
            ApplicationBuilder()
            .with_actions(count=count, check=check)
            .with_transitions(("count", "check", default), ("check", "count", default))
            .initialize_from(
                persister,
                resume_at_next_action=True,
                default_state={"count": 0, "seen": None},
                default_entrypoint="count",
            )
            .with_state_persister(persister)
            .with_identifiers(app_id=HASH)
            .build()
        )

    persister, app = build(interrupt_at=2)
    persister.track(app)
    with pytest.raises(KeyboardInterrupt):
        for _ in range(9):
            app.step()
    loaded = PhyperPersister(root).load(None, HASH)
    assert (loaded["position"], loaded["sequence_id"], loaded["state"]["count"]) == ("check", 3, 2)
    assert run_json(root, HASH)["status"] == "interrupted"
    assert run_json(root, HASH)["epoch"] == 4
    persister.close()
    _, again = build(interrupt_at=None)
    assert again.get_next_action().name == "count"  # the interrupted action, not check
    again.step()
    again.step()
    assert again.state["seen"] == 3 and calls == [0, 1, 2, 2]
    rows = load_history(os.path.join(root, "all", HASH, HISTORY_FILE))
    assert rows["sequence_id"].tolist() == list(range(6))


def flaky_application(root: str, app_id: str, fail_at: int | None):
    @action(reads=["count"], writes=["count"])
    def count(state: State) -> State:
        if state["count"] == fail_at:
            raise RuntimeError("diverged")
        return state.update(count=state["count"] + 1)

    @action(reads=[], writes=[])
    def done(state: State) -> State:
        return state

    persister = PhyperPersister(root)
    return persister, (
        ApplicationBuilder()
        .with_actions(count=count, done=done)
        .with_transitions(("count", "done", expr("count >= 4")), ("count", "count", default))
        .initialize_from(
            persister,
            resume_at_next_action=True,
            default_state={"count": 0},
            default_entrypoint="count",
        )
        .with_state_persister(persister)
        .with_identifiers(app_id=app_id)
        .build()
    )


def test_run_json_says_failed_then_completed_after_the_retry(root):
    persister, app = flaky_application(root, HASH, fail_at=2)
    with pytest.raises(RuntimeError, match="diverged"):
        persister.run(app)
    recorded = run_json(root, HASH)
    assert recorded["status"] == "failed" and recorded["error"] == "RuntimeError: diverged"
    assert recorded["epoch"] == 2  # the two steps committed before
    assert tune.runs(root)["status"].tolist() == ["failed"]
    persister.close()
    persister, app = flaky_application(root, HASH, fail_at=None)
    assert persister.run(app) == "completed"
    recorded = run_json(root, HASH)
    assert recorded["status"] == "completed" and recorded["error"] is None
    assert app.state["count"] == 4 and recorded["epoch"] == app.sequence_id + 1


def test_a_second_process_is_refused_while_one_runs_the_application(root):
    folder = os.path.join(root, "all", HASH)
    os.makedirs(folder)
    holder = subprocess.Popen(
        [
            PYTHON,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            os.path.join(folder, "run.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        persister, app = flaky_application(root, HASH, fail_at=None)
        with pytest.raises(tune.RunLockedError, match=f"Burr application {HASH} is locked"):
            persister.run(app)
        assert not os.path.exists(os.path.join(folder, STATE_FILES[0]))  # no step ran
    finally:
        holder.kill()
        holder.wait()
    persister, app = flaky_application(root, HASH, fail_at=None)
    assert persister.run(app) == "completed"


def test_an_application_dropped_mid_run_frees_its_folder(root):
    import gc

    from phyper.tune._lock import FolderLock

    persister, app = flaky_application(root, HASH, fail_at=None)
    persister.track(app)
    app.step()
    assert run_json(root, HASH)["status"] == "running"
    lock = FolderLock(os.path.join(root, "all", HASH, "run.lock"), tune.RunLockedError, "test")
    with pytest.raises(tune.RunLockedError):
        lock.acquire(wait=False)
    del app
    gc.collect()
    lock.acquire(wait=False)  # free: a later process may resume it
    lock.release()


def test_beside_a_tune_run_the_application_leaves_its_run_json_alone(root):
    instance = Declaration(hashed_resources_folder=root)
    with tune.Run(instance, stop=tune.max_epochs(2)) as run:
        for _ in run.epochs():
            run.report(loss=1.0)
    before = run_json(root, instance.get_instance_hash())
    persister, app = flaky_application(root, instance.get_instance_hash(), fail_at=None)
    assert persister.run(app) == "completed" and app.state["count"] == 4
    assert run_json(root, instance.get_instance_hash()) == before
    assert tune.load_result(instance).status is tune.COMPLETED


# -------------------------------------------------------------------------------- gates


def test_await_and_take_a_decision_through_run_json(root):
    instance = Declaration(hashed_resources_folder=root)
    assert decision_input(instance, "review") is None
    await_decision(instance, "review", reason="halted before review")
    pending = tune.pending_decisions(root)
    assert pending["hash"].tolist() == [instance.get_instance_hash()]
    tune.decide(root, instance.get_instance_hash(), go=False, note="overfits")
    assert decision_input(instance, "review") == {"decision": "no-go", "note": "overfits"}
    assert decision_input(instance, "review") == {"decision": "no-go", "note": "overfits"}
    assert tune.runs(root)["status"].tolist() == ["stopped"]


def test_a_gate_never_overwrites_a_tune_run(root):
    instance = Declaration(hashed_resources_folder=root)
    with tune.Run(instance, stop=tune.max_epochs(2)) as run:
        for _ in run.epochs():
            run.report(loss=1.0)
    with pytest.raises(tune.DecisionError, match="holds a tune.Run training run"):
        await_decision(instance, "review", reason="x")
    assert tune.load_result(instance).status is tune.COMPLETED


# ----------------------------------------------------------------------- the example


SWEEP = """\
fixed:
  n_epochs: {epochs}
  cv_k: 2
grid:
  transformation: [identity]
  n_hidden_layers: [1]
  cv_fold: [0]
"""


def example_instance(folder: pathlib.Path, epochs: int):
    sys.path.insert(0, WORKTREE) if WORKTREE not in sys.path else None
    from example import config

    sweep = folder / "sweep.yaml"
    sweep.write_text(SWEEP.format(epochs=epochs))
    _, instances = config.load(sweep, folder=str(folder / "derived_data"))
    return str(sweep), instances[0]


def example_command(cwd: pathlib.Path, *arguments: str) -> list[str]:
    return [PYTHON, "-m", "example", *arguments]


def run_example(cwd: pathlib.Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        example_command(cwd, *arguments),
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": WORKTREE},
        capture_output=True,
        text=True,
        timeout=300,
    )


def final_state(cwd: pathlib.Path, instance) -> dict:
    folder = cwd / "derived_data" / "all" / instance.get_instance_hash()
    loaded = PhyperPersister(str(cwd / "derived_data")).load(None, instance.get_instance_hash())
    assert loaded is not None, os.listdir(folder)
    return loaded["state"].get_all()


def test_the_sources_application_runs_to_best_model(tmp_path, monkeypatch):
    sweep, instance = example_instance(tmp_path, epochs=4)
    monkeypatch.chdir(tmp_path)
    from example import config
    from example.burr_training import train_with_burr

    _, instances = config.load(sweep)  # relative root, as the command uses
    outcome = train_with_burr(instances[0])
    state = outcome["state"]
    assert outcome["status"] == "completed" and state["iterations"] == 4
    assert [row["epoch"] for row in state["training_metrics"]] == [1, 2, 3, 4]
    assert len(state["validation_metrics"]) == 4
    assert state["stopped_by"] == "max_epochs(4): reached epoch 4"
    assert state["best_model"] == state["best_checkpoint"]
    assert os.path.isfile(os.path.join(instance.get_resources_path(), state["best_model"]))
    assert same(state["train_rows"].dtype, np.dtype(bool))
    history = pd.read_json(os.path.join(instance.get_resources_path(), HISTORY_FILE), lines=True)
    assert history["position"].tolist() == [
        "process_data",
        *["train_model", "validate_model"] * 4,
        "best_model",
    ]
    again = train_with_burr(instances[0])  # finished: nothing runs again
    assert again["state"]["iterations"] == 4
    assert len(load_history(os.path.join(instance.get_resources_path(), HISTORY_FILE))) == 10


def _lines(path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_killed_with_sigkill_it_resumes_at_the_next_action(tmp_path):
    epochs = 25
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir(), killed_dir.mkdir()
    _, instance = example_instance(reference_dir, epochs)
    example_instance(killed_dir, epochs)
    h = instance.get_instance_hash()
    arguments = ("burr-train", "--hash", h, "--sweep", "sweep.yaml")
    done = run_example(reference_dir, *arguments)
    assert done.returncode == 0, done.stderr
    reference = final_state(reference_dir, instance)

    history = killed_dir / "derived_data" / "all" / h / HISTORY_FILE
    rng = random.Random()
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(
            example_command(killed_dir, *arguments),
            cwd=killed_dir,
            env={**os.environ, "PYTHONPATH": WORKTREE},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # kill after a random number of new actions (of the 52 a run takes): a trigger on
        # progress, not on time, so three kills land in training however fast the machine is
        start = _lines(history)
        target = start + rng.randint(1, 8)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if _lines(history) >= target:
                break
            time.sleep(0.002)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            # a kill that landed before training was done (a late one may land in teardown)
            kills += final_state(killed_dir, instance)["stopped_by"] is None
        process.wait()
    assert kills >= 1  # it was stopped in the middle at least once
    finished = run_example(killed_dir, *arguments)
    assert finished.returncode == 0, finished.stderr
    resumed = final_state(killed_dir, instance)
    assert resumed["validation_metrics"] == reference["validation_metrics"]
    assert resumed["training_metrics"] == reference["training_metrics"]
    for key in ("iterations", "best_epoch", "best_value", "stopped_by", "best_model"):
        assert resumed[key] == reference[key], key
    frame = pd.read_json(history, lines=True)
    assert frame["sequence_id"].tolist() == list(range(len(frame)))  # each step once
    checkpoints = os.listdir(history.parent / "burr_checkpoints")
    assert len(checkpoints) <= 2  # the last and the best


COUNTER_SCRIPT = """
import sys
import numpy as np
from burr.core import ApplicationBuilder, State, action, default, expr
from phyper.integrations.burr import PhyperPersister

@action(reads=["n", "rows", "w"], writes=["n", "rows", "w", "loss"])
def step(state: State) -> State:
    n = state["n"] + 1
    rows = state["rows"] + [{"n": n, "loss": 1.0 / n}]
    return state.update(n=n, rows=rows, w=state["w"] + n, loss=np.float32(1.0 / n))

@action(reads=[], writes=[])
def done(state: State) -> State:
    return state

persister = PhyperPersister(sys.argv[1])
app = (
    ApplicationBuilder()
    .with_actions(step=step, done=done)
    .with_transitions(("step", "done", expr("n >= 200")), ("step", "step", default))
    .initialize_from(persister, resume_at_next_action=True,
                     default_state={"n": 0, "rows": [], "w": np.zeros(300), "loss": None},
                     default_entrypoint="step")
    .with_state_persister(persister)
    .with_identifiers(app_id=sys.argv[2])
    .build()
)
print(persister.run(app))
"""


def test_the_persister_killed_with_sigkill_at_random_moments_loses_nothing(tmp_path):
    script = tmp_path / "counter.py"
    script.write_text(COUNTER_SCRIPT)
    root = str(tmp_path / "derived_data")
    command = [PYTHON, str(script), root, HASH]
    env = {**os.environ, "PYTHONPATH": WORKTREE}
    history = tmp_path / "derived_data" / "all" / HASH / HISTORY_FILE
    kills = 0
    for _ in range(6):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        target = _lines(history) + random.randint(1, 40)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if _lines(history) >= target:
                break
            time.sleep(0.0005)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    assert kills >= 1
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0 and finished.stdout.strip() == "completed", finished.stderr
    state = PhyperPersister(root).load(None, HASH)["state"]
    assert state["n"] == 200 and [row["n"] for row in state["rows"]] == list(range(1, 201))
    assert same(state["w"], np.full(300, float(sum(range(201)))))
    assert same(state["loss"], np.float32(1.0 / 200))
    frame = load_history(str(history))
    assert frame["sequence_id"].tolist() == list(range(201))  # each step once
    assert frame["n"].tolist() == [*range(1, 201), 200]
    assert len(os.listdir(history.parent / ARRAYS_DIR)) <= 2
    assert run_json(root, HASH)["status"] == "completed"


def test_a_gate_decided_by_phyper_decide_in_another_process(tmp_path):
    _, instance = example_instance(tmp_path, epochs=6)
    h = instance.get_instance_hash()
    arguments = ("burr-train", "--hash", h, "--sweep", "sweep.yaml", "--review-after", "3")
    first = run_example(tmp_path, *arguments)
    assert first.returncode == 3, first.stderr
    assert f"phyper decide {h[:12]} --go" in first.stderr
    assert final_state(tmp_path, instance)["iterations"] == 3
    root = str(tmp_path / "derived_data")
    assert tune.pending_decisions(root)["gate"].tolist() == ["review"]
    history = tmp_path / "derived_data" / "all" / h / HISTORY_FILE
    at_gate = run_json(root, h)
    assert at_gate["status"] == "awaiting_decision" and at_gate["epoch"] == _lines(history) == 7
    waiting = run_example(tmp_path, *arguments)  # no decision yet: it waits again
    assert waiting.returncode == 3 and final_state(tmp_path, instance)["iterations"] == 3

    decided = subprocess.run(
        [PYTHON, "-m", "phyper", "decide", h[:10], "--go", "--note", "curves fine", "--root", root],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert decided.returncode == 0, decided.stderr

    third = run_example(tmp_path, *arguments)
    assert third.returncode == 0, third.stderr
    state = final_state(tmp_path, instance)
    assert state["decision"] == "go" and state["decision_note"] == "curves fine"
    assert state["iterations"] == 6 and state["stopped_by"] == "max_epochs(6): reached epoch 6"
    recorded = run_json(root, h)
    # issue 16: it said "running" forever, with epoch 0
    assert recorded["decided_gates"] == ["review"] and recorded["status"] == "completed"
    assert recorded["epoch"] == _lines(history) == 1 + 2 * 6 + 1 + 1  # every step, the gate too
    assert tune.pending_decisions(root).empty
    listed = tune.runs(root)
    assert listed["status"].tolist() == ["completed"] and listed["epoch"].tolist() == [15]


def run_json(root: str, h: str) -> dict:
    with open(os.path.join(root, "all", h, "run.json")) as stream:
        return json.load(stream)


def test_ctrl_c_after_a_go_marks_the_run_interrupted_and_it_resumes(tmp_path):
    epochs = 12
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    _, instance = example_instance(reference_dir, epochs)
    h = instance.get_instance_hash()
    reference = run_example(reference_dir, "burr-train", "--hash", h, "--sweep", "sweep.yaml")
    assert reference.returncode == 0, reference.stderr
    expected = final_state(reference_dir, instance)["validation_metrics"]

    example_instance(tmp_path, epochs)
    arguments = ("burr-train", "--hash", h, "--sweep", "sweep.yaml", "--review-after", "2")
    assert run_example(tmp_path, *arguments).returncode == 3
    root = str(tmp_path / "derived_data")
    tune.decide(root, h, go=True)
    history = tmp_path / "derived_data" / "all" / h / HISTORY_FILE
    interrupted = False
    for _ in range(3):  # a Ctrl-C that lands once the go was applied, while training
        process = subprocess.Popen(
            example_command(tmp_path, *arguments),
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": WORKTREE},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        target = _lines(history) + random.randint(1, 4)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if _lines(history) >= target:
                break
            time.sleep(0.002)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
            # the example's commands turn Ctrl-C into one line and exit status 130
            assert process.returncode == 130 and "interrupted" in stderr, stderr
            assert "Traceback" not in stderr
            recorded = run_json(root, h)
            assert recorded["status"] == "interrupted", recorded
            committed = PhyperPersister(root).load(None, h)["sequence_id"] + 1
            assert recorded["epoch"] == committed  # the steps committed, no more
            assert tune.runs(root)["status"].tolist() == ["interrupted"]
            interrupted = True
            break
        process.communicate(timeout=60)
    assert interrupted
    finished = run_example(tmp_path, *arguments)
    assert finished.returncode == 0, finished.stderr
    recorded = run_json(root, h)
    assert recorded["status"] == "completed" and recorded["error"] is None
    frame = pd.read_json(history, lines=True)
    assert frame["sequence_id"].tolist() == list(range(len(frame)))  # each step once
    assert recorded["epoch"] == len(frame)
    assert final_state(tmp_path, instance)["validation_metrics"] == expected


def test_a_no_go_ends_at_best_model(tmp_path):
    _, instance = example_instance(tmp_path, epochs=6)
    h = instance.get_instance_hash()
    arguments = ("burr-train", "--hash", h, "--sweep", "sweep.yaml", "--review-after", "2")
    assert run_example(tmp_path, *arguments).returncode == 3
    tune.decide(str(tmp_path / "derived_data"), h, go=False, note="overfits")
    assert run_example(tmp_path, *arguments).returncode == 0
    state = final_state(tmp_path, instance)
    assert state["iterations"] == 2 and state["stopped_by"] == "no-go at gate review"
    assert tune.runs(str(tmp_path / "derived_data"))["status"].tolist() == ["stopped"]
