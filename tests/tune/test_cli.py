"""``phyper decide`` and ``phyper runs``, through an argparse parser built as the main one is."""

from __future__ import annotations

import argparse
import io
import json
from contextlib import redirect_stdout

import pandas as pd
import pytest

from phyper import PhyperError, tune
from phyper.tune import _cli

from .search import SPACE, plain_objective
from .trainer import make_instance, train


def invoke(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="phyper")
    _cli.add_commands(parser.add_subparsers(dest="command", required=True))
    options = parser.parse_args(argv)
    out = io.StringIO()
    with redirect_stdout(out):
        code = options.run(options)
    return code, out.getvalue()


@pytest.fixture
def awaiting(root):
    instance = make_instance(root, n_epochs=6)
    train(instance, gates=[tune.Gate("review", tune.after_epoch(3))])
    done = make_instance(root, n_epochs=2, seed=1)
    train(done)
    return instance, done


def test_runs_lists_status_in_every_format(root, awaiting):
    instance, done = awaiting
    code, text = invoke("runs", "--root", root)
    assert code == 0
    assert "awaiting_decision" in text and "completed" in text and "review" in text
    code, text = invoke("runs", "--root", root, "--format", "csv")
    frame = pd.read_csv(io.StringIO(text)).set_index("hash")
    assert frame.loc[instance.get_instance_hash(), "status"] == "awaiting_decision"
    assert frame.loc[done.get_instance_hash(), "epoch"] == 2
    code, text = invoke("runs", "--root", root, "--status", "completed", "--format", "json")
    assert [r["hash"] for r in json.loads(text)] == [done.get_instance_hash()]


def test_decide_go_then_resume(root, awaiting):
    instance, _ = awaiting
    code, text = invoke(
        "decide", instance.get_instance_hash()[:7], "--go", "--note", "fine", "--root", root
    )
    assert code == 0 and f"recorded go for run {instance.get_instance_hash()[:12]}" in text
    assert "at gate 'review'" in text and "start the run again" in text
    result, _ = train(instance, gates=[tune.Gate("review", tune.after_epoch(3))])
    assert result.status is tune.COMPLETED


def test_errors_are_phyper_errors_and_main_exits_2(root, awaiting, capsys):
    _, done = awaiting
    with pytest.raises(PhyperError, match="awaits no decision"):
        invoke("decide", done.get_instance_hash(), "--no-go", "--root", root)
    assert _cli.main(["decide", done.get_instance_hash(), "--go", "--root", root]) == 2
    assert "phyper decide: error:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as caught:  # --go or --no-go is required
        invoke("decide", done.get_instance_hash(), "--root", root)
    assert caught.value.code == 2
    assert _cli.main(["runs", "--root", root + "/missing"]) == 2


def test_study_show_has_best_so_far_and_decide_study_says_what_applies_it(root):
    study = tune.Study(
        make_instance(root), "gated", space=SPACE, metric="loss", sampler=tune.RandomSampler(0)
    )
    study.optimize(plain_objective, n_trials=4)
    code, text = invoke("study", "show", "gated", "--root", root)
    header = next(line for line in text.splitlines() if line.lstrip().startswith("number"))
    assert code == 0 and header.split()[:4] == ["number", "state", "value", "best_so_far"]
    assert study.await_decision("final", note="train the final model?") is None
    code, text = invoke("decide", "--study", "gated", "--go", "--root", root)
    assert code == 0 and "recorded go for study gated at gate 'final'" in text
    assert "the study's optimize again (the same command)" in text
