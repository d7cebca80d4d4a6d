"""The package's shape: imports below the Parser facade point down, and the names every user
subclass inherits are pinned (a new Parser method could clash with a user's hyperparameter)."""

from __future__ import annotations

import ast
import pathlib

import pytest

import phyper
from phyper._parser import RESERVED_NAMES

PACKAGE = pathlib.Path(phyper.__file__).parent
# the facade itself and the modules above it, which may import it
ABOVE_THE_FACADE = {"__init__.py", "__main__.py", "_parser.py", "cli.py"}


def _runtime_imports(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, module) of every import that runs: not those under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for child in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, node.module or ""))
    return found


@pytest.mark.parametrize(
    "module",
    sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ABOVE_THE_FACADE),
)
def test_modules_below_the_facade_never_import_it(module):
    imports = _runtime_imports(PACKAGE / module)
    assert not [line for line, name in imports if name == "_parser"], (
        f"{module} imports _parser at run time; import from _context instead"
    )


def test_the_instance_layout_is_known_in_one_module():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "_context.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "_phyper_ctx" not in text and "_phyper_hashes" not in text, path


def test_the_names_a_user_subclass_inherits_are_pinned():
    # Adding to this list can break a user's class that has a hyperparameter of that name:
    # add new operations as phyper.<function> instead.
    assert sorted(n for n in RESERVED_NAMES if not n.startswith("_")) == [
        "deduplicate",
        "describe_instance_from_hash",
        "generate_instance_info_files",
        "get_dependencies_for_resources",
        "get_df_of_instances",
        "get_filtered_instances",
        "get_hashable_hyperparameters",
        "get_hyperparameter_names",
        "get_hyperparameters",
        "get_instance_from_hash",
        "get_instance_hash",
        "get_instances_from_df",
        "get_instances_from_dictionary",
        "get_instances_from_dicts",
        "get_instances_from_yaml",
        "get_instances_hashes",
        "get_projections",
        "get_resource_names",
        "get_resources",
        "get_resources_path",
        "hashed_resources_folder",
        "load_instance_from_disk_by_hash",
        "new_instance",
        "register_new_resource",
        "replace",
        "snakemake_helper_get_wildcarded_path",
        "to_dict",
    ]


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    assert phyper.__version__ == version("phyper-ml")
