"""``phyper runs`` for a person: short hashes, the hyperparameters that vary, the width kept."""

from __future__ import annotations

import datetime
import io
import json
from contextlib import redirect_stdout

import pytest

from phyper import tune
from phyper.cli import main
from phyper.tune._runs_table import compact_time, format_runs, shortest_unique_prefixes

from .trainer import make_instance, train


@pytest.fixture
def store(root):
    """Four runs: lr varies, seed varies, n_epochs (non-key) is the same; one awaits a gate."""
    stop = tune.max_epochs(4) | tune.patience("validation_loss", epochs=5)  # a best value
    for seed, lr in ((0, 0.1), (1, 0.1), (2, 0.05)):
        train(make_instance(root, seed=seed, lr=lr, n_epochs=2), stop=stop)
    waiting = make_instance(root, seed=3, lr=0.025, n_epochs=4)
    train(waiting, stop=stop, gates=[tune.Gate("review", tune.after_epoch(1))])
    return root, waiting


def run_command(*argv: str, columns: int = 100, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


def test_the_default_table_fits_the_width_and_shows_what_varies(store, monkeypatch):
    root, waiting = store
    text = run_command("runs", "--root", root, monkeypatch=monkeypatch)
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines), text
    header = lines[0].split()
    assert header[:4] == ["hash", "status", "epoch", "best_value"]
    assert {"seed", "lr", "gate"} <= set(header)  # the key hyperparameters that vary
    assert "folder" not in header and "n_epochs" not in header
    prefix = waiting.get_instance_hash()[:6]
    row = next(line for line in lines if line.startswith(prefix + " "))
    assert "awaiting_decision" in row and "review" in row and "0.025" in row
    assert "+00:00" not in text and waiting.get_instance_hash() not in text  # compact
    assert "<NA>" not in text and "rung" not in header  # no study: no rung, not a column of NA


def test_a_narrow_terminal_keeps_the_first_columns_and_names_the_rest(store, monkeypatch):
    root, _ = store
    lines = run_command("runs", "--root", root, columns=50, monkeypatch=monkeypatch).splitlines()
    assert all(len(line) <= 50 for line in lines), lines
    assert lines[0].split()[:4] == ["hash", "status", "epoch", "best_value"]
    assert lines[-1].startswith("(") and lines[-1].endswith("--wide shows them)")


def test_wide_csv_and_json_stay_complete(store, monkeypatch):
    root, waiting = store
    full = waiting.get_instance_hash()
    wide = run_command("runs", "--root", root, "--wide", columns=40, monkeypatch=monkeypatch)
    assert full in wide and "folder" in wide.splitlines()[0]
    csv = run_command("runs", "--root", root, "--format", "csv", monkeypatch=monkeypatch)
    header, first = csv.splitlines()[0].split(","), csv.splitlines()[1].split(",")
    assert full in csv and "T" in first[header.index("updated")]  # the full ISO time
    records = json.loads(
        run_command("runs", "--root", root, "--format", "json", monkeypatch=monkeypatch)
    )
    assert {r["hash"] for r in records} >= {full}


def test_prefixes_are_unique_among_every_run_not_only_the_listed(store):
    assert shortest_unique_prefixes(["abcdef1", "abcdef2"]) == 7
    assert shortest_unique_prefixes(["abcdef1", "0bcdef2"]) == 6
    root, _ = store
    frame = tune.runs(root)
    hashes = list(frame["hash"])
    twin = hashes[0][:9] + "0" * 23  # another run that shares 9 characters with the first
    text = format_runs(frame.iloc[:1], width=100, every_hash=[*hashes, twin])
    assert text.splitlines()[1].startswith(hashes[0][:10] + " ")


def test_compact_times():
    now = datetime.datetime(2026, 12, 2, 22, 0, tzinfo=datetime.timezone.utc)
    local = now.astimezone()
    assert compact_time(now.isoformat(), now=now) == local.strftime("%H:%M:%S")
    last_year = now - datetime.timedelta(days=400)
    assert compact_time(last_year.isoformat(), now=now) == last_year.astimezone().strftime(
        "%Y-%m-%d"
    )
    assert compact_time(None) == "" and compact_time("not a time") == "not a time"


def test_wide_shows_every_key_hyperparameter_and_no_missing_marker(store, monkeypatch):
    root, _ = store
    text = run_command("runs", "--root", root, "--wide", columns=400, monkeypatch=monkeypatch)
    header = text.splitlines()[0].split()
    assert {"seed", "lr", "folder", "rung"} <= set(header)  # what --wide promises
    assert "<NA>" not in text and "nan" not in text.lower().split()


def test_a_single_run_shows_its_hyperparameters(store, monkeypatch):
    root, _ = store
    text = run_command(
        "runs", "--root", root, "--status", "awaiting_decision", monkeypatch=monkeypatch
    )
    header, row = text.splitlines()[:2]
    assert {"seed", "lr"} <= set(header.split())  # nothing varies in one row: all of them
    assert "0.025" in row and "<NA>" not in text
