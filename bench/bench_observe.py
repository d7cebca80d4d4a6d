"""What truthful run states cost ``tune.runs()``: the same number of runs listed when all are
``completed`` (nothing probed) and when all say ``running`` (one non-blocking ``flock``
attempt each, then shown as ``interrupted``).

    python bench/bench_observe.py [--runs 2000] [--dir TMPDIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from phyper import tune
from phyper._store import HASH_PATTERN
from phyper.tune._state import RunState, write_state


def make_runs(root: str, count: int, status: tune.Status) -> None:
    for number in range(count):
        name = f"{number:032x}"
        assert HASH_PATTERN.match(name)
        folder = os.path.join(root, "all", name)
        os.makedirs(folder)
        write_state(folder, RunState(hash=name, resource="all", status=status))


def best_of(repeats: int, function) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--dir")
    options = parser.parse_args()
    base = tempfile.mkdtemp(dir=options.dir)
    try:
        figures = {}
        for status in (tune.COMPLETED, tune.RUNNING):
            root = os.path.join(base, status.value)
            make_runs(root, options.runs, status)
            seconds = best_of(5, lambda root=root: tune.runs(root))
            shown = set(tune.runs(root)["status"])
            figures[status.value] = seconds
            print(
                f"runs() over {options.runs} runs that say {status.value:9s}: "
                f"{seconds * 1e3:7.1f} ms ({seconds / options.runs * 1e6:5.1f} us per run), "
                f"shown as {sorted(shown)}"
            )
        ratio = figures["running"] / figures["completed"]
        print(f"probing every run's lock costs {ratio:.2f}x the listing without probes")
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
