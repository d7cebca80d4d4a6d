"""Where the store is, for the ``phyper`` command: ``--root``, a configuration file, or the
project's default in ``[tool.phyper]`` of the nearest ``pyproject.toml`` upwards.

    [tool.phyper]
    config = "example/config.py"   # a Python file defining `parser` and `instances`
    root = "derived_data"          # or only the results root (no code is run)

Paths in ``[tool.phyper]`` are relative to the ``pyproject.toml`` that holds them; a
configuration found there is run in that folder, so the parser's relative root means the same
wherever in the project the command is typed. Which one wins, first to last: ``--root``,
``--config`` (or the CONFIG argument of ``status`` and ``gc``), ``[tool.phyper] root``,
``[tool.phyper] config``, then ``derived_data`` in the current folder.

>>> import os, tempfile
>>> project = tempfile.mkdtemp()
>>> with open(os.path.join(project, "pyproject.toml"), "w") as stream:
...     _ = stream.write('[tool.phyper]\\nroot = "derived_data"\\n')
>>> settings = find_project(os.path.join(project))
>>> os.path.relpath(settings.root, project), settings.config
('derived_data', None)
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import typing
from dataclasses import dataclass

from ._context import is_instance
from ._errors import PhyperError

if typing.TYPE_CHECKING:
    from ._parser import Parser

PROJECT_FILE = "pyproject.toml"
DEFAULT_ROOT = "derived_data"
SETTINGS = ("config", "root")
# what a command needs from the store: its root folder (which must exist), or the instances
# of a configuration (status, gc, migrate)
ROOT, INSTANCES = "root", "instances"
HINT = (
    "pass --root DIR or --config FILE, or set root or config under [tool.phyper] in your "
    "project's pyproject.toml"
)


class ProjectError(PhyperError, ValueError):
    """A configuration file or a ``[tool.phyper]`` table that cannot be used."""


class StoreNotFoundError(PhyperError, LookupError):
    """The results root a command was pointed to does not exist."""


@dataclass(frozen=True)
class Project:
    """The ``[tool.phyper]`` table of a ``pyproject.toml``, its paths made absolute."""

    file: str
    config: str | None = None
    root: str | None = None

    @property
    def folder(self) -> str:
        return os.path.dirname(self.file)


def _read_toml(path: str) -> dict[str, typing.Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - the dependency `tomli` is declared for Python 3.10 only
        import tomli as tomllib
    try:
        with open(path, "rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise ProjectError(f"{path} is not valid TOML: {error}") from None


def find_project(start: str | None = None) -> Project | None:
    """The ``[tool.phyper]`` table of the nearest ``pyproject.toml`` that has one, looking
    from ``start`` (default: the current folder) upwards; None when there is none."""
    folder = os.path.abspath(start or os.getcwd())
    while True:
        path = os.path.join(folder, PROJECT_FILE)
        if os.path.isfile(path):
            table = _read_toml(path).get("tool", {}).get("phyper")
            if table is not None:
                return _project(path, table)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _project(path: str, table: object) -> Project:
    if not isinstance(table, dict):
        raise ProjectError(f"[tool.phyper] in {path} must be a table, not {table!r}")
    unknown = sorted(set(table) - set(SETTINGS))
    if unknown:
        raise ProjectError(
            f"[tool.phyper] in {path} has unknown settings {unknown}; expected {list(SETTINGS)}"
        )
    values: dict[str, str] = {}
    for name, value in table.items():
        if not isinstance(value, str) or not value:
            raise ProjectError(
                f"[tool.phyper] {name} in {path} must be a path as a string, not {value!r}"
            )
        values[name] = os.path.normpath(os.path.join(os.path.dirname(path), value))
    return Project(path, **values)


def load_config(path: str) -> tuple[Parser, list[Parser]]:
    """Run a configuration file and find its instances (a variable ``instances``, else the
    first list of Parser instances) and their parser (a variable ``parser``, else the first
    instance)."""
    if not os.path.isfile(path):
        raise ProjectError(f"configuration file {path!r} does not exist")
    saved_path = list(sys.path)
    for folder in (os.getcwd(), os.path.dirname(os.path.abspath(path))):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        namespace = runpy.run_path(path, run_name="__phyper_config__")
    finally:
        sys.path[:] = saved_path

    def is_collection(value: object) -> bool:
        return (
            isinstance(value, (list, tuple))
            and len(value) > 0
            and all(is_instance(item) for item in value)
        )

    instances = namespace.get("instances")
    if not is_collection(instances):
        instances = next((v for v in namespace.values() if is_collection(v)), None)
    if instances is None:
        raise ProjectError(
            f"configuration {path!r} defines no instances: expected a variable `instances` "
            "holding a list of Parser instances"
        )
    parser = namespace.get("parser")
    if not is_instance(parser):
        parser = instances[0]
    return typing.cast("Parser", parser), list(instances)


def _shown(path: str) -> str:
    """``path`` relative to the current folder when it is below it, else absolute."""
    absolute = os.path.abspath(path)
    here = os.getcwd()
    inside = os.path.commonpath([absolute, here]) == here
    return os.path.relpath(absolute) if inside else absolute


def add_store_options(
    command: argparse.ArgumentParser, needs: str = ROOT, config_option: bool = True
) -> None:
    """Add ``--root`` and ``--config`` to a sub-command, and mark what it needs (``ROOT`` or
    ``INSTANCES``) so that :func:`locate` fills in ``options.root`` before it runs."""
    command.add_argument(
        "--root",
        help="the results root (default: from --config, else from [tool.phyper] in the nearest "
        f"pyproject.toml, else {DEFAULT_ROOT!r})"
        if config_option
        else "the results root (default: the configuration's parser's)",
    )
    if config_option:
        command.add_argument(
            "-c",
            "--config",
            help="a Python file defining 'parser' and 'instances'; the root is its parser's "
            "(default: [tool.phyper] config in the nearest pyproject.toml)",
        )
    command.set_defaults(store_needs=needs)


def locate(options: argparse.Namespace) -> None:
    """Fill in ``options.root`` (and, for commands that need instances, ``options.parser``
    and ``options.instances``) from the command line or the project; ``options.store_origin``
    says where the root came from, for messages. Raises :class:`StoreNotFoundError` when a
    command that reads the store is pointed to a root that does not exist."""
    needs = getattr(options, "store_needs", None)
    if needs is None:
        return
    root: str | None = getattr(options, "root", None)
    config: str | None = getattr(options, "config", None)
    origin = "given by --root" if root else f"the parser's, in {config!r}" if config else ""
    project = None if (root and needs == ROOT) or config else find_project()
    run_in: str | None = None  # a configuration from [tool.phyper] runs in its project
    if project is not None:
        where = _shown(project.file)
        if not root and needs == ROOT and project.root:
            root, origin = _shown(project.root), f"set by [tool.phyper] root in {where}"
        elif project.config:
            config, run_in = project.config, project.folder
            origin = origin or f"the parser's, in [tool.phyper] config of {where}"
        elif not root and project.root:
            root, origin = _shown(project.root), f"set by [tool.phyper] root in {where}"
    if needs == INSTANCES and not config:
        raise ProjectError(
            f"phyper {options.command} needs a configuration file: give CONFIG (a Python file "
            "defining 'parser' and 'instances'), or set config under [tool.phyper] in your "
            "project's pyproject.toml"
        )
    if config:
        previous = os.getcwd()
        if run_in:
            # every path the user typed means what it meant where it was typed
            for name in ("root", "output", "from_original", "to"):
                value = getattr(options, name, None)
                if isinstance(value, str):
                    setattr(options, name, os.path.abspath(value))
            root = getattr(options, "root", None)
            os.chdir(run_in)
        parser, instances = load_config(config)
        options.config, options.parser, options.instances = config, parser, instances
        if not root:
            root = os.path.join(run_in or "", parser.hashed_resources_folder)
        if needs == ROOT:  # only the configuration itself runs in its project
            os.chdir(previous)
            root = _shown(root) if run_in else root
    if not root:
        root = DEFAULT_ROOT
        origin = (
            f"the default: no --root, no --config, and no [tool.phyper] in a {PROJECT_FILE} "
            f"from {os.getcwd()} upwards"
        )
    options.root, options.store_origin = root, origin
    if needs == ROOT and not os.path.isdir(root):
        raise StoreNotFoundError(f"results root {root!r} is not a folder ({origin}); {HINT}")


def where(options: argparse.Namespace) -> str:
    """Where a command looked, for a message about an empty store: ``'derived_data' (given
    by --root)``."""
    origin = getattr(options, "store_origin", "")
    return f"{options.root!r}" + (f" ({origin})" if origin else "")
