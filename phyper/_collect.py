"""Gathering result files into one tidy table, hyperparameters beside the loaded values."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import typing
import warnings
from collections.abc import Callable, Sequence

from ._context import context_of, distinct, gc_paused, is_full, values_of, wildcard_name
from ._errors import MetadataError, PhyperError
from ._scan import iter_hash_entries, iter_verified
from ._store import display_value, read_bytes, read_folder_info, read_text

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

    # libyaml's parser when PyYAML has it: the same safe loader (Python's resolver and
    # constructors), its scanning and parsing in C
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(read_text(path), Loader=loader)


def _load_json(path: str) -> object:
    return json.loads(read_text(path))


def _load_csv(path: str) -> object:
    import pandas as pd

    return pd.read_csv(path)


LOADERS: dict[str, Loader] = {
    ".json": _load_json,
    ".yaml": _load_yaml,
    ".yml": _load_yaml,
    ".csv": _load_csv,
}


_OPENING_FIRST = (_load_json, _load_yaml)


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


def _rows(loaded: object) -> list[dict[str, object]]:
    """A loaded result as table rows: a DataFrame gives its rows, a mapping one row, a list of
    mappings its items, anything else one row with a ``value`` column."""
    import pandas as pd

    if isinstance(loaded, pd.DataFrame):
        return typing.cast("list[dict[str, object]]", loaded.to_dict(orient="records"))
    if isinstance(loaded, pd.Series):
        return [typing.cast("dict[str, object]", loaded.to_dict())]
    if isinstance(loaded, dict):
        return [loaded]
    if isinstance(loaded, list) and all(isinstance(item, dict) for item in loaded):
        return list(loaded)
    return [{"value": loaded}]


def _reference_frame(
    loaded: Sequence[tuple[str, dict[str, object], object, str]], index_name: str
) -> pd.DataFrame:
    """The table built row by row: each row its hash, its hyperparameters and its values.

    The definition every faster path must match; used as is when the hyperparameter names
    differ between entries (metadata of different declarations), where column order and
    renames depend on each row."""
    import pandas as pd

    rows: list[dict[str, object]] = []
    for entry_hash, hyperparameters, result, _ in loaded:
        for values in _rows(result):
            clashes = set(values) & (set(hyperparameters) | {index_name})
            if clashes:
                values = {(f"result_{k}" if k in clashes else k): v for k, v in values.items()}
            rows.append({index_name: entry_hash, **hyperparameters, **values})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ CSV files, parsed at once

_BOM = b"\xef\xbb\xbf"
_JOINT = object()  # stands for the result of a CSV file left to the joint parse of its group
_BOOLEAN_WORDS = ("True", "TRUE", "true", "False", "FALSE", "false")  # read_csv's defaults


def _split_csv(data: bytes) -> tuple[bytes, bytes] | None:
    """``(header, rows)`` of a CSV file that can be parsed together with others sharing its
    header, each row ending in a newline; None when only parsing it alone is sure to be right
    (empty, a BOM, quotes, carriage returns, blank lines, rows with a different number of
    fields than the header)."""
    if not data or data.startswith(_BOM) or b'"' in data or b"\r" in data:
        return None
    if not data.endswith(b"\n"):
        data += b"\n"
    cut = data.index(b"\n")
    header, body = data[:cut], data[cut + 1 :]
    if not header.strip() or body.startswith(b"\n") or b"\n\n" in body:
        return None
    if body.count(b",") != body.count(b"\n") * header.count(b","):
        return None
    return header, body


def _parse_group(header: bytes, bodies: list[bytes]) -> tuple[pd.DataFrame, list[int]] | None:
    """The rows of files that share ``header``, parsed by one ``read_csv``, and the positions
    (in ``bodies``) of the files whose own parse could infer a column's type differently;
    None if the joint parse is not surely the files' rows in order."""
    import numpy as np
    import pandas as pd

    counts = np.fromiter((body.count(b"\n") for body in bodies), dtype=np.int64, count=len(bodies))
    try:
        frame = pd.read_csv(io.BytesIO(b"".join([header, b"\n", *bodies])), low_memory=False)
    except (ValueError, UnicodeDecodeError):  # ParserError and EmptyDataError are ValueErrors
        return None
    if not isinstance(frame.index, pd.RangeIndex) or len(frame) != counts.sum():
        return None  # blank-looking lines skipped, or a first column taken as the index
    # A column of text in the joint parse may be numbers or booleans in a file of its own:
    # those files are parsed alone. A file is sure to read as text if one of its values is
    # neither missing, a number nor a boolean word.
    owner = np.repeat(np.arange(len(bodies)), counts)
    unsure = np.zeros(len(bodies), dtype=bool)
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind in "biufcmM":
            continue
        text = column.notna() & pd.to_numeric(column, errors="coerce").isna()
        text &= ~column.isin(_BOOLEAN_WORDS)
        has_value = np.bincount(owner, weights=column.notna().to_numpy(), minlength=len(bodies))
        has_text = np.bincount(owner, weights=text.to_numpy(), minlength=len(bodies))
        unsure |= (has_value > 0) & (has_text == 0)
    return frame, np.flatnonzero(unsure).tolist()


# ----------------------------------------------------------------------------- the table


def _progress(
    items: typing.Iterable[typing.Any], what: str, total: int | None = None
) -> typing.Iterable[typing.Any]:
    """``items``, with a progress bar on a terminal once a collect has run two seconds."""
    from tqdm import tqdm

    return tqdm(
        items,
        desc=what,
        total=total,
        unit="file" if total is None else "",
        delay=2.0,
        leave=False,
        disable=not sys.stderr.isatty(),
    )


_ABSENT = object()  # stands for a result file that does not exist


def _fetch(path: str, load: Loader) -> object:
    """A CSV file's bytes (parsed later, with the others), a JSON or YAML file loaded, or
    ``_ABSENT``. These loaders open the file first: one system call, not an existence check
    and then an open."""
    try:
        return read_bytes(path) if load is _load_csv else load(path)
    except FileNotFoundError:
        return _ABSENT


def tidy_frame(
    entries: Sequence[tuple[str, dict[str, object], str]],
    index_name: str,
    loader: Loader | str | None,
    missing: MissingPolicy,
    fetched: dict[str, object] | None = None,
) -> pd.DataFrame:
    """Load each ``(hash, hyperparameters, path)``; rows carry the hash and hyperparameters.

    The table is :func:`_reference_frame`'s, built column-wise: CSV files that share a header
    are parsed by one ``read_csv`` (a file the joint parse cannot be sure about is parsed on
    its own), other results become one frame of all their records, and the hashes and
    hyperparameters are one row per file, repeated by its number of rows. ``fetched`` maps
    each path to what :func:`_fetch` gave in a worker process, so nothing is read here.
    """
    if missing not in ("warn", "raise", "ignore"):
        raise ValueError(f"missing={missing!r}: expected 'warn', 'raise' or 'ignore'")
    with gc_paused():
        return _tidy_frame(entries, index_name, loader, missing, fetched)


def _tidy_frame(
    entries: Sequence[tuple[str, dict[str, object], str]],
    index_name: str,
    loader: Loader | str | None,
    missing: MissingPolicy,
    fetched: dict[str, object] | None = None,
) -> pd.DataFrame:
    absent: list[str] = []
    # per file that exists, in order: (hash, hyperparameters, loaded result or _JOINT, path)
    loaded: list[tuple[str, dict[str, object], object, str]] = []
    groups: dict[bytes, list[tuple[int, bytes]]] = {}  # CSV header -> (file, rows)
    fixed = None  # the loader of every file, when it does not depend on the extension
    if loader is not None:
        with contextlib.suppress(ValueError):  # a bad name fails below, naming a file
            fixed = pick_loader("", loader)
    for entry_hash, hyperparameters, path in _progress(entries, "results"):
        # an unusable file type fails even if files are missing
        load = fixed if fixed is not None else pick_loader(path, loader)
        if fetched is not None:  # read by a worker process: what _fetch gives
            result = fetched[path]
        elif load is _load_csv or load in _OPENING_FIRST:
            result = _fetch(path, load)
        elif not os.path.exists(path):
            result = _ABSENT
        else:  # a loader of the caller's: its own FileNotFoundError is its own
            result = load(path)
        if result is _ABSENT:
            absent.append(path)
            continue
        if load is _load_csv:  # the file's bytes
            split = _split_csv(result)  # type: ignore[arg-type]
            if split is None:
                result = load(path)
            else:
                result = _JOINT
                groups.setdefault(split[0], []).append((len(loaded), split[1]))
        loaded.append((entry_hash, hyperparameters, result, path))
    if absent:
        summary = (
            f"{len(absent)} of {len(entries)} result files are missing, e.g. "
            f"{', '.join(map(repr, absent[:3]))}"
        )
        if missing == "raise":
            raise MissingResultsError(summary)
        if missing == "warn":
            warnings.warn(summary, MissingResultsWarning, stacklevel=4)
    frame = _frame(loaded, groups, index_name)
    frame.attrs["missing"] = absent
    return frame


def _frame(
    loaded: list[tuple[str, dict[str, object], object, str]],
    groups: dict[bytes, list[tuple[int, bytes]]],
    index_name: str,
) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    names = tuple(loaded[0][1]) if loaded else ()
    taken = {index_name, *names}
    if index_name in names or any(tuple(hp) != names for _, hp, _, _ in loaded):
        return _reference_frame([_read(entry) for entry in loaded], index_name)

    def renamed(columns: typing.Iterable[str]) -> list[str]:
        return [f"result_{c}" if c in taken else c for c in columns]

    # the values: blocks of rows, each with the file of every row
    blocks: list[tuple[pd.DataFrame, np.ndarray]] = []
    # files whose values come from their own load, as records
    alone: set[int] = {i for i, entry in enumerate(loaded) if entry[2] is not _JOINT}
    # file -> the value columns of its rows, each distinct tuple of names one shared object
    columns_of: dict[int, list[tuple[str, ...]]] = {}
    shapes: dict[tuple[str, ...], tuple[str, ...]] = {}
    for header, members in groups.items():
        parsed = _parse_group(header, [body for _, body in members])
        if parsed is not None:
            group, unsure = parsed
            columns = renamed(group.columns)
            if len(set(columns)) == len(columns) and taken.isdisjoint(columns):
                group.columns = columns
                shape = [shapes.setdefault(tuple(columns), tuple(columns))]
                files = np.fromiter((file for file, _ in members), dtype=np.int64)
                counts = [body.count(b"\n") for _, body in members]
                keep = np.ones(len(members), dtype=bool)
                keep[unsure] = False
                owner = np.repeat(files, counts)
                if unsure:
                    rows = np.repeat(keep, counts)
                    group, owner = group[rows], owner[rows]
                if len(group):
                    blocks.append((group, owner))
                for position, file in enumerate(files.tolist()):
                    if keep[position]:
                        columns_of[file] = shape
                alone.update(files[~keep].tolist())
                continue
        alone.update(file for file, _ in members)
    records: list[dict[str, object]] = []
    owners: list[int] = []
    for file in sorted(alone):
        _, _, result, path = loaded[file]
        result = result if result is not _JOINT else _load_csv(path)
        for values in _rows(result):
            if not taken.isdisjoint(values):
                values = {(f"result_{k}" if k in taken else k): v for k, v in values.items()}
                if not taken.isdisjoint(values):  # a renamed column meets a hyperparameter
                    return _reference_frame([_read(entry) for entry in loaded], index_name)
            records.append(values)
            owners.append(file)
            keys = tuple(values)
            columns_of.setdefault(file, []).append(shapes.setdefault(keys, keys))
    if records:
        blocks.append((pd.DataFrame(records), np.asarray(owners, dtype=np.int64)))
    if not blocks:
        return pd.DataFrame([])
    values_frame = pd.concat([block for block, _ in blocks], ignore_index=True, sort=False)
    owner = np.concatenate([rows for _, rows in blocks])
    order = np.argsort(owner, kind="stable")
    values_frame = values_frame.take(order).reset_index(drop=True)
    owner = owner[order]
    # the hash and hyperparameters: one row per file with rows, repeated by its row count
    files, counts = np.unique(owner, return_counts=True)
    keys = pd.DataFrame(
        [{index_name: loaded[f][0], **loaded[f][1]} for f in files.tolist()],
        columns=[index_name, *names],
    )
    keys = keys.take(np.repeat(np.arange(len(files)), counts)).reset_index(drop=True)
    # columns in the order rows first show them, as a frame built row by row has them
    order_of_columns = dict.fromkeys([index_name, *names])
    seen: set[int] = set()
    for file in files.tolist():
        for columns in columns_of[file]:
            if id(columns) not in seen:
                seen.add(id(columns))
                order_of_columns.update(dict.fromkeys(columns))
    frame = pd.concat([keys, values_frame], axis=1)
    return frame[list(order_of_columns)]


def _read(
    entry: tuple[str, dict[str, object], object, str],
) -> tuple[str, dict[str, object], object, str]:
    """An entry with its result loaded (CSV files the joint parse was to read are read here)."""
    entry_hash, hyperparameters, result, path = entry
    return entry_hash, hyperparameters, result if result is not _JOINT else _load_csv(path), path


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
    with gc_paused():
        for instance_hash, instance in distinct(instances, resource_name).items():
            if is_full(resource_name):
                hyperparameters = instance.to_dict()
            else:
                names = context_of(instance).dependencies(resource_name)
                hyperparameters = values_of(instance, names)
            path = os.fspath(path_function(instance))
            entries.append((instance_hash, hyperparameters, path))
    return tidy_frame(entries, wildcard_name(resource_name), loader, missing)


def _displayed(hyperparameters: dict[str, object]) -> dict[str, object]:
    """Metadata values as table cells; most are plain already and the dict is kept as is."""
    if all(type(value) in _PLAIN for value in hyperparameters.values()):
        return hyperparameters
    return {k: display_value(v) for k, v in hyperparameters.items()}


_PLAIN = frozenset({str, int, float, bool, type(None)})


def collect_from_disk(
    root: str | os.PathLike[str],
    resource: str,
    relative_path: str,
    *,
    loader: Loader | str | None = None,
    missing: MissingPolicy = "warn",
    workers: int | typing.Literal["auto"] = 1,
) -> pd.DataFrame:
    """Like :func:`collect`, for the folders of ``resource`` under ``root``, with the
    hyperparameters read from each folder's metadata (no configuration needed).

    ``workers > 1`` reads and verifies the folders in that many worker processes, for large
    stores or slow (network) file systems; ``"auto"`` takes one per core (up to 8) from 5,000
    folders on. Each worker starts Python afresh and imports the caller's main module, so a
    script that asks for workers must guard its top level with ``if __name__ == "__main__":``
    (notebooks and the ``phyper`` command need nothing). The table is the same either way.
    """
    workers = _workers_for(root, resource, workers)
    if missing not in ("warn", "raise", "ignore"):
        raise ValueError(f"missing={missing!r}: expected 'warn', 'raise' or 'ignore'")
    if loader is None:
        # every path ends in relative_path, so one extension picks every file's loader; an
        # unusable one is left to fail as before, naming the first file
        with contextlib.suppress(ValueError):
            loader = pick_loader(relative_path, None)
    index_name = wildcard_name(resource)
    if workers > 1:
        entries, fetched = _read_in_processes(root, resource, relative_path, loader, workers)
        return tidy_frame(entries, index_name, loader, missing, fetched)
    with gc_paused():
        entries = [
            (folder_hash, _displayed(hyperparameters), os.path.join(path, relative_path))
            for folder_hash, path, hyperparameters in _progress(
                iter_verified(root, resource), "metadata"
            )
        ]
    return tidy_frame(entries, index_name, loader, missing)


AUTO_WORKERS_FROM = 5_000  # folders: below, starting processes costs more than it saves
AUTO_WORKERS_AT_MOST = 8


def _workers_for(
    root: str | os.PathLike[str], resource: str, workers: int | typing.Literal["auto"]
) -> int:
    if workers == "auto":
        cores = os.cpu_count() or 1
        if cores == 1:
            return 1
        try:
            with os.scandir(os.path.join(os.fspath(root), resource)) as entries:
                many = sum(1 for _ in entries) >= AUTO_WORKERS_FROM
        except OSError:  # no such folder: the serial path says so, naming it
            return 1
        return min(cores, AUTO_WORKERS_AT_MOST) if many else 1
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(
            f"workers={workers!r}: expected a whole number of processes, 1 or more, or 'auto'"
        )
    return workers


_CHUNK = 1_000  # folders per task: small enough to keep every worker busy to the end
_BUILT_IN = {_load_csv: "csv", _load_json: "json", _load_yaml: "yaml"}
_LOADER_OF = {name: load for load, name in _BUILT_IN.items()}


def _read_in_processes(
    root: str | os.PathLike[str],
    resource: str,
    relative_path: str,
    loader: Loader | str | None,
    workers: int,
) -> tuple[list[tuple[str, dict[str, object], str]], dict[str, object] | None]:
    """The entries :func:`collect_from_disk` reads in its own process, and each result file's
    :func:`_fetch` (None for a loader of the caller's, which runs here), from worker processes.
    Folders are listed here, so links are never followed whoever reads."""
    from ._processes import process_pool

    names = [
        entry.name
        for _, entry, linked in iter_hash_entries(root, resource)
        if not linked and not entry.is_symlink() and entry.is_dir(follow_symlinks=False)
    ]
    fixed = None
    with contextlib.suppress(ValueError):
        fixed = pick_loader("", loader) if loader is not None else None
    kind = _BUILT_IN.get(fixed) if fixed is not None else None  # type: ignore[arg-type]
    folder = os.path.join(os.fspath(root), resource)
    jobs = [
        (folder, resource, relative_path, kind, names[start : start + _CHUNK])
        for start in range(0, len(names), _CHUNK)
    ]
    entries: list[tuple[str, dict[str, object], str]] = []
    fetched: dict[str, object] = {}
    if jobs:
        with process_pool(min(workers, len(jobs))) as pool:
            for read in _progress(pool.map(_read_folders, jobs), "chunks", total=len(jobs)):
                for folder_hash, hyperparameters, path, found, payload in read:
                    entries.append((folder_hash, hyperparameters, path))
                    fetched[path] = payload if found else _ABSENT
    return entries, (fetched if kind is not None else None)


def _read_folders(
    job: tuple[str, str, str, str | None, list[str]],
) -> list[tuple[str, dict[str, object], str, bool, object]]:
    """In a worker: ``(hash, hyperparameters, result path, found, what _fetch gives)`` of
    each verified folder of ``names``; the result is not read for a caller's loader."""
    folder, resource, relative_path, kind, names = job
    load = _LOADER_OF.get(kind) if kind is not None else None
    read = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            document = read_folder_info(path, resource, name)
        except (FileNotFoundError, MetadataError):
            continue
        result_path = os.path.join(path, relative_path)
        payload = _fetch(result_path, load) if load is not None else None
        found = payload is not _ABSENT
        read.append(
            (
                name,
                _displayed(document["hyperparameters"]),
                result_path,
                found,
                payload if found else None,
            )
        )
    return read
