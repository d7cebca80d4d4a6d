"""Per-step cost of phyper's Burr persister beside Burr's own: in memory, SQLite with default
settings, SQLite with a WAL connection, and PhyperPersister (a durable write per step: the
history line fsynced, then the state file written to a temporary file, fsynced and renamed).

Each persister backs the same one-action Burr application (a counter, a loss and a short string
in state) stepped ``--steps`` times; the figure is the median wall time of one ``app.step()``,
Burr's own work included. A last row adds a 1,000-float numpy array to the state, which only
PhyperPersister stores faithfully (Burr's serialization turns it into its ``str()``).

    python bench/bench_burr.py [--steps 500] [--dir TMPDIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import time

import numpy as np
from burr.core import ApplicationBuilder, State, action, default
from burr.core.persistence import InMemoryPersister, SQLitePersister

from phyper.integrations.burr import PhyperPersister

APP_ID = "0123456789abcdef0123456789abcdef"


def application(persister, with_array: bool):
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


def per_step(persister, steps: int, with_array: bool = False) -> float:
    app = application(persister, with_array)
    for _ in range(10):  # warm up
        app.step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        app.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--dir", default=None, help="where the files go (default: a temp dir)")
    arguments = parser.parse_args()
    folder = tempfile.mkdtemp(dir=arguments.dir, prefix="bench_burr_")
    try:
        rows = [
            (
                "Burr InMemoryPersister (nothing on disk)",
                per_step(InMemoryPersister(), arguments.steps),
            )
        ]
        default_sqlite = SQLitePersister(os.path.join(folder, "default.db"))
        default_sqlite.initialize()
        rows.append(
            ("Burr SQLitePersister, default settings", per_step(default_sqlite, arguments.steps))
        )
        connection = sqlite3.connect(os.path.join(folder, "wal.db"))
        connection.execute("PRAGMA journal_mode=WAL")
        wal = SQLitePersister(os.path.join(folder, "wal.db"), connection=connection)
        wal.initialize()
        rows.append(("Burr SQLitePersister, WAL connection", per_step(wal, arguments.steps)))
        phyper_root = os.path.join(folder, "derived_data")
        rows.append(
            (
                "PhyperPersister (durable every step)",
                per_step(PhyperPersister(phyper_root), arguments.steps),
            )
        )
        shutil.rmtree(phyper_root)
        rows.append(
            (
                "PhyperPersister, + a 1,000-float array",
                per_step(PhyperPersister(phyper_root), arguments.steps, with_array=True),
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    reference = rows[1][1]
    print(f"one app.step() with each persister, median of {arguments.steps} steps")
    print(f"{'persister':<42} {'per step':>10} {'vs SQLite default':>18}")
    for name, seconds in rows:
        print(f"{name:<42} {seconds * 1e6:>8.0f} us {seconds / reference:>17.2f}x")


if __name__ == "__main__":
    main()
