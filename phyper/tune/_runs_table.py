"""The table ``phyper runs`` prints for a person: one line per run, fitted to the terminal.

By default: the shortest hash prefix that is unique among the runs of the store (at least 6
characters, so that ``phyper decide PREFIX`` accepts it), the key hyperparameters whose values
differ between the listed runs (read from each folder's metadata file), values to 4 significant
digits, times as short as the day allows, and as many columns as the width holds, the most
useful first; a last line names the columns left out. ``wide=True`` prints every column in
full. csv and json output never come through here: they stay complete.

>>> import pandas as pd
>>> frame = pd.DataFrame({"hash": ["a1b2c3d4e5", "a1b2c3ffff"], "status": ["completed"] * 2,
...                       "epoch": [3, 4], "best_value": [0.123456, 0.5]})
>>> print(format_runs(frame, width=60))
hash     status     epoch  best_value
a1b2c3d  completed      3      0.1235
a1b2c3f  completed      4         0.5
"""

from __future__ import annotations

import datetime
import math
import os
import typing

import pandas as pd

from .._store import INFO_FILE, display_value, read_info_file

MIN_PREFIX = 6
GAP = "  "
# the run's own columns in the order shown, the varying hyperparameters after ``gate``
BEFORE = ["hash", "status", "epoch", "best_value", "best_epoch", "gate"]
AFTER = ["updated", "monitor", "stopped_by", "resource", "reason"]
# which columns get the width first: a column holding one value for every row comes last
FIRST = ["hash", "status", "epoch", "best_value", "gate"]
NEVER_SHOWN = {"folder"}  # by default: --wide, csv and json show it
ELLIPSIS = "…"


def shortest_unique_prefixes(hashes: typing.Sequence[str], minimum: int = MIN_PREFIX) -> int:
    """The smallest length (at least ``minimum``) at which the prefixes of ``hashes`` are
    distinct.

    >>> shortest_unique_prefixes(["abcdef01", "abcdef02", "0123456"])
    8
    """
    distinct = set(hashes)
    longest = max(map(len, distinct), default=minimum)
    for length in range(minimum, longest + 1):
        if len({h[:length] for h in distinct}) == len(distinct):
            return length
    return longest


def compact_time(text: object, now: datetime.datetime | None = None) -> str:
    """An ISO time as short as the day allows, in local time: ``14:03:27`` today,
    ``12-01 14:03`` this year, ``2025-12-01`` before.

    >>> then = datetime.datetime(2026, 3, 1, 9, 5, tzinfo=datetime.timezone.utc)
    >>> compact_time(then.isoformat(), now=then + datetime.timedelta(days=40))[:2]
    '03'
    """
    if not isinstance(text, str) or not text:
        return ""
    try:
        moment = datetime.datetime.fromisoformat(text).astimezone()
    except ValueError:
        return text
    now = (now or datetime.datetime.now(datetime.timezone.utc)).astimezone()
    if moment.date() == now.date():
        return moment.strftime("%H:%M:%S")
    if moment.year == now.year:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%Y-%m-%d")


def _cell(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_cell(v) for v in value) + ")"
    return str(value)


def _all_numbers(values: typing.Iterable[object]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def varying_hyperparameters(
    folders: typing.Sequence[str], every: bool = False
) -> dict[str, list[object]]:
    """The key hyperparameters whose values differ between the runs in ``folders`` (with
    ``every``, all of them), read from their metadata files (a folder without a readable one
    has no values), in name order."""
    found: list[dict[str, object]] = []
    for folder in folders:
        try:
            document = read_info_file(os.path.join(folder, INFO_FILE))
        except (OSError, ValueError):  # unreadable or foreign: the row shows no values
            found.append({})
            continue
        found.append({k: display_value(v) for k, v in document["hyperparameters"].items()})
    names = sorted({name for values in found for name in values})
    varying = {}
    for name in names:
        column = [values.get(name) for values in found]
        if every or len({repr(value) for value in column}) > 1:
            varying[name] = column
    return varying


def _left_out_note(names: list[str], width: int) -> str:
    """``(3 more columns: a, b, c; --wide shows them)``, names cut to fit ``width``."""
    end = "; --wide shows them)" if len(names) > 1 else "; --wide shows it)"
    note = f"({len(names)} more column{'s' if len(names) > 1 else ''}: "
    for position, name in enumerate(names):
        text = name if position == len(names) - 1 else name + ", "
        if len(note) + len(text) + len(end) > width and position:
            return note.rstrip(", ") + ", ..." + end
        note += text
    return note + end


def format_runs(
    frame: pd.DataFrame,
    *,
    width: int,
    wide: bool = False,
    every_hash: typing.Sequence[str] | None = None,
    first: typing.Sequence[str] = FIRST,
) -> str:
    """The table of ``frame`` (the rows of :func:`phyper.tune.runs`) for a terminal ``width``
    characters wide; ``every_hash``: the hashes prefixes must tell apart (default: the rows');
    ``first``: the columns that get the width first (``phyper study show`` passes its own)."""
    rows = len(frame)
    # every key hyperparameter with --wide, or of a single run (the one to judge): else only
    # those that tell the listed runs apart
    hyperparameters = (
        varying_hyperparameters([str(f) for f in frame["folder"]], every=wide or rows < 2)
        if "folder" in frame
        else {}
    )
    if wide:
        table = frame.astype(object)
        for name, values in hyperparameters.items():
            if name not in table:  # a run column of the same name wins
                table[name] = [_cell(v) for v in values]
        return table.map(_cell).to_string(index=False)
    columns: dict[str, list[str]] = {}
    hashes = [str(h) for h in frame["hash"]] if "hash" in frame else []
    length = shortest_unique_prefixes(list(every_hash or hashes))
    for name in frame.columns:
        if name in NEVER_SHOWN:
            continue
        if name == "hash":
            cells = [h[:length] for h in hashes]
        elif name == "updated":
            cells = [compact_time(v) for v in frame[name]]
        else:
            cells = [_cell(v) for v in frame[name]]
        if name == "resource" and set(cells) == {"all"}:
            continue  # the usual case says nothing
        if any(cells):
            columns[name] = cells
    for name, values in hyperparameters.items():
        if name not in columns:  # a run column of the same name wins
            columns[name] = [_cell(v) for v in values]
    known = list(dict.fromkeys([*first, *BEFORE, *hyperparameters, *AFTER]))
    order = [c for c in known if c in columns] + [c for c in columns if c not in known]
    constant = {c for c in order if rows > 1 and len(set(columns[c])) == 1}
    priority = sorted(
        order,
        key=lambda c: (c not in first, c in constant, c not in hyperparameters, c == "reason"),
    )

    def size(name: str) -> int:
        return max(len(name), *(len(c) for c in columns[name])) if rows else len(name)

    chosen: list[str] = []
    used = 0
    left_out: list[str] = []
    for name in priority:
        needed = size(name) + (len(GAP) if chosen else 0)
        room = width - used
        if needed <= room:
            chosen.append(name)
            used += needed
        elif name == "reason" and room - len(GAP) >= max(len(name), 12):
            cut = room - len(GAP)  # the reason, cut to the room left: the rest in --wide
            columns[name] = [c if len(c) <= cut else c[: cut - 1] + ELLIPSIS for c in columns[name]]
            chosen.append(name)
            used += len(GAP) + size(name)
        else:
            left_out.append(name)
    chosen.sort(key=order.index)
    numeric = {
        name
        for name in chosen
        if (name in frame and frame[name].dtype.kind in "iuf")
        or (name in hyperparameters and _all_numbers(hyperparameters[name]))
    }

    def line(cells: list[tuple[str, str]]) -> str:
        parts = [
            text.rjust(size(name)) if name in numeric else text.ljust(size(name))
            for name, text in cells
        ]
        return GAP.join(parts).rstrip()

    lines = [line([(name, name) for name in chosen])]
    lines += [line([(name, columns[name][row]) for name in chosen]) for row in range(rows)]
    if left_out:
        lines.append(_left_out_note(left_out, width))
    return "\n".join(lines)
