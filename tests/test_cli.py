"""The `phyper` command, run as a real subprocess on folder trees made here."""

from __future__ import annotations

import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

CONFIG = """
import phyper

class Instance(phyper.Parser):
    seed = 0
    transformation = "identity"
    n_epochs = phyper.non_key(10)

parser = Instance(hashed_resources_folder={root!r})
parser.register_new_resource("transformed_data", ["transformation"])
instances = parser.get_instances_from_dictionary(
    {{"transformation": {transformations!r}, "seed": [0, 1]}}
)
"""


def phyper(*arguments: str, cwd: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phyper", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_config(folder: pathlib.Path, name: str, transformations: list[str]) -> pathlib.Path:
    path = folder / name
    path.write_text(textwrap.dedent(CONFIG.format(root="results", transformations=transformations)))
    return path


def load(config: pathlib.Path, cwd: pathlib.Path):
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        from phyper.cli import load_config

        return load_config(str(config))
    finally:
        os.chdir(previous)


@pytest.fixture
def tree(tmp_path):
    """A results root written by a configuration: 4 instances, 2 transformed_data folders,
    each instance folder with a result file; plus an older configuration's folders."""
    old = write_config(tmp_path, "old_config.py", ["identity", "log", "square"])
    parser, instances = load(old, tmp_path)
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        parser.generate_instance_info_files(instances)
        for position, instance in enumerate(instances):
            with open(os.path.join(instance.get_resources_path(), "score.json"), "w") as stream:
                json.dump({"loss": position}, stream)
            transformed = instance.get_resources_path("transformed_data")
            pathlib.Path(transformed, "data.csv").write_text("x\n1\n")
    finally:
        os.chdir(previous)
    config = write_config(tmp_path, "config.py", ["identity", "log"])
    return tmp_path, config


def hashes(tree_root: pathlib.Path, resource: str = "all") -> list[str]:
    return sorted(p.name for p in (tree_root / "results" / resource).iterdir())


def test_console_script_is_installed():
    script = pathlib.Path(sys.executable).parent / "phyper"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("describe", "ls", "collect", "status", "gc", "verify"):
        assert command in result.stdout


def test_describe_by_full_hash_and_by_prefix(tree):
    folder, _ = tree
    target = hashes(folder, "transformed_data")[0]
    for given in (target, target[:6]):
        result = phyper("describe", given, "--root", "results", cwd=folder)
        assert result.returncode == 0, result.stderr
        assert "resource:  transformed_data" in result.stdout
        assert f"hash:      {target}" in result.stdout
        assert "transformation" in result.stdout


def test_describe_rejects_short_unknown_and_ambiguous_prefixes(tree):
    folder, _ = tree
    target = hashes(folder)[0]
    short = phyper("describe", target[:5], "--root", "results", cwd=folder)
    assert short.returncode == 2 and "at least 6 hexadecimal characters" in short.stderr
    unknown = phyper("describe", "ffffff0000", "--root", "results", cwd=folder)
    assert unknown.returncode == 2 and "'ffffff0000'" in unknown.stderr
    twin = folder / "results" / "transformed_data" / (target[:8] + "0" * 24)
    twin.mkdir()
    ambiguous = phyper("describe", target[:8], "--root", "results", cwd=folder)
    assert ambiguous.returncode == 2
    assert "ambiguous" in ambiguous.stderr
    assert target in ambiguous.stderr and twin.name in ambiguous.stderr


def test_ls_in_every_format(tree):
    folder, _ = tree
    table = phyper("ls", "--root", "results", cwd=folder)
    assert table.returncode == 0 and "transformation" in table.stdout
    csv = phyper("ls", "--root", "results", "--format", "csv", cwd=folder)
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert len(frame) == 6 + 3
    assert set(frame.resource) == {"all", "transformed_data"}
    as_json = json.loads(phyper("ls", "--root", "results", "--format", "json", cwd=folder).stdout)
    assert len(as_json) == 9
    only = pd.read_csv(
        io.StringIO(
            phyper(
                "ls",
                "--root",
                "results",
                "--resource",
                "transformed_data",
                "--format",
                "csv",
                cwd=folder,
            ).stdout
        )
    )
    assert sorted(only.transformation) == ["identity", "log", "square"]


def test_ls_shows_corrupt_foreign_and_half_written_folders(tree):
    folder, _ = tree
    first, second, third = hashes(folder)[:3]
    (folder / "results" / "all" / first / "phyper.json").write_text("{not json")
    (folder / "results" / "all" / second / "phyper.json").write_text('{"format": "other"}')
    (folder / "results" / "all" / third / "phyper.json").unlink()
    (folder / "results" / "all" / third / ".phyper.json.1234.tmp").write_text('{"form')
    frame = pd.read_csv(
        io.StringIO(phyper("ls", "--root", "results", "--format", "csv", cwd=folder).stdout)
    )
    status = dict(zip(frame.hash, frame.status, strict=True))
    assert status[first] == "corrupt" and status[second] == "corrupt"
    assert status[third] == "no metadata"
    problems = dict(zip(frame.hash, frame.problem, strict=True))
    assert "not a phyper metadata file" in problems[second]


def test_collect_writes_a_table_and_reports_missing_files(tree):
    folder, _ = tree
    result = phyper(
        "collect", "--root", "results", "--resource", "all", "--file", "score.json",
        "-o", "scores.csv", cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(folder / "scores.csv")
    assert len(frame) == 6
    assert sorted(frame.loss) == list(range(6))
    assert {"hash", "seed", "transformation"} <= set(frame.columns)
    victim = hashes(folder)[0]
    (folder / "results" / "all" / victim / "score.json").unlink()
    again = phyper(
        "collect", "--root", "results", "--resource", "all", "--file", "score.json", cwd=folder
    )
    assert again.returncode == 1
    assert "1 folders lack 'score.json'" in again.stderr and victim in again.stderr


def test_collect_in_worker_processes_writes_the_same_table(tree):
    folder, _ = tree
    tables = []
    for workers in ("1", "2", "auto"):
        output = f"scores-{workers}.csv"
        result = phyper(
            "collect", "--root", "results", "--resource", "all", "--file", "score.json",
            "--workers", workers, "-o", output, cwd=folder,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        tables.append((folder / output).read_bytes())
    assert tables[0] == tables[1] == tables[2] and tables[0].count(b"\n") == 7
    refused = phyper(
        "collect", "--root", "results", "--resource", "all", "--file", "score.json",
        "--workers", "0", cwd=folder,
    )  # fmt: skip
    assert refused.returncode == 2 and "'0': expected 'auto' or a number" in refused.stderr


def test_status_counts_complete_and_missing_folders(tree):
    folder, config = tree
    done = phyper("status", str(config), "--file", "score.json", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4/4 folders complete (100%)" in done.stdout
    _, instances = load(config, folder)
    victim = instances[1].get_instance_hash()
    (folder / "results" / "all" / victim / "score.json").unlink()
    result = phyper("status", str(config), "--file", "score.json", "-v", cwd=folder)
    assert result.returncode == 1
    assert "3/4 folders complete" in result.stdout
    assert victim in result.stdout
    bad = phyper("status", str(config), "--file", "nothing:x.csv", cwd=folder)
    assert bad.returncode == 2 and "'nothing'" in bad.stderr


def test_gc_lists_orphans_and_deletes_only_them(tree, tmp_path_factory):
    folder, config = tree
    _, instances = load(config, folder)
    kept = {("all", i.get_instance_hash()) for i in instances} | {
        ("transformed_data", i.get_instance_hash("transformed_data")) for i in instances
    }
    outside = tmp_path_factory.mktemp("outside")
    (outside / "precious.txt").write_text("keep me")
    link = folder / "results" / "all" / ("e" * 32)
    os.symlink(outside, link)
    dry = phyper("gc", str(config), cwd=folder)
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert "4 orphan folders" in dry.stdout and "dry run" in dry.stdout
    assert len(hashes(folder)) == 7  # nothing deleted
    deleted = phyper("gc", str(config), "--delete", cwd=folder)
    assert deleted.returncode == 0, deleted.stderr
    remaining = {(r, h) for r in ("all", "transformed_data") for h in hashes(folder, r)}
    assert remaining == kept
    assert (outside / "precious.txt").read_text() == "keep me"
    assert phyper("gc", str(config), cwd=folder).returncode == 0


def test_gc_removes_stale_temporary_files_of_killed_writers(tree):
    folder, config = tree
    _, instances = load(config, folder)
    kept = folder / "results" / "all" / instances[0].get_instance_hash()
    stale = kept / ".phyper.json.0a1b2c3d4e5f.tmp"
    stale_run = kept / ".run.json.0a1b2c3d4e5f.tmp"  # tune.Run's state, killed mid-write
    stale_table = kept / ".scores.csv.0a1b2c3d4e5f.tmp.csv"  # phyper.atomic_output's
    fresh = kept / ".phyper.json.ffffffffffff.tmp"  # a writer may still be renaming it
    users = kept / ".notes.txt"  # not named like a temporary: never touched
    for path in (stale, stale_run, stale_table, fresh, users):
        path.write_text('{"form')
    hour_ago = time.time() - 3600
    for path in (stale, stale_run, stale_table, users):
        os.utime(path, (hour_ago, hour_ago))
    dry = phyper("gc", str(config), cwd=folder)
    assert dry.returncode == 1
    assert f"{stale.relative_to(folder)} (left by a writer that was killed)" in dry.stdout
    assert "3 stale temporary files" in dry.stdout and fresh.name not in dry.stdout
    assert stale.exists()
    deleted = phyper("gc", str(config), "--delete", cwd=folder)
    assert deleted.returncode == 0, deleted.stderr
    assert not stale.exists() and not stale_run.exists() and not stale_table.exists()
    assert fresh.exists() and users.exists()
    assert (kept / "phyper.json").exists() and (kept / "score.json").exists()


def test_verify_finds_renamed_and_edited_folders(tree):
    folder, _ = tree
    clean = phyper("verify", "--root", "results", cwd=folder)
    assert clean.returncode == 0 and "verified 9 of 9" in clean.stdout
    first, second = hashes(folder)[:2]
    shutil.move(folder / "results" / "all" / first, folder / "results" / "all" / ("a" * 32))
    info = folder / "results" / "all" / second / "phyper.json"
    document = json.loads(info.read_text())
    document["hyperparameters"]["seed"] = 41
    info.write_text(json.dumps(document))
    result = phyper("verify", "--root", "results", cwd=folder)
    assert result.returncode == 1
    assert f"{'a' * 32}: phyper.json describes hash {first!r}" in result.stdout
    assert f"{second}: phyper.json holds hyperparameters that hash to" in result.stdout


def test_usage_errors_exit_with_two(tree):
    folder, _ = tree
    missing = phyper("status", "nope.py", cwd=folder)
    assert missing.returncode == 2 and "'nope.py' does not exist" in missing.stderr
    assert phyper("ls", "--format", "xml", cwd=folder).returncode == 2
    no_root = phyper("ls", "--root", "elsewhere", cwd=folder)
    assert no_root.returncode == 2 and "'elsewhere' is not a folder" in no_root.stderr
    empty = folder / "empty.py"
    empty.write_text("x = 1\n")
    no_instances = phyper("status", str(empty), cwd=folder)
    assert no_instances.returncode == 2 and "defines no instances" in no_instances.stderr


def test_load_config_leaves_sys_path_and_cwd_as_they_were(tmp_path):
    config = write_config(tmp_path, "config.py", ["identity"])
    path_before, cwd_before = list(sys.path), os.getcwd()
    _, instances = load(config, tmp_path)
    assert len(instances) == 2
    assert sys.path == path_before
    assert os.getcwd() == cwd_before
