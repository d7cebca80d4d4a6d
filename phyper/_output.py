"""How every ``phyper`` command writes a table: ``table`` for people, ``csv`` and ``json`` for
programs, where every float comes back exactly as it was.

Exact matters: a trial's hyperparameters rebuild its hash only if they are the same floats.
pandas' ``to_json`` rounds to 10 significant digits by default (and to 15 at most), so JSON is
written here from plain Python values with ``json.dumps``, which writes the shortest text that
reads back as the same float (``repr``). pandas' ``to_csv`` without ``float_format`` already
writes floats that way. Missing values (None, NaN, NaT) are ``null`` in JSON and empty in CSV;
an infinite value, which JSON cannot hold, is ``null`` too.
"""

from __future__ import annotations

import datetime
import json
import math
import sys
import typing
from collections.abc import Sequence

from ._store import write_atomic

if typing.TYPE_CHECKING:
    import pandas as pd

FORMATS = ("table", "csv", "json")


def plain(value: object) -> object:
    """``value`` as a JSON-ready Python value, floats unchanged.

    >>> import numpy as np
    >>> plain(np.float64(0.0012345678901234567)), plain(np.int64(3)), plain(float("nan"))
    (0.0012345678901234567, 3, None)
    >>> plain((1, np.bool_(True)))
    [1, True]
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # np.float64 too
        return float(value) if math.isfinite(value) else None
    kind = type(value)
    module = kind.__module__
    if module == "numpy":
        if kind.__name__ == "ndarray":
            return [plain(v) for v in typing.cast(typing.Any, value).tolist()]
        item = typing.cast(typing.Any, value).item()  # numpy scalar -> Python scalar
        if isinstance(item, (datetime.datetime, datetime.date)):
            return item.isoformat()
        return plain(item) if type(item) is not kind else str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        if module.startswith("pandas") and str(value) == "NaT":
            return None
        return value.isoformat()
    if module.startswith("pandas") and str(value) in ("NaT", "<NA>"):
        return None
    return str(value)


def to_json_records(frame: pd.DataFrame) -> str:
    """The rows of ``frame`` as a JSON list of objects, every float exact."""
    columns = [str(c) for c in frame.columns]
    values = [[plain(v) for v in frame.iloc[:, i].tolist()] for i in range(frame.shape[1])]
    records = [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]
    if not columns:
        records = [{} for _ in range(len(frame))]
    return json.dumps(records, indent=2, allow_nan=False) + "\n"


def render_frame(
    frame: pd.DataFrame,
    fmt: str,
    *,
    empty: str = "(nothing)",
    hidden: Sequence[str] = (),
    blank_missing: bool = False,
) -> str:
    """``frame`` as text in ``fmt``. ``hidden`` columns and ``blank_missing`` (empty cells
    instead of NaN/None) apply to the table only: programs get every column.

    >>> import pandas as pd
    >>> print(render_frame(pd.DataFrame({"lr": [0.0012345678901234567]}), "json"), end="")
    [
      {
        "lr": 0.0012345678901234567
      }
    ]
    """
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return to_json_records(frame)
    if fmt != "table":
        raise ValueError(f"output format {fmt!r}: expected one of {list(FORMATS)}")
    shown = frame.drop(columns=[c for c in hidden if c in frame])
    if blank_missing:
        shown = shown.astype(object).fillna("")
    return (shown.to_string(index=False) if len(shown) else empty) + "\n"


def write_frame(
    frame: pd.DataFrame,
    fmt: str,
    output: str | None = None,
    *,
    empty: str = "(nothing)",
    hidden: Sequence[str] = (),
    blank_missing: bool = False,
) -> None:
    """Write ``frame`` to standard output, or whole to the file ``output`` (atomically: a
    killed command leaves the old file, or none)."""
    text = render_frame(frame, fmt, empty=empty, hidden=hidden, blank_missing=blank_missing)
    if output:
        write_atomic(output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
