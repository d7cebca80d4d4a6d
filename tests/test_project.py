"""Where the store is: ``--root``, ``--config``, or ``[tool.phyper]`` in the nearest
pyproject.toml; a missing store says where it looked and exits with 2."""

from __future__ import annotations

import os
import textwrap

import pytest

from phyper import tune
from phyper._project import ProjectError, find_project
from phyper.cli import main

CONFIG = """
import phyper

class Instance(phyper.Parser):
    seed = 0

parser = Instance(hashed_resources_folder="store")
instances = parser.get_instances_from_dictionary({"seed": [0, 1, 2]})
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project: pyproject.toml naming pipeline/config.py, whose parser's root is the
    relative 'store' (so: <project>/store, wherever the command is typed); one finished run,
    and a subfolder to type commands in."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "mine"\n\n[tool.phyper]\nconfig = "pipeline/config.py"\n'
    )
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "config.py").write_text(CONFIG)
    (tmp_path / "notebooks" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(CONFIG, namespace)
    instances = namespace["instances"]
    assert isinstance(instances, list)
    with tune.Run(instances[1], stop=tune.max_epochs(2)) as run:
        for epoch in run.epochs():
            run.report(loss=1.0 / epoch)
    return tmp_path, instances[1].get_instance_hash()


def test_commands_find_the_store_from_pyproject_anywhere_in_the_project(project, capsys):
    folder, run_hash = project
    os.chdir(folder / "notebooks" / "deep")
    assert main(["runs", "--format", "csv"]) == 0
    assert run_hash in capsys.readouterr().out
    assert main(["describe", run_hash[:8]]) == 0
    assert f"hash:      {run_hash}" in capsys.readouterr().out
    # status runs the configuration in the project: its relative root is the project's, so
    # the run's folder counts (from the subfolder, a root taken as is would count none)
    assert main(["status"]) == 1
    assert "1/3 folders complete" in capsys.readouterr().out


def test_a_missing_root_says_where_it_looked_and_exits_with_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for command in (["study", "ls"], ["runs"], ["ls"], ["verify"], ["describe", "abcdef"]):
        assert main(command) == 2, command
        error = capsys.readouterr().err
        assert "'derived_data' is not a folder" in error, error
        assert f"no [tool.phyper] in a pyproject.toml from {tmp_path}" in error
        assert "--root DIR or --config FILE" in error


def test_an_empty_store_says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(["study", "ls", "--root", "empty"]) == 0
    assert capsys.readouterr().out == "(no studies under 'empty' (given by --root))\n"
    assert main(["runs", "--root", "empty"]) == 0
    assert "(no runs under 'empty' (given by --root))" in capsys.readouterr().out


def test_root_option_and_config_option_win_over_the_project(project, capsys, tmp_path_factory):
    _, run_hash = project
    other = tmp_path_factory.mktemp("other")
    assert main(["runs", "--root", str(other), "--format", "csv"]) == 0
    assert run_hash not in capsys.readouterr().out
    config = other / "config.py"
    config.write_text(CONFIG.replace('"store"', repr(str(other))))
    assert main(["runs", "--config", str(config), "--format", "csv"]) == 0
    assert run_hash not in capsys.readouterr().out


def test_project_root_setting_needs_no_code_and_config_commands_need_a_config(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "pyproject.toml").write_text('[tool.phyper]\nroot = "results"\n')
    (tmp_path / "results").mkdir()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert main(["runs"]) == 0
    assert "set by [tool.phyper] root in" in capsys.readouterr().out
    assert main(["status"]) == 2
    assert "needs a configuration file" in capsys.readouterr().err


def test_the_nearest_pyproject_with_a_phyper_table_wins(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.phyper]\nroot = "outer"\n')
    inner = tmp_path / "inner"
    (inner / "src").mkdir(parents=True)
    (inner / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    found = find_project(str(inner / "src"))
    assert found is not None and found.root == str(tmp_path / "outer")
    (inner / "pyproject.toml").write_text('[tool.phyper]\nconfig = "c.py"\n')
    found = find_project(str(inner / "src"))
    assert found is not None
    assert (found.config, found.root) == (str(inner / "c.py"), None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tool.phyper]\nroots = "x"\n', "unknown settings ['roots']"),
        ("[tool.phyper]\nroot = 3\n", "root in"),
        ("[tool.phyper\n", "is not valid TOML"),
    ],
)
def test_a_bad_phyper_table_is_named(tmp_path, monkeypatch, capsys, text, message):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(text))
    with pytest.raises(ProjectError, match=message.replace("[", r"\[").replace("]", r"\]")):
        find_project(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["runs"]) == 2
    assert str(tmp_path / "pyproject.toml") in capsys.readouterr().err
