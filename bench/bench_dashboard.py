"""How the dashboard scales: stores of 1,000 to 100,000 run folders, with a study of a tenth as
many trials (10,000 at 100,000 runs), measured in the system's Chromium and in-process.

    python bench/bench_dashboard.py [--sizes 1000 10000 100000] [--repeat 3]

Printed per size:
- index: the server reading the store once at start (``tune.runs`` and every journal);
- overview: from navigation to the overview drawn with its data (the page's own mark), and
  the browser's first contentful paint;
- study: from navigation to the study page interactive (header, filterable and sortable table
  of every trial), and to its plots drawn (plotly.js parsed, best so far, parallel coordinates);
- live, server time of one update: a new epoch on an open run page (``metrics.csv`` read from
  the page's offset), a new trial on an open study page (the journal's new line and the
  answer to the page), a tick in which nothing changed (journals, running and waiting runs,
  new folders), and a tick with its share of the rolling sweep (1,000 finished runs).

The stores are written directly in the formats phyper writes (``run.json`` from
``RunState.to_bytes``, ``metrics.csv``, a study journal), without fsync, to save time; the
dashboard reads them exactly as it reads a real store.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

import xxhash

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from phyper.dashboard import Dashboard
from phyper.tune._state import RunState, Status
from tests.dashboard.live import LiveServer, launch

EPOCHS = 20
ACTIVATIONS = ("relu", "tanh", "gelu")


def run_hash(i: int) -> str:
    return xxhash.xxh3_128_hexdigest(f"run-{i}".encode())


def metrics(i: int, epochs: int = EPOCHS) -> bytes:
    rows = ["epoch,train_loss,validation_loss,validation_accuracy"]
    for epoch in range(1, epochs + 1):
        loss = 1.0 / (epoch + i % 7) + (i % 13) / 100
        rows.append(f"{epoch},{loss * 0.9!r},{loss!r},{1 - loss / 2!r}")
    return ("\n".join(rows) + "\n").encode()


def make_store(root: str, runs: int) -> dict[str, str]:
    """``runs`` finished run folders (ten waiting at a gate, one running) and a study of
    ``runs // 10`` trials over the first folders."""
    all_folder = os.path.join(root, "all")
    os.makedirs(all_folder)
    running = ""
    for i in range(runs):
        folder = os.path.join(all_folder, run_hash(i))
        os.mkdir(folder)
        data = metrics(i)
        status = Status.AWAITING_DECISION if i % (runs // 10) == 5 else Status.COMPLETED
        if i == runs - 1:
            status, running = Status.RUNNING, folder
        state = RunState(hash=run_hash(i), resource="all", status=status, epoch=EPOCHS,
                         metrics_bytes=len(data), monitor="validation_loss",
                         gate="review" if status is Status.AWAITING_DECISION else None,
                         best_epoch=EPOCHS, best_value=0.5)  # fmt: skip
        with open(os.path.join(folder, "run.json"), "wb") as stream:
            stream.write(state.to_bytes())
        with open(os.path.join(folder, "metrics.csv"), "wb") as stream:
            stream.write(data)
    study = os.path.join(root, "studies", "big")
    os.makedirs(study)
    definition = {"format": "phyper-study", "version": 1, "name": "big", "class": "Net",
                  "metric": "validation_loss", "direction": "minimize",
                  "space": {"learning_rate": {"log_uniform": [1e-4, 1e-1]},
                            "depth": {"integers": [1, 6, 1]},
                            "activation": {"choice": list(ACTIVATIONS)}}}  # fmt: skip
    with open(os.path.join(study, "study.json"), "w") as stream:
        json.dump(definition, stream)
    with open(os.path.join(study, "journal.jsonl"), "w") as stream:
        for n in range(runs // 10):
            stream.write(trial_events(n))
    return {"running": running, "study": study}


def trial_events(n: int) -> str:
    params = {"learning_rate": 10 ** -(1 + (n * 7919 % 3000) / 1000), "depth": 1 + n % 6,
              "activation": ACTIVATIONS[n % 3]}  # fmt: skip
    value = 0.3 + ((n * 104729) % 1000) / 1000
    start = {"event": "start", "trial": n, "hash": run_hash(n), "params": params, "at": "now"}
    state = "stopped_early" if n % 5 == 0 else "complete"
    end = {"event": state, "trial": n, "hash": run_hash(n), "value": value,
           "metrics": {"validation_loss": value}, "duration": 1.0, "at": "now"}  # fmt: skip
    return json.dumps(start) + "\n" + json.dumps(end) + "\n"


def median_ms(function, repeat: int = 20) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def server_times(root: str, store: dict[str, str]) -> dict[str, float]:
    dashboard = Dashboard(root)
    started = time.perf_counter()
    dashboard.index.load()
    figures = {"index_s": time.perf_counter() - started}
    running = store["running"]
    params = {"topic": "run", "hash": os.path.basename(running)}
    cursor = dashboard.poll({**params, "cursor": "0:0"})["cursor"]
    epoch = [EPOCHS]

    def new_epoch() -> None:
        nonlocal cursor
        epoch[0] += 1
        with open(os.path.join(running, "metrics.csv"), "ab") as stream:
            stream.write(f"{epoch[0]},0.1,0.2,0.9\n".encode())
        started = time.perf_counter()
        update = dashboard.poll({**params, "cursor": cursor})
        timings.append(time.perf_counter() - started)
        assert update is not None and len(update["metrics"]["rows"]) == 1
        cursor = update["cursor"]

    timings: list[float] = []
    for _ in range(20):
        new_epoch()
    figures["epoch_ms"] = statistics.median(timings) * 1000
    study = dashboard.index.studies["big"]
    version = str(study.version)
    trial = [len(study.trials)]
    timings = []
    for _ in range(20):
        with open(os.path.join(store["study"], "journal.jsonl"), "a") as stream:
            stream.write(trial_events(trial[0]))
        trial[0] += 1
        started = time.perf_counter()
        dashboard.index.refresh(sweep=False)  # the sweep's share of a tick is timed apart
        update = dashboard.poll({"topic": "study", "study": "big", "cursor": version})
        timings.append(time.perf_counter() - started)
        assert update is not None and len(update["trials"]) == 1
        version = update["cursor"]
    figures["trial_ms"] = statistics.median(timings) * 1000
    figures["idle_tick_ms"] = median_ms(lambda: dashboard.index.refresh(sweep=False))
    figures["sweep_tick_ms"] = median_ms(dashboard.index.refresh)
    return figures


def browser_times(root: str, repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {"overview_ms": [], "fcp_ms": [], "study_ms": [],
                                       "plots_ms": []}  # fmt: skip
    with LiveServer(root, start_timeout=1800) as server, sync_playwright() as playwright:
        browser = launch(playwright)
        for _ in range(repeat):
            context = browser.new_context()
            page = context.new_page()
            page.goto(server.url("/"))
            page.wait_for_function("window.phyperDrawn !== undefined", timeout=120_000)
            figures["overview_ms"].append(page.evaluate("window.phyperDrawn"))
            fcp = page.evaluate(
                "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
            )
            figures["fcp_ms"].append(fcp or float("nan"))
            page.goto(server.url("/study/big"))
            page.wait_for_function("window.phyperPlotted !== undefined", timeout=120_000)
            figures["study_ms"].append(page.evaluate("window.phyperDrawn"))
            figures["plots_ms"].append(page.evaluate("window.phyperPlotted"))
            context.close()
        browser.close()
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dir",
        default="/dev/shm" if os.path.isdir("/dev/shm") else None,
        help="where the stores are made (default: /dev/shm, in memory: the figures are those "
        "of a store in the page cache, as a store read often is)",
    )
    parser.add_argument("--server-only", action="store_true", help="no browser: the server times")
    options = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    header = (f"{'runs':>8} {'trials':>7} {'index s':>8} {'overview':>9} {'FCP':>6} "
              f"{'study':>7} {'plots':>7} {'epoch':>7} {'trial':>7} {'idle tick':>9} "
              f"{'sweep':>6}")  # fmt: skip
    print(header)
    print(f"{'':>8} {'':>7} {'':>8} {'ms':>9} {'ms':>6} {'ms':>7} {'ms':>7} {'ms':>7} {'ms':>7} "
          f"{'ms':>9} {'ms':>6}")  # fmt: skip
    for size in options.sizes:
        started = time.perf_counter()
        root = tempfile.mkdtemp(prefix=f"phyper-dashboard-{size}-", dir=options.dir)
        try:
            store = make_store(root, size)
            print(f"  (store of {size} runs written in {time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)  # fmt: skip
            server = server_times(root, store)
            nothing = dict.fromkeys(("overview_ms", "fcp_ms", "study_ms", "plots_ms"), math.nan)
            seen = nothing if options.server_only else browser_times(root, options.repeat)
            print(
                f"{size:>8} {size // 10:>7} {server['index_s']:>8.2f} {seen['overview_ms']:>9.0f} "
                f"{seen['fcp_ms']:>6.0f} {seen['study_ms']:>7.0f} {seen['plots_ms']:>7.0f} "
                f"{server['epoch_ms']:>7.2f} {server['trial_ms']:>7.2f} "
                f"{server['idle_tick_ms']:>9.2f} {server['sweep_tick_ms']:>6.1f}",
                flush=True,
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
