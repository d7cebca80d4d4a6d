"""Gathering result files into one tidy table, hyperparameters beside the loaded values."""

from __future__ import annotations

import json
import os
import typing
import warnings
from collections.abc import Callable, Sequence

from ._context import context_of, distinct, is_full, values_of, wildcard_name
from ._errors import PhyperError
from ._scan import OK, iter_folders
from ._store import display_value

if typing.TYPE_CHECKING:
    import pandas as pd

    from ._parser import Parser

Loader = Callable[[str], object]
MissingPolicy = typing.Literal["warn", "raise", "ignore"]


class MissingResultsWarning(UserWarning):
    """Some result files of a collection do not exist (yet)."""


class MissingResultsError(PhyperError, LookupError):
    """Result files that were required do not exist."""


def _load_yaml(path: str) -> object:
    import yaml

    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def _load_json(path: str) -> object:
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def _load_csv(path: str) -> object:
    import pandas as pd

    return pd.read_csv(path)


LOADERS: dict[str, Loader] = {
    ".json": _load_json,
    ".yaml": _load_yaml,
    ".yml": _load_yaml,
    ".csv": _load_csv,
}


def pick_loader(path: str, loader: Loader | str | None) -> Loader:
    if callable(loader):
        return loader
    key = loader if loader is not None else os.path.splitext(path)[1].lower()
    if not key.startswith("."):
        key = "." + key
    try:
        return LOADERS[key]
    except KeyError:
        raise ValueError(
            f"no loader for {path!r}: expected a .json, .yaml, .yml or .csv file, or a "
            "callable loader(path) -> dict | DataFrame | value"
        ) from None


def _rows(loaded: object, path: str) -> list[dict[str, object]]:
    """A loaded result as table rows: a DataFrame gives its rows, a mapping one row, a list of
    mappings its items, anything else one row with a ``value`` column."""
    import pandas as pd

    if isinstance(loaded, pd.DataFrame):
        return loaded.to_dict(orient="records")
    if isinstance(loaded, pd.Series):
        return [loaded.to_dict()]
    if isinstance(loaded, dict):
        return [loaded]
    if isinstance(loaded, list) and all(isinstance(item, dict) for item in loaded):
        return list(loaded)
    return [{"value": loaded}]


def tidy_frame(
    entries: Sequence[tuple[str, dict[str, object], str]],
    index_name: str,
    loader: Loader | str | None,
    missing: MissingPolicy,
) -> pd.DataFrame:
    """Load each ``(hash, hyperparameters, path)``; rows carry the hash and hyperparameters."""
    import pandas as pd

    if missing not in ("warn", "raise", "ignore"):
        raise ValueError(f"missing={missing!r}: expected 'warn', 'raise' or 'ignore'")
    rows: list[dict[str, object]] = []
    absent: list[str] = []
    for entry_hash, hyperparameters, path in entries:
        load = pick_loader(path, loader)  # an unusable file type fails even if files are missing
        if not os.path.exists(path):
            absent.append(path)
            continue
        for loaded in _rows(load(path), path):
            clashes = set(loaded) & (set(hyperparameters) | {index_name})
            if clashes:
                loaded = {(f"result_{k}" if k in clashes else k): v for k, v in loaded.items()}
            rows.append({index_name: entry_hash, **hyperparameters, **loaded})
    if absent:
        summary = (
            f"{len(absent)} of {len(entries)} result files are missing, e.g. "
            f"{', '.join(map(repr, absent[:3]))}"
        )
        if missing == "raise":
            raise MissingResultsError(summary)
        if missing == "warn":
            warnings.warn(summary, MissingResultsWarning, stacklevel=3)
    frame = pd.DataFrame(rows)
    frame.attrs["missing"] = absent
    return frame


def collect(
    instances: Sequence[Parser],
    path_function: Callable[[typing.Any], str | os.PathLike[str]],
    *,
    loader: Loader | str | None = None,
    resource_name: str | None = None,
    missing: MissingPolicy = "warn",
) -> pd.DataFrame:
    """A tidy table of the results of a collection: one row per loaded row of each result file,
    with the hash and the hyperparameters beside the values.

    ``loader`` is picked from the file extension (JSON, YAML, CSV) unless given (a name or a
    callable). Missing files are listed in ``frame.attrs["missing"]`` and warned about (or
    raised with ``missing="raise"``), never silently skipped.
    """
    entries = []
    for instance_hash, instance in distinct(instances, resource_name).items():
        if is_full(resource_name):
            hyperparameters = instance.to_dict()
        else:
            names = context_of(instance).dependencies(resource_name)
            hyperparameters = values_of(instance, names)
        path = os.fspath(path_function(instance))
        entries.append((instance_hash, hyperparameters, path))
    return tidy_frame(entries, wildcard_name(resource_name), loader, missing)


def collect_from_disk(
    root: str | os.PathLike[str],
    resource: str,
    relative_path: str,
    *,
    loader: Loader | str | None = None,
    missing: MissingPolicy = "warn",
) -> pd.DataFrame:
    """Like :func:`collect`, for the folders of ``resource`` under ``root``, with the
    hyperparameters read from each folder's metadata (no configuration needed)."""
    entries = [
        (
            folder.hash,
            {k: display_value(v) for k, v in folder.hyperparameters.items()},
            os.path.join(folder.path, relative_path),
        )
        for folder in iter_folders(root, resource)
        if folder.status == OK
    ]
    return tidy_frame(entries, wildcard_name(resource), loader, missing)
