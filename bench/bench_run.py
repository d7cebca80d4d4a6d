"""Per-epoch overhead of ``tune.Run``: a no-op train step, one metric row reported and a tiny
save (a few bytes) every epoch, all durable, beside a bare loop that writes the same CSV line per
epoch (flushed, not synced). Epochs 1-100 and the last 100 are compared: flat means the cost
does not grow with the history. Then the durable primitives one epoch pays are timed alone, to
show where the time goes.

    python bench/bench_run.py [--epochs 10000] [--dir TMPDIR]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator

import phyper
from phyper import tune
from phyper._store import write_atomic


class Bench(phyper.Parser):
    seed = 0


def save_tiny(obj: int, path: str) -> None:
    with open(path, "wb") as stream:
        stream.write(b"weights:%08d" % obj)


def run_tune(folder: str, epochs: int) -> list[float]:
    instance = Bench(hashed_resources_folder=folder)
    stop = tune.max_epochs(epochs) | tune.patience("loss", epochs=epochs)
    stamps: list[float] = []
    with tune.Run(instance, stop=stop) as run:
        for epoch in run.epochs():
            stamps.append(time.perf_counter())
            run.report(loss=1.0 / epoch, accuracy=0.5)
            run.checkpoint(epoch, save_tiny)
        stamps.append(time.perf_counter())
    return [b - a for a, b in itertools.pairwise(stamps)]


def run_bare(folder: str, epochs: int) -> list[float]:
    os.makedirs(folder, exist_ok=True)
    stamps: list[float] = []
    with open(os.path.join(folder, "metrics.csv"), "a") as stream:
        stream.write("epoch,loss,accuracy\n")
        for epoch in range(1, epochs + 1):
            stamps.append(time.perf_counter())
            stream.write(f"{epoch},{1.0 / epoch!r},0.5\n")
            stream.flush()
        stamps.append(time.perf_counter())
    return [b - a for a, b in itertools.pairwise(stamps)]


def run_by_hand(folder: str, epochs: int, with_state: bool) -> list[float]:
    """The durable writes of an epoch, written out by hand with no bookkeeping: the checkpoint
    (temporary file, fsync, rename), the metric line (append, fsync) and, ``with_state``, what
    tune.Run also commits per epoch: a small state file (temporary, fsync, rename) and the
    removal of the checkpoint it replaced. Without it: the issue's floor, two durable writes."""
    checkpoints = os.path.join(folder, "checkpoints")
    os.makedirs(checkpoints, exist_ok=True)
    state_path = os.path.join(folder, "run.json")
    state = b"{" + b'"x": 1, ' * 80 + b'"y": 2}\n'  # about the size of run.json
    stamps: list[float] = []
    with open(os.path.join(folder, "metrics.csv"), "ab") as csv_stream:
        csv_stream.write(b"epoch,loss,accuracy\n")
        for epoch in range(1, epochs + 1):
            stamps.append(time.perf_counter())
            csv_stream.write(b"%d,%r,0.5\n" % (epoch, 1.0 / epoch))
            csv_stream.flush()
            name = os.path.join(checkpoints, f"epoch-{epoch}.ckpt")
            temporary = name + ".tmp"
            with open(temporary, "wb") as stream:
                stream.write(b"weights:%08d" % epoch)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, name)
            os.fsync(csv_stream.fileno())
            if with_state:
                with open(state_path + ".tmp", "wb") as stream:
                    stream.write(state)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(state_path + ".tmp", state_path)
                if epoch > 1:
                    os.unlink(os.path.join(checkpoints, f"epoch-{epoch - 1}.ckpt"))
        stamps.append(time.perf_counter())
    return [b - a for a, b in itertools.pairwise(stamps)]


def primitive(repeat: int, action: Callable[[int], None]) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        action(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def primitives(folder: str, repeat: int = 300) -> dict[str, float]:
    os.makedirs(folder, exist_ok=True)
    csv_stream = open(os.path.join(folder, "m.csv"), "ab")  # noqa: SIM115
    state = b"{" + b'"x": 1, ' * 80 + b'"y": 2}\n'  # about the size of run.json

    def checkpoint(i: int) -> None:
        temporary = os.path.join(folder, f".c{i}.tmp")
        with open(temporary, "wb") as stream:
            stream.write(b"weights:%08d" % i)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, os.path.join(folder, f"c{i}"))

    def folder_sync(i: int) -> None:
        fd = os.open(folder, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)

    def csv_append(i: int) -> None:
        csv_stream.write(b"%d,0.5,0.5\n" % i)
        csv_stream.flush()
        os.fsync(csv_stream.fileno())

    def state_write(i: int) -> None:
        write_atomic(os.path.join(folder, "run.json"), state + b"%d" % i)

    def remove(i: int) -> None:
        os.unlink(os.path.join(folder, f"c{i}"))

    figures = {
        "checkpoint: write + fsync + rename": primitive(repeat, checkpoint),
        "fsync of checkpoints/ (the rename)": primitive(repeat, folder_sync),
        "metrics.csv: append + fsync": primitive(repeat, csv_append),
        "run.json: write_atomic (fsync)": primitive(repeat, state_write),
        "old checkpoint: unlink": primitive(repeat, remove),
    }
    csv_stream.close()
    return figures


@contextlib.contextmanager
def fsync_disabled() -> Iterator[None]:
    """Make os.fsync a no-op: what remains is the loop's own cost (CPU, page cache)."""
    real = os.fsync
    os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = real


def count_fsyncs(folder: str, epochs: int) -> float:
    real = os.fsync
    calls = 0

    def counting(fd: int) -> None:
        nonlocal calls
        calls += 1
        real(fd)

    os.fsync = counting
    try:
        run_tune(folder, epochs)
    finally:
        os.fsync = real
    return (calls - 1) / epochs  # one is the metadata file phyper.json, written once


def summary(durations: list[float], start: int, stop: int) -> tuple[float, float]:
    window = durations[start:stop]
    return statistics.median(window) * 1e3, statistics.fmean(window) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10_000)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp folder)")
    options = parser.parse_args()
    base = tempfile.mkdtemp(prefix="phyper-bench-run-", dir=options.dir)
    try:
        n = options.epochs
        syncs = count_fsyncs(os.path.join(base, "count"), 50)
        tuned = run_tune(os.path.join(base, "tune"), n)
        with fsync_disabled():
            cpu = run_tune(os.path.join(base, "cpu"), n)
        bare = run_bare(os.path.join(base, "bare"), n)
        floor = run_by_hand(os.path.join(base, "floor"), n, with_state=False)
        same = run_by_hand(os.path.join(base, "same"), n, with_state=True)
        with fsync_disabled():
            same_cpu = run_by_hand(os.path.join(base, "same-cpu"), n, with_state=True)
        late = (max(0, n - 100), n)
        print(f"per-epoch time, ms ({n} epochs; median / mean)")
        print(f"{'loop':36s} {'epochs 1-100':>16s} {f'epochs {late[0] + 1}-{n}':>18s}")
        rows = (
            ("tune.Run, durable", tuned),
            ("tune.Run, fsync a no-op (CPU cost)", cpu),
            ("by hand: checkpoint + line, 2 fsyncs", floor),
            ("by hand: tune.Run's writes, 3 fsyncs", same),
            ("by hand: the same, fsync a no-op", same_cpu),
            ("bare loop, CSV line flushed", bare),
        )
        for name, durations in rows:
            early_median, early_mean = summary(durations, 0, 100)
            late_median, late_mean = summary(durations, *late)
            print(
                f"{name:36s} {early_median:7.3f} / {early_mean:6.3f} "
                f"{late_median:9.3f} / {late_mean:6.3f}"
            )
        overhead = statistics.median(tuned) - statistics.median(bare)
        print(f"{'overhead of tune.Run (median, all)':36s} {overhead * 1e3:7.3f}")
        median = statistics.median
        python_work = median(cpu) - median(same_cpu)
        print(
            f"Python work per epoch (tune.Run minus the same writes by hand, fsync a no-op): "
            f"{python_work * 1e3:.3f} ms (target 0.1)"
        )
        print(
            f"tune.Run / the issue's floor (checkpoint + line by hand): "
            f"{median(tuned) / median(floor):.2f}x (target 1.3x)"
        )
        print(f"tune.Run / the same 3 durable writes by hand: {median(tuned) / median(same):.2f}x")
        print(f"fsync calls per epoch: {syncs:.2f}")
        print()
        print("durable primitives alone, ms (median of 300)")
        figures = primitives(os.path.join(base, "primitives"))
        for name, value in figures.items():
            print(f"  {name:40s} {value:7.3f}")
        print(f"  {'sum':40s} {sum(figures.values()):7.3f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
