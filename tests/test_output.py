"""Every csv and json output of the ``phyper`` command gives back exact floats: a trial's
hyperparameters, read from ``study show``, rebuild the trial's hash."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from phyper import cli, tune
from phyper._output import plain, render_frame
from tests.tune.trainer import make_instance, train

PRECISE = [0.0012345678901234567, 0.012345678901234567, 1 / 3, 2.0000000000000004]


def _run(capsys, *argv: str) -> str:
    code = cli.main(list(argv))
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return out


def _read(text: str, fmt: str) -> list[dict]:
    if fmt == "json":
        return json.loads(text)
    return pd.read_csv(io.StringIO(text)).to_dict(orient="records")


def _objective(instance) -> float:
    return instance.lr


@pytest.fixture
def study_root(tmp_path):
    root = str(tmp_path / "derived_data")
    parser = make_instance(root, n_epochs=1)
    space = {"lr": tune.choice(PRECISE), "seed": tune.integers(0, 1)}
    study = tune.Study(parser, "exact", space=space, metric="loss", sampler=tune.GridSampler())
    study.optimize(_objective, n_trials=8)
    other = tune.Study(parser, "random", space={"lr": tune.log_uniform(1e-4, 1e-1)}, metric="loss")
    other.optimize(_objective, n_trials=5)
    return root, parser


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_study_show_gives_back_the_trials_exact_hyperparameters(study_root, capsys, fmt):
    root, parser = study_root
    for name in ("exact", "random"):
        rows = _read(_run(capsys, "study", "show", name, "--root", root, "--format", fmt), fmt)
        assert len(rows) >= 5
        for row in rows:
            rebuilt = parser.replace(
                lr=row["lr"], **({"seed": row["seed"]} if "seed" in row else {})
            )
            assert rebuilt.get_instance_hash() == row["hash"], row
    values = {row["lr"] for row in _read(
        _run(capsys, "study", "show", "exact", "--root", root, "--format", fmt), fmt
    )}  # fmt: skip
    assert values == set(PRECISE)
    best = _read(_run(capsys, "study", "ls", "--root", root, "--format", fmt), fmt)
    assert {row["best_value"] for row in best} >= {PRECISE[0]}


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_ls_collect_and_runs_give_back_exact_floats(tmp_path, capsys, fmt):
    root = str(tmp_path / "derived_data")
    instance = make_instance(root, n_epochs=2, lr=PRECISE[0])
    result, _ = train(instance, stop=tune.max_epochs(2) | tune.patience("validation_loss", 5))
    listed = _read(_run(capsys, "ls", "--root", root, "--format", fmt), fmt)
    assert [row["lr"] for row in listed] == [PRECISE[0]]
    assert instance.replace(lr=listed[0]["lr"]).get_instance_hash() == listed[0]["hash"]
    runs = _read(_run(capsys, "runs", "--root", root, "--format", fmt), fmt)
    assert runs[0]["best_value"] == result.best_value and isinstance(result.best_value, float)
    collected = _read(
        _run(capsys, "collect", "--root", root, "--resource", "all", "--file", "metrics.csv",
             "--format", fmt),
        fmt,
    )  # fmt: skip
    assert collected[0]["lr"] == PRECISE[0]
    described = _read(
        _run(capsys, "describe", instance.get_instance_hash(), "--root", root, "--format", fmt),
        fmt,
    )
    assert described[0]["lr"] == PRECISE[0] and described[0]["hash"] == instance.get_instance_hash()
    config = tmp_path / "config.py"
    config.write_text(
        "from tests.tune.trainer import make_instance\n"
        f"instances = [make_instance({root!r}, lr={PRECISE[0]!r})]\n"
    )
    statuses = _read(_run(capsys, "status", str(config), "--format", fmt), fmt)
    assert [(r["hash"], r["complete"]) for r in statuses] == [(instance.get_instance_hash(), True)]


def test_json_writes_repr_floats_and_null_for_missing_values():
    frame = pd.DataFrame(
        {
            "x": [PRECISE[0], math.nan],
            "f32": np.array([0.1, np.inf], dtype=np.float32),
            "o": pd.Series([(1, 2.5), None], dtype=object),
            "i": [np.int64(3), np.int64(4)],
            "t": [pd.Timestamp("2026-12-02T00:00:00Z"), pd.NaT],
        }
    )
    rows = json.loads(render_frame(frame, "json"))
    assert rows[0] == {
        "x": PRECISE[0],
        "f32": float(np.float32(0.1)),
        "o": [1, 2.5],
        "i": 3,
        "t": "2026-12-02T00:00:00+00:00",
    }
    assert rows[1] == {"x": None, "f32": None, "o": None, "i": 4, "t": None}
    assert plain(np.float32(0.5)) == 0.5 and plain(np.bool_(False)) is False
    text = render_frame(pd.DataFrame({"x": [PRECISE[0]]}), "csv")
    assert float(text.splitlines()[1]) == PRECISE[0]
