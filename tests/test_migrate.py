"""Coming from the original phyper: its SHA-256 folders placed under phyper's hashes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import textwrap

import pandas as pd
import pytest

import phyper
from phyper import _migrate
from tests.test_cli import phyper as run_phyper


class Model(phyper.Parser):
    seed = 0
    transformation = "identity"
    rate: float = 0.1
    n_epochs = phyper.non_key(10)


def make_parser(root: pathlib.Path | str) -> Model:
    parser = Model(hashed_resources_folder=str(root))
    parser.register_new_resource("transformed_data", ["transformation"])
    return parser


# (resource, values as the original wrote them, result file); values are valid for Model
FIT = [
    ("all", {"seed": 0, "transformation": "identity", "rate": 0.1}),
    ("all", {"seed": 1, "transformation": "log", "rate": 1}),  # an int for a float: coerced
    ("transformed_data", {"transformation": "log"}),
]


def old_hash(resource: str, values: object) -> str:
    # how the original named a folder does not matter here: only that it is 64 hex characters
    return hashlib.sha256(json.dumps([resource, values], sort_keys=True).encode()).hexdigest()


def write_old(
    root: pathlib.Path, resource: str, info: object | None, raw: str = ""
) -> pathlib.Path:
    folder = root / resource / old_hash(resource, info if raw == "" else raw)
    folder.mkdir(parents=True)
    if raw:
        (folder / "instance_info.json").write_text(raw)
    elif info is not None:
        (folder / "instance_info.json").write_text(json.dumps(info))
    (folder / "metrics.csv").write_text(f"loss\n{len(str(info))}\n")
    return folder


@pytest.fixture
def old_root(tmp_path: pathlib.Path) -> pathlib.Path:
    root = tmp_path / "old"
    for resource, values in FIT:
        write_old(root, resource, values)
    return root


@pytest.fixture
def troubled_root(old_root: pathlib.Path) -> dict[str, pathlib.Path]:
    """The fit folders plus one of each kind of trouble, by name."""
    return {
        "unknown": write_old(old_root, "all", {"seed": 2, "sede": 3}),
        "wrong type": write_old(old_root, "all", {"seed": "two"}),
        "not a dependency": write_old(old_root, "transformed_data", {"seed": 1}),
        "unregistered": write_old(old_root, "other_resource", {"seed": 1}),
        "missing": write_old(old_root, "all", None),
        "corrupt": write_old(old_root, "all", None, raw="{not json"),
        "a list": write_old(old_root, "all", None, raw="[1, 2]"),
    }


def expected_hash(parser: Model, resource: str, values: dict[str, object]) -> str:
    return parser.replace(**values).get_instance_hash(None if resource == "all" else resource)


def snapshot(root: pathlib.Path) -> dict[str, object]:
    """Every path under ``root`` with its content (files) or link target, never following."""
    found: dict[str, object] = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = pathlib.Path(folder, name)
            relative = str(path.relative_to(root))
            if path.is_symlink():
                found[relative] = ("link", os.readlink(path))
            elif path.is_file():
                found[relative] = (path.read_bytes(), path.stat().st_mtime_ns)
            else:
                found[relative] = "folder"
    return found


def test_dry_run_plans_and_changes_nothing(tmp_path, old_root):
    parser = make_parser(tmp_path / "new")
    before = snapshot(tmp_path)
    frame = phyper.migrate_from_original(old_root, parser)
    assert snapshot(tmp_path) == before
    assert list(frame.columns) == [
        "resource", "old_hash", "new_hash", "old_path", "new_path", "status", "problem",
    ]  # fmt: skip
    assert frame.status.tolist() == ["planned"] * 3
    assert (frame.problem == "").all()
    planned = {(row.resource, row.old_hash): row.new_hash for row in frame.itertuples()}
    for resource, values in FIT:
        assert planned[resource, old_hash(resource, values)] == expected_hash(
            parser, resource, values
        )
    for row in frame.itertuples():
        assert row.new_path == os.path.join(
            parser.hashed_resources_folder, row.resource, row.new_hash
        )


@pytest.mark.parametrize("mode", ["copy", "move", "link"])
def test_apply_places_every_folder_under_its_new_hash(tmp_path, old_root, mode):
    parser = make_parser(tmp_path / "new")
    contents = {
        (resource, old_hash(resource, values)): (
            old_root / resource / old_hash(resource, values) / "metrics.csv"
        ).read_text()
        for resource, values in FIT
    }
    frame = phyper.migrate_from_original(old_root, parser, mode=mode, dry_run=False)
    assert frame.status.tolist() == ["done"] * 3, frame.problem.tolist()
    for row in frame.itertuples():
        new = pathlib.Path(row.new_path)
        assert (new / "metrics.csv").read_text() == contents[row.resource, row.old_hash]
        assert (new / "instance_info.json").exists()  # carried over, harmless
        assert not (new / "metrics.csv").is_symlink()
        old = pathlib.Path(row.old_path)
        if mode == "move":
            assert not old.exists()
        else:
            assert (old / "metrics.csv").read_text() == contents[row.resource, row.old_hash]
            assert not (old / "phyper.json").exists()
            same_file = (new / "metrics.csv").stat().st_ino == (old / "metrics.csv").stat().st_ino
            assert same_file == (mode == "link")
    scanned = phyper.scan(tmp_path / "new")
    assert len(scanned) == 3 and (scanned.status == "ok").all(), scanned.problem.tolist()
    for resource, values in FIT:
        name = None if resource == "all" else resource
        loaded = parser.load_instance_from_disk_by_hash(
            expected_hash(parser, resource, values), name
        )
        assert all(getattr(loaded, key) == value for key, value in values.items())
    # nothing half-done is left: no hidden staging folders
    assert not [p for p in (tmp_path / "new").rglob(".phyper-migrate-*")]


@pytest.mark.parametrize("mode", ["copy", "move", "link"])
def test_running_again_changes_nothing(tmp_path, old_root, mode):
    parser = make_parser(tmp_path / "new")
    phyper.migrate_from_original(old_root, parser, mode=mode, dry_run=False)
    before = snapshot(tmp_path)
    again = phyper.migrate_from_original(old_root, parser, mode=mode, dry_run=False)
    assert snapshot(tmp_path) == before
    if mode == "move":
        assert len(again) == 0  # the old folders are gone: nothing left to do
    else:
        assert again.status.tolist() == ["exists"] * 3
        assert (again.problem == "").all()


def test_unfit_and_unreadable_folders_are_listed_and_left_in_place(tmp_path, troubled_root):
    parser = make_parser(tmp_path / "new")
    old_root = tmp_path / "old"
    frame = phyper.migrate_from_original(old_root, parser, mode="move", dry_run=False)
    by_path = {row.old_path: row for row in frame.itertuples()}
    assert len(frame) == 3 + len(troubled_root)
    expected = {
        "unknown": ("unfit", "'sede' is not a hyperparameter of Model; did you mean 'seed'?"),
        "wrong type": ("unfit", "hyperparameter 'seed' expects an int, got str 'two'"),
        "not a dependency": ("unfit", "'seed' is not a dependency of resource 'transformed_data'"),
        "unregistered": ("unfit", "resource 'other_resource' is not registered"),
        "missing": ("no info", "no instance_info.json"),
        "corrupt": ("no info", "instance_info.json is unreadable or not JSON"),
        "a list": ("no info", "holds a JSON list, expected an object"),
    }
    for kind, folder in troubled_root.items():
        row = by_path[str(folder)]
        status, problem = expected[kind]
        assert row.status == status, kind
        assert problem in row.problem, (kind, row.problem)
        assert row.new_hash == "" and row.new_path == ""
        assert (folder / "metrics.csv").exists(), kind  # left in place, even by a move
    assert sorted(frame[frame.problem == ""].status) == ["done"] * 3


def test_symbolic_links_in_the_old_root_are_not_followed(tmp_path, old_root):
    elsewhere = write_old(tmp_path / "elsewhere", "all", {"seed": 7})
    link = old_root / "all" / ("f" * 64)
    os.symlink(elsewhere, link)
    frame = phyper.migrate_from_original(
        old_root, make_parser(tmp_path / "new"), mode="move", dry_run=False
    )
    row = frame[frame.old_hash == "f" * 64].iloc[0]
    assert row.status == "unfit" and "not followed" in row.problem
    assert (elsewhere / "metrics.csv").exists() and link.is_symlink()


def test_a_new_folder_with_content_is_never_overwritten(tmp_path, old_root):
    parser = make_parser(tmp_path / "new")
    taken = parser.replace(**FIT[0][1])
    occupied = pathlib.Path(taken.get_resources_path())
    occupied.mkdir(parents=True)
    (occupied / "metrics.csv").write_text("newer\n")
    # a folder with only phyper's metadata (written before results existed) is filled
    waiting = parser.replace(**FIT[1][1])
    Model.generate_instance_info_files([waiting], resource_names=[None])
    frame = phyper.migrate_from_original(old_root, parser, dry_run=False)
    status = dict(zip(frame.new_hash, frame.status, strict=True))
    assert status[taken.get_instance_hash()] == "exists"
    assert status[waiting.get_instance_hash()] == "done"
    assert (occupied / "metrics.csv").read_text() == "newer\n"
    assert not (occupied / "phyper.json").exists()
    assert (pathlib.Path(waiting.get_resources_path()) / "metrics.csv").exists()


def test_two_old_folders_with_one_new_hash_place_only_the_first(tmp_path, old_root):
    # the original may have hashed a value phyper does not (here a non-key one)
    twin = write_old(old_root, "all", {**FIT[0][1], "n_epochs": 99})
    frame = phyper.migrate_from_original(old_root, make_parser(tmp_path / "new"))
    rows = frame[frame.new_hash == frame[frame.old_path == str(twin)].new_hash.iloc[0]]
    assert len(rows) == 2
    assert sorted(rows.status) == ["exists", "planned"]
    assert "goes to the same new folder" in rows[rows.status == "exists"].problem.iloc[0]


def test_to_root_and_in_config(tmp_path, old_root):
    parser = make_parser(tmp_path / "new")
    instances = parser.get_instances_from_dictionary({"seed": [0], "rate": [0.1]})
    frame = phyper.migrate_from_original(
        old_root, parser, instances, to_root=tmp_path / "elsewhere", dry_run=False
    )
    assert frame.status.tolist() == ["done"] * 3
    assert all(path.startswith(str(tmp_path / "elsewhere")) for path in frame.new_path)
    assert not (tmp_path / "new").exists()
    in_config = dict(zip(frame.new_hash, frame.in_config, strict=True))
    assert in_config[expected_hash(parser, *FIT[0])] is True
    assert in_config[expected_hash(parser, *FIT[1])] is False  # seed 1 is not configured
    assert "in_config" not in phyper.migrate_from_original(old_root, parser).columns


@pytest.mark.parametrize("mode", ["copy", "move"])
def test_a_failure_mid_way_leaves_no_folder_under_the_new_hash(
    tmp_path, old_root, monkeypatch, mode
):
    def fail(*arguments: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_migrate, "_write_metadata", fail)
    parser = make_parser(tmp_path / "new")
    before = snapshot(old_root)
    frame = phyper.migrate_from_original(old_root, parser, mode=mode, dry_run=False)
    assert frame.status.tolist() == ["planned"] * 3
    assert all("No space left on device" in problem for problem in frame.problem)
    assert snapshot(old_root) == before  # a move gives the old folder back
    # only the resource folders were created: no hash folder, no staging folder, no file
    made = {str(p.relative_to(tmp_path / "new")) for p in (tmp_path / "new").rglob("*")}
    assert made == {"all", "transformed_data"}


def test_bad_arguments_raise(tmp_path, old_root):
    parser = make_parser(tmp_path / "new")
    with pytest.raises(ValueError, match="mode 'symlink' is not one of"):
        phyper.migrate_from_original(old_root, parser, mode="symlink")  # type: ignore[arg-type]
    with pytest.raises(phyper.PhyperError, match="nowhere' is not a folder"):
        phyper.migrate_from_original(tmp_path / "nowhere", parser)


def test_an_original_hash_names_the_migrate_command(tmp_path):
    parser = make_parser(tmp_path / "new")
    with pytest.raises(phyper.HashNotFoundError, match="phyper migrate --from-original"):
        parser.load_instance_from_disk_by_hash(hashlib.sha256(b"x").hexdigest())
    with pytest.raises(phyper.HashNotFoundError, match="expected 32 lowercase hex"):
        parser.load_instance_from_disk_by_hash("abc")


# --------------------------------------------------------------------------- the command

CONFIG = """
import phyper

class Model(phyper.Parser):
    seed = 0
    transformation = "identity"
    rate: float = 0.1
    n_epochs = phyper.non_key(10)

parser = Model(hashed_resources_folder="results")
parser.register_new_resource("transformed_data", ["transformation"])
instances = parser.get_instances_from_dictionary({"seed": [0, 1], "rate": [0.1, 1.0]})
"""


def test_command_dry_run_then_apply(tmp_path, old_root):
    (tmp_path / "config.py").write_text(textwrap.dedent(CONFIG))
    migrate = ("migrate", "--from-original", "old", "--config", "config.py")
    before = snapshot(old_root)
    dry = run_phyper(*migrate, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: pass --apply to carry it out" in dry.stdout
    assert "3 planned" in dry.stdout
    for resource, values in FIT:
        assert old_hash(resource, values) in dry.stdout
    assert snapshot(old_root) == before
    assert not (tmp_path / "results").exists()
    applied = run_phyper(*migrate, "--link", "--apply", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "3 done" in applied.stdout and "dry run" not in applied.stdout
    listed = run_phyper("ls", "--root", "results", "--format", "csv", cwd=tmp_path)
    frame = pd.read_csv(io.StringIO(listed.stdout))
    assert len(frame) == 3 and (frame.status == "ok").all()
    again = run_phyper(*migrate, "--apply", "--format", "csv", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert pd.read_csv(io.StringIO(again.stdout)).status.tolist() == ["exists"] * 3


def test_command_exits_with_one_on_unfit_folders_and_two_on_usage_errors(tmp_path, troubled_root):
    (tmp_path / "config.py").write_text(textwrap.dedent(CONFIG))
    migrate = ("migrate", "--from-original", "old", "--config", "config.py")
    result = run_phyper(*migrate, "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 3 + len(troubled_root)
    assert f"{len(troubled_root)} folders need attention" in result.stderr
    assert str(troubled_root["unknown"].relative_to(tmp_path)) in result.stderr
    table = run_phyper(*migrate, cwd=tmp_path)
    assert table.returncode == 1 and "not a hyperparameter of Model" in table.stdout
    missing = run_phyper(
        "migrate", "--from-original", "nowhere", "--config", "config.py", cwd=tmp_path
    )
    assert missing.returncode == 2 and "'nowhere' is not a folder" in missing.stderr
    both = run_phyper(*migrate, "--copy", "--move", cwd=tmp_path)
    assert both.returncode == 2 and "not allowed with" in both.stderr


def test_across_filesystems_move_copies_then_removes_and_link_copies(
    tmp_path, old_root, monkeypatch
):
    real_rename = os.rename

    def rename(source, target):
        if str(source).startswith(str(old_root)):  # the old folder is "on another disk"
            raise OSError(18, "Invalid cross-device link")
        return real_rename(source, target)

    def link(source, target, **keywords):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "rename", rename)
    moved = phyper.migrate_from_original(
        old_root, make_parser(tmp_path / "moved"), mode="move", dry_run=False
    )
    assert moved.status.tolist() == ["done"] * 3, moved.problem.tolist()
    assert not any(os.path.exists(path) for path in moved.old_path)
    assert all((pathlib.Path(path) / "metrics.csv").exists() for path in moved.new_path)
    monkeypatch.setattr(os, "rename", real_rename)
    for resource, values in FIT:
        write_old(old_root, resource, values)
    monkeypatch.setattr(os, "link", link)
    linked = phyper.migrate_from_original(
        old_root, make_parser(tmp_path / "linked"), mode="link", dry_run=False
    )
    assert linked.status.tolist() == ["done"] * 3, linked.problem.tolist()
    for row in linked.itertuples():
        new, old = (
            pathlib.Path(row.new_path, "metrics.csv"),
            pathlib.Path(row.old_path, "metrics.csv"),
        )
        assert new.read_text() == old.read_text() and new.stat().st_ino != old.stat().st_ino


def test_migrating_in_place_leaves_only_phyper_folders(tmp_path, old_root):
    parser = make_parser(old_root)  # the old root is the new one too
    frame = phyper.migrate_from_original(old_root, parser, mode="move", dry_run=False)
    assert frame.status.tolist() == ["done"] * 3
    scanned = phyper.scan(old_root)
    assert sorted(scanned.hash) == sorted(frame.new_hash)
    assert (scanned.status == "ok").all()
    names = {p.name for p in old_root.glob("*/*")}
    assert names == set(frame.new_hash)  # no 64-hex folder, no staging folder
    assert len(phyper.migrate_from_original(old_root, parser, mode="move", dry_run=False)) == 0
