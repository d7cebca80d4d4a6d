"""The example, end to end: real Snakemake runs, the notebook executed, a cluster executor.

One full run of the 90-model grid (2 epochs) is shared by the tests of this module, which then
ask Snakemake what it would do after each kind of change.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from example.config import load, make_parser
from tests.workflow import (
    ROOT,
    copy_workspace,
    environment,
    job_counts,
    run_snakemake,
    write_sweep,
)

FULL_GRID_JOBS = {
    "all": 1,
    "transform_data": 3,
    "preprocess_data": 6,
    "train_model": 90,
    "cross_validation_scores": 1,
    "train_best_model": 1,
    "tune": 3,  # the search, once per sampler
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    workspace = copy_workspace(tmp_path_factory.mktemp("example"))
    fast = write_sweep(workspace, "fast", fixed={"n_epochs": 2})
    output = run_snakemake(workspace, "all", sweep=fast)
    return workspace, output, fast


def test_full_run_computes_each_shared_result_once(workspace):
    _, output, _ = workspace
    assert job_counts(output) == FULL_GRID_JOBS


def test_results_are_complete_and_self_describing(workspace):
    folder, _, fast = workspace
    scores = pd.read_csv(folder / "results" / "cross_validation_scores.csv")
    assert len(scores) == 18
    assert (scores.n_folds == 5).all()
    assert scores.average_validation_loss.is_monotonic_increasing
    best = json.loads((folder / "results" / "best_model" / "test_metrics.json").read_text())
    assert best["cross_validated_model_hash"] == scores.cross_validated_model_hash.iloc[0]
    assert 0.0 <= best["test_accuracy"] <= 1.0
    infos = list((folder / "derived_data").rglob("phyper.json"))
    searched = set()
    for sampler in ("tpe", "random", "grid"):  # each with 3 seeds: <sampler>[-seed<N>].csv
        for suffix in ("", "-seed1", "-seed2"):
            table = folder / "results" / "search" / f"{sampler}{suffix}.csv"
            searched |= set(pd.read_csv(table).hash)
    _, instances = load(folder / fast)
    grid = {instance.get_instance_hash() for instance in instances}
    folders = {p.name for p in (folder / "derived_data" / "all").iterdir()}
    assert len(grid) == 90 and folders == grid | searched  # trials have folders of their own
    assert len(infos) == len(folders) + 3 + 6 + 18  # + each cross-validated model's folder
    metrics = pd.read_csv(next((folder / "derived_data" / "all").glob("*/training_metrics.csv")))
    assert list(metrics.epoch) == [1, 2]
    # after a green run, the store agrees: every folder of every resource holds its results
    status = _phyper(folder, "status", "example/config.py")
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.splitlines()[-1].endswith("(100%), 0 missing"), status.stdout


def test_rerun_has_nothing_to_do(workspace):
    folder, _, fast = workspace
    output = run_snakemake(folder, "-n", "all", sweep=fast)
    assert job_counts(output) == {}
    assert "Nothing to be done" in output
    # the configuration the results came from is recorded beside them
    assert (folder / "results" / "sweep.yaml").read_text() == (folder / fast).read_text()


def test_changing_non_key_values_reruns_nothing(workspace):
    folder, _, _ = workspace
    other = write_sweep(folder, "other", fixed={"n_epochs": 50, "log_interval": 5})
    assert job_counts(run_snakemake(folder, "-n", "all", sweep=other)) == {}


def test_adding_a_transformation_runs_only_the_new_jobs(workspace):
    folder, _, _ = workspace
    more = write_sweep(
        folder,
        "more",
        fixed={"n_epochs": 2},
        grid={"transformation": ["identity", "log", "square", "sqrt"]},
    )
    assert job_counts(run_snakemake(folder, "-n", "all", sweep=more)) == {
        "all": 1,
        "transform_data": 1,
        "preprocess_data": 2,
        "train_model": 30,
        "cross_validation_scores": 1,
        "train_best_model": 1,
        "tune": 3,  # the grid's results are the search's prior knowledge
    }


def test_deleting_one_model_reruns_only_that_model(workspace):
    folder, _, fast = workspace
    # a model of the grid: the searches' trials have training_metrics.csv too, and `all` does
    # not ask for theirs
    grid = _grid_hashes(folder, fast)
    victim = next(
        path
        for path in (folder / "derived_data" / "all").glob("*/training_metrics.csv")
        if path.parent.name in grid
    )
    victim.unlink()
    output = run_snakemake(folder, "all", sweep=fast)
    assert job_counts(output) == {
        "all": 1,
        "train_model": 1,
        "cross_validation_scores": 1,
        "train_best_model": 1,
        "tune": 3,
    }
    assert victim.parent.name in output
    assert victim.exists()


def test_notebook_executes_and_saves_its_plots(workspace):
    folder, _, _ = workspace
    result = subprocess.run(
        [sys.executable, "-m", "example.render_notebook"],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    html = (folder / "results" / "results.html").read_text()
    assert "Cross-validation scores" in html and "test accuracy" in html
    figures = sorted((folder / "results" / "figures").glob("*.png"))
    assert [f.name for f in figures] == [
        "learning_curves.png",
        "parallel_categories.png",
        "search_best_by_epochs.png",
        "search_best_so_far.png",
        "search_by_hyperparameter.png",
        "search_learning_curves.png",
        "validation_loss_by_hyperparameter.png",
    ]
    for figure in figures:
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert figure.stat().st_size > 10_000
    assert "plot:" in result.stdout


def _results(folder: pathlib.Path) -> tuple[pd.DataFrame, dict]:
    scores = pd.read_csv(folder / "results" / "cross_validation_scores.csv")
    best = json.loads((folder / "results" / "best_model" / "test_metrics.json").read_text())
    return scores, best


def test_cluster_generic_executor_gives_the_results_of_a_local_run(tmp_path):
    local = copy_workspace(tmp_path / "local")
    small = write_sweep(local, "small", fixed={"n_epochs": 3}, base="quick")
    run_snakemake(local, "all", sweep=small)
    cluster = copy_workspace(tmp_path / "cluster")
    write_sweep(cluster, "small", fixed={"n_epochs": 3}, base="quick")
    submit = ROOT / "tests" / "data" / "submit_local.sh"
    output = run_snakemake(
        cluster,
        "all",
        "--executor",
        "cluster-generic",
        "--cluster-generic-submit-cmd",
        f"bash {submit}",
        "--jobs",
        "4",
        "--latency-wait",
        "5",
        sweep=small,
    )
    assert job_counts(output)["train_model"] == 4
    assert "local-" in output  # the jobs went through the submit command
    local_scores, local_best = _results(local)
    cluster_scores, cluster_best = _results(cluster)
    pd.testing.assert_frame_equal(local_scores, cluster_scores)
    assert local_best == cluster_best


def test_an_original_readme_style_snakefile_works(tmp_path):
    folder = copy_workspace(tmp_path / "original")
    snakefile = ROOT / "tests" / "data" / "original_style.smk"
    output = run_snakemake(folder, "--snakefile", str(snakefile), "all")
    assert job_counts(output) == {
        "_transform_data": 3,
        "_preprocess_data": 6,
        "_train_nn": 90,
        "compute_cv_scores": 1,
        "all": 1,
    }
    assert (folder / "results" / "original_style_scores.txt").read_text() == "18\n"
    transformed = sorted((folder / "derived_data" / "transformed_data").glob("*/*.npz"))
    assert [p.read_text().strip() for p in transformed] == [p.parent.name for p in transformed]


def test_a_training_resumes_and_raising_n_epochs_continues_it(tmp_path):
    """The train step, run by hand as a user would: more epochs continue the run from its
    checkpoint, and the result equals a run that trained that long in one go."""
    resumed = copy_workspace(tmp_path / "resumed")
    short = write_sweep(resumed, "short", fixed={"n_epochs": 3}, base="quick")
    longer = write_sweep(resumed, "longer", fixed={"n_epochs": 6}, base="quick")
    run_snakemake(resumed, "all", sweep=short)
    once = copy_workspace(tmp_path / "once")
    run_snakemake(
        once, "all", sweep=write_sweep(once, "longer", fixed={"n_epochs": 6}, base="quick")
    )
    victim = next((resumed / "derived_data" / "all").glob("*/run.json")).parent
    step = [sys.executable, "-m", "example", "train-model", "--sweep", longer]
    result = subprocess.run(
        [*step, "--hash", victim.name],
        cwd=resumed,
        env=environment(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    curve = pd.read_csv(victim / "metrics.csv")
    assert curve.epoch.tolist() == [1, 2, 3, 4, 5, 6]
    pd.testing.assert_frame_equal(
        curve, pd.read_csv(once / "derived_data" / "all" / victim.name / "metrics.csv")
    )
    state = json.loads((victim / "run.json").read_text())
    assert state["status"] == "completed" and state["stopped_by"] == "max_epochs(6)"
    # started again, a finished run does nothing and says so
    again = subprocess.run(
        [*step, "--hash", victim.name],
        cwd=resumed,
        env=environment(),
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and json.loads((victim / "run.json").read_text()) == state


def test_the_search_knows_the_grid_and_answers_its_configurations_from_the_store(workspace):
    folder, _, _ = workspace
    priors = []
    for sampler in ("tpe", "random", "grid"):
        best = json.loads((folder / "results" / "search" / f"{sampler}-best.json").read_text())
        priors.append(best["prior_knowledge"])
        trials = pd.read_csv(folder / "results" / "search" / f"{sampler}.csv")
        assert len(trials) == 4 and trials.hash.is_unique
    # every search knew the grid's fold-0 models (3 x 2 x 3), and, when it last started, the
    # trials of the other searches
    assert all(prior >= 18 for prior in priors)
    # a search over exactly the grid's fold-0 configurations trains nothing
    grid_only = write_sweep(folder, "grid_only", fixed={"n_epochs": 2})
    document = yaml.safe_load((folder / grid_only).read_text())
    document["search"] = {
        "transformation": ["identity", "log", "square"],
        "centering": [True, False],
        "n_hidden_layers": [1, 2, 3],
    }
    (folder / grid_only).write_text(yaml.safe_dump(document))
    before = sorted(p.name for p in (folder / "derived_data" / "all").iterdir())
    step = [sys.executable, "-m", "example", "tune", "--sweep", grid_only, "--name", "grid-only"]
    step += ["--sampler", "grid"]
    result = subprocess.run(
        [*step, "--n-trials", "18"], cwd=folder, env=environment(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "18 answered from the store" in result.stdout
    assert sorted(p.name for p in (folder / "derived_data" / "all").iterdir()) == before
    shown = subprocess.run(
        [sys.executable, "-m", "phyper", "study", "show", "grid-only", "--format", "csv"],
        cwd=folder, capture_output=True, text=True,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("from_store") == 18


def _phyper(folder: pathlib.Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "phyper", *argv],
        cwd=folder, env=environment(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _trial_hashes(folder: pathlib.Path, study: str) -> set[str]:
    journal = folder / "derived_data" / "studies" / study / "journal.jsonl"
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    return {e["hash"] for e in events if e["event"] in ("start", "from_store")}


def test_gc_keeps_every_trial_of_every_study(workspace):
    """After the grid and the three searches, nothing is garbage: the studies' trials (their
    checkpoints and curves) are kept, each with the study and trial that refer to it."""
    folder, _, _ = workspace
    dry = _phyper(folder, "gc", "example/config.py", "-v")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "no orphans" in dry.stdout
    kept = {line.split()[1]: line for line in dry.stdout.splitlines() if line.startswith("kept")}
    names = ("iris-tpe", "iris-random", "iris-grid")
    trials = {name: _trial_hashes(folder, name) for name in names}
    for name in names:
        others = set().union(*(trials[n] for n in names if n != name)) | _grid_hashes(folder)
        assert trials[name] - others, name  # each search tried configurations of its own
        for trial_hash in trials[name] - others:
            line = kept[f"all/{trial_hash}"]
            assert f"of study '{name}'" in line, line
    listed = json.loads(_phyper(folder, "gc", "example/config.py", "--format", "json").stdout)
    assert [row for row in listed if row["action"] == "delete"] == []


def _grid_hashes(folder: pathlib.Path, sweep: str = "config/default.yaml") -> set[str]:
    _, instances = load(folder / sweep)
    return {i.get_instance_hash() for i in instances}


def test_gc_after_a_grid_value_and_a_study_are_removed_lists_exactly_their_folders(
    workspace, tmp_path
):
    source, _, _ = workspace
    folder = tmp_path / "copy"
    shutil.copytree(source, folder, symlinks=True)
    smaller = write_sweep(
        folder, "smaller", fixed={"n_epochs": 2}, grid={"transformation": ["identity", "log"]}
    )
    (folder / "smaller_config.py").write_text(
        f"from example.config import load\nparser, instances = load({smaller!r})\n"
    )
    shutil.rmtree(folder / "derived_data" / "studies" / "iris-random")
    studies = sorted(p.name for p in (folder / "derived_data" / "studies").iterdir())
    assert "iris-tpe" in studies and "iris-random" not in studies
    # what must stay: the smaller grid, every remaining study's trials, and their resources,
    # each instance rebuilt from its folder's metadata by the parser
    parser, instances = load(folder / smaller)
    needed = {("all", i.get_instance_hash()) for i in instances}
    for name in parser.get_resource_names():
        needed |= {(name, i.get_instance_hash(name)) for i in instances}
    root = folder / "derived_data"
    disk_parser = make_parser(str(root))
    for study in studies:
        for trial_hash in _trial_hashes(folder, study):
            needed.add(("all", trial_hash))
            trial = disk_parser.load_instance_from_disk_by_hash(trial_hash)
            needed |= {(n, trial.get_instance_hash(n)) for n in parser.get_resource_names()}
    on_disk = {
        (resource.name, entry.name)
        for resource in root.iterdir()
        if resource.name != "studies"
        for entry in resource.iterdir()
    }
    expected = on_disk - needed
    # the removed value's folders and the deleted study's own trials are among them
    # (a grid folder a remaining study answered a trial from is a trial of it: kept)
    removed = _grid_hashes(folder) - _grid_hashes(folder, smaller) - {h for _, h in needed}
    random_only = _trial_hashes(source, "iris-random") - {h for _, h in needed}
    assert removed and random_only
    assert {("all", h) for h in removed | random_only} <= expected
    # (the searches tried every transformation: their trials keep the removed value's
    # transformed data; which other resource folders stay depends on what they tried)

    listed = _phyper(folder, "gc", "smaller_config.py", "--format", "json")
    assert listed.returncode == 1, listed.stderr
    rows = json.loads(listed.stdout)
    assert {(r["resource"], r["hash"]) for r in rows if r["action"] == "delete"} == expected
    dry = _phyper(folder, "gc", "smaller_config.py")
    assert f"{len(expected)} orphan folders" in dry.stdout
    deleted = _phyper(folder, "gc", "smaller_config.py", "--delete")
    assert deleted.returncode == 0, deleted.stderr
    left = {(r.name, e.name) for r in root.iterdir() if r.name != "studies" for e in r.iterdir()}
    assert left == on_disk - expected
    for study in studies:  # every trial a study shows still has its folder
        shown = json.loads(_phyper(folder, "study", "show", study, "--format", "json").stdout)
        assert all((root / "all" / row["hash"]).is_dir() for row in shown)
    assert _phyper(folder, "gc", "smaller_config.py").returncode == 0
