"""Per-step cost of phyper's Burr persister beside Burr's own, side by side in one run.

Each persister backs the same one-action Burr application (a counter, a loss and a short string
in state); the figure is the median wall time of one ``app.step()``, Burr's own work included.
The persisters take turns, a block of steps each per round, so a disk that slows down for a
moment slows all of them alike (this machine is shared).

What each row guarantees when ``save`` returns:

- Burr's ``InMemoryPersister``: nothing on disk.
- Burr's ``SQLitePersister``, default settings: rollback journal, ``synchronous=FULL`` (Python's
  default): durable; the journal and the database are synced per commit.
- ``SQLitePersister`` on a WAL connection, ``synchronous=FULL`` (what ``PRAGMA
  journal_mode=WAL`` leaves): durable; one sync of the write-ahead log per commit. The target.
- the same with ``synchronous=NORMAL``: atomic, but a power cut may lose the last commits (the
  log is synced at checkpoints only). For reference: it does less than the others.
- ``PhyperPersister``: durable; one in-place write of a state slot and one ``fdatasync`` per
  step (the history's rows are flushed in batches and carried by each state until then).
- ``PhyperPersister`` with a 1,000-float numpy array that changes every step: also the array's
  ``.npy`` (written, synced, renamed) and its folder synced. Burr's serialization would store
  the array's ``str()``, so no SQLite row compares.

    python bench/bench_burr.py [--steps 500] [--rounds 10] [--dir TMPDIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import typing

import numpy as np
from burr.core import ApplicationBuilder, State, action, default
from burr.core.persistence import InMemoryPersister, SQLitePersister

from phyper.integrations.burr import PhyperPersister

APP_ID = "0123456789abcdef0123456789abcdef"


def application(persister: typing.Any, with_array: bool) -> typing.Any:
    @action(reads=["count"], writes=["count", "loss", "note", "weights"])
    def step(state: State) -> State:
        count = state["count"] + 1
        weights = np.full(1000, float(count)) if with_array else None
        return state.update(count=count, loss=1.0 / count, note=f"step {count}", weights=weights)

    return (
        ApplicationBuilder()
        .with_actions(step=step)
        .with_transitions(("step", "step", default))
        .with_entrypoint("step")
        .with_state(count=0, loss=None, note="", weights=None)
        .with_state_persister(persister)
        .with_identifiers(app_id=APP_ID)
        .build()
    )


def sqlite_wal(path: str, synchronous: str) -> SQLitePersister:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    persister = SQLitePersister(path, connection=connection)
    persister.initialize()
    return persister


def measure(
    steps: int = 500, rounds: int = 10, directory: str | None = None
) -> list[tuple[str, float, float]]:
    """``(persister, median, mean)`` seconds per ``app.step()``; the third row is the target
    (Burr's SQLitePersister on a WAL connection, synchronous=FULL)."""
    folder = tempfile.mkdtemp(dir=directory, prefix="bench_burr_")
    try:
        default_sqlite = SQLitePersister(os.path.join(folder, "default.db"))
        default_sqlite.initialize()
        mode = default_sqlite.connection.execute("PRAGMA synchronous").fetchone()[0]
        assert mode == 2, f"expected synchronous=FULL (2) by default, found {mode}"
        contenders = [
            ("Burr InMemoryPersister (nothing on disk)", InMemoryPersister(), False),
            ("Burr SQLitePersister, default (FULL)", default_sqlite, False),
            (
                "Burr SQLitePersister, WAL, FULL",
                sqlite_wal(os.path.join(folder, "wal.db"), "FULL"),
                False,
            ),
            (
                "  (WAL, NORMAL: not durable per step)",
                sqlite_wal(os.path.join(folder, "normal.db"), "NORMAL"),
                False,
            ),
            ("PhyperPersister (durable every step)", PhyperPersister(folder + "/a"), False),
            ("PhyperPersister, + a 1,000-float array", PhyperPersister(folder + "/b"), True),
        ]
        apps = [application(persister, with_array) for _, persister, with_array in contenders]
        for app in apps:  # warm up: files created, caches filled
            for _ in range(10):
                app.step()
        times: list[list[float]] = [[] for _ in apps]
        block = max(1, steps // rounds)
        for _ in range(rounds):
            for app, figures in zip(apps, times, strict=True):
                for _ in range(block):
                    start = time.perf_counter()
                    app.step()
                    figures.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    # the mean counts what happens now and then (SQLite's checkpoints, phyper's batched
    # history flushes), which a median hides
    return [
        (name, statistics.median(figures), statistics.fmean(figures))
        for (name, _, _), figures in zip(contenders, times, strict=True)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=500, help="steps per persister in all")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--dir", default=None, help="where the files go (default: a temp dir)")
    arguments = parser.parse_args()
    rows = measure(arguments.steps, arguments.rounds, arguments.dir)
    _, target_median, target_mean = rows[2]
    print(f"one app.step() with each persister, {arguments.steps} steps each, interleaved")
    print("(ratios: to Burr's SQLitePersister on a WAL connection, synchronous=FULL)")
    print(f"{'persister':<42} {'median':>9} {'ratio':>6} {'mean':>9} {'ratio':>6}")
    for name, median, mean in rows:
        print(
            f"{name:<42} {median * 1e6:>6.0f} us {median / target_median:>5.2f}x "
            f"{mean * 1e6:>6.0f} us {mean / target_mean:>5.2f}x"
        )


if __name__ == "__main__":
    main()
