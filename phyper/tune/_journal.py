"""A study's append-only event journal: one JSON object per line, flushed to disk per batch.

Replaying it rebuilds the study's trials after any kill. A kill mid-write can leave the last
line torn (no newline, or not JSON): replay drops it and the next write starts on a clean line.
A damaged line anywhere else is an error naming the file and the line, never skipped silently.
"""

from __future__ import annotations

import json
import os
import typing

from .._errors import PhyperError


class JournalError(PhyperError, ValueError):
    """A study journal with a damaged line before its last one."""


class Journal:
    """``<study>/journal.jsonl``.

    >>> import tempfile, os
    >>> journal = Journal(os.path.join(tempfile.mkdtemp(), "journal.jsonl"))
    >>> journal.replay()
    []
    >>> journal.append([{"event": "start", "trial": 0}])
    >>> journal.replay()
    [{'event': 'start', 'trial': 0}]
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._stream: typing.BinaryIO | None = None

    def replay(self, *, repair: bool = True) -> list[dict[str, typing.Any]]:
        """Every event, in order; a torn last line is cut off the file (``repair=True``, for
        the driver, which holds the study's lock) or only left out (``repair=False``, for a
        reader: the line may be one a live driver is writing at this moment)."""
        try:
            with open(self.path, "rb") as stream:
                data = stream.read()
        except FileNotFoundError:
            return []
        events: list[dict[str, typing.Any]] = []
        start = 0
        line_number = 0
        while start < len(data):
            end = data.find(b"\n", start)
            line_number += 1
            last = end == -1 or end == len(data) - 1
            line = data[start:] if end == -1 else data[start:end]
            try:
                event = json.loads(line) if end != -1 else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                event = None
            if not isinstance(event, dict):
                if last:  # killed (or being written) mid-line: keep everything before it
                    if repair:
                        self._truncate(start)
                    break
                raise JournalError(
                    f"study journal {self.path!r} has a damaged line {line_number} "
                    f"({line[:60]!r}) before its last one; expected one JSON object per line "
                    "(restore the file from a backup, or move it away to start the study anew)"
                )
            events.append(event)
            start = end + 1
        return events

    def _truncate(self, length: int) -> None:
        with open(self.path, "rb+") as stream:
            stream.truncate(length)
            stream.flush()
            os.fsync(stream.fileno())

    def append(self, events: list[dict[str, typing.Any]]) -> None:
        """Write ``events`` and flush them to disk (one fsync for the whole batch)."""
        if not events:
            return
        if self._stream is None:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            self._stream = open(self.path, "ab")  # noqa: SIM115 (kept open between batches)
        data = b"".join(
            json.dumps(event, separators=(",", ":"), allow_nan=False).encode("utf-8") + b"\n"
            for event in events
        )
        self._stream.write(data)
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
