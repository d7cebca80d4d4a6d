"""The store as the dashboard sees it: read once at start, then only what changed.

- Runs: indexed at start by :func:`phyper.tune.runs`; afterwards a run folder is read again
  (through :func:`phyper.tune.load_result`, so its status is derived exactly as ``phyper runs``
  derives it) only when the size or modification time of its ``run.json`` changed. Runs that
  can still change by themselves (running, awaiting a decision, paused, interrupted, and any
  status a newer phyper adds) are checked on every tick; finished ones by a rolling sweep of
  ``SWEEP_CHUNK`` folders per tick; new folders when their resource folder's mtime moves.
- Studies: each journal is read from the offset reached last time, whole lines only (a line
  being written is left for the next tick), so a new trial costs the bytes of its events.
- Metric logs: read from a byte offset the page sends back, so a new epoch costs one row.

Nothing here writes to the store (unlike :meth:`phyper.tune.StudyView.read`, which cuts a torn
last journal line: a dashboard must not race the study's driver).

>>> import tempfile
>>> index = StoreIndex(tempfile.mkdtemp())
>>> index.load()
>>> index.overview()["runs"]
{'total': 0, 'by_status': {}}
"""

from __future__ import annotations

import bisect
import contextlib
import json
import math
import os
import threading
import time
import typing
from collections import Counter
from collections.abc import Iterable

from .._store import HASH_PATTERN, INFO_FILE, display_value, read_folder_info
from ..tune._errors import RunStateError
from ..tune._gate import read_decision
from ..tune._state import CHECKPOINTS, METRICS_FILE, STATE_FILE, read_state

STUDIES = "studies"
DEFINITION_FILE = "study.json"
JOURNAL_FILE = "journal.jsonl"
SWEEP_CHUNK = 1000  # finished run folders re-checked per tick (100,000 in 50 s)
FINAL = frozenset({"completed", "failed", "stopped", "unreadable"})
STOPPED_EARLY = "stopped_early"
FINISHED_TRIALS = frozenset({"complete", STOPPED_EARLY, "from_store"})
SPARK_POINTS = 60
ACTION_LOG = "on-decision-{gate}.log"

Signature = tuple[int, int]


def signature(path: str) -> Signature | None:
    """``(size, mtime_ns)`` of a file, or None if it does not exist."""
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return status.st_size, status.st_mtime_ns


def number(value: object) -> float | None:
    """A finite float for JSON, else None (JSON has no NaN or infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _cell(text: str) -> float | None:
    try:
        return number(float(text))
    except ValueError:
        return None


# ------------------------------------------------------------------------- metric logs


def tail_metrics(folder: str, offset: int = 0) -> dict[str, typing.Any]:
    """The whole lines of ``<folder>/metrics.csv`` from byte ``offset`` on: ``columns`` (when
    read from 0), ``rows`` (lists of numbers, the epoch first) and the new ``offset``. A file
    shorter than ``offset`` (a resumed run cut an uncommitted row) is read again from 0, and
    ``reset`` says so.

    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "metrics.csv"), "w") as f:
    ...     _ = f.write("epoch,loss\\n1,0.5\\n2,0.25\\n3,0.1")
    >>> tail = tail_metrics(folder)
    >>> tail["columns"], tail["rows"], tail["offset"]
    (['epoch', 'loss'], [[1.0, 0.5], [2.0, 0.25]], 24)
    >>> tail_metrics(folder, 24)["rows"]
    []
    """
    path = os.path.join(folder, METRICS_FILE)
    reset = False
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size < offset:
                offset, reset = 0, True
            stream.seek(offset)
            data = stream.read(size - offset)
    except FileNotFoundError:
        return {"columns": None, "rows": [], "offset": 0, "reset": offset > 0}
    end = data.rfind(b"\n")
    if end < 0:
        return {"columns": None, "rows": [], "offset": offset, "reset": reset}
    lines = data[: end + 1].decode("utf-8", "replace").splitlines()
    columns = None
    if offset == 0 and lines:
        columns = lines.pop(0).split(",")
    rows = [[_cell(cell) for cell in line.split(",")] for line in lines if line]
    return {"columns": columns, "rows": rows, "offset": offset + end + 1, "reset": reset}


def metric_curve(folder: str, metric: str | None) -> dict[str, typing.Any]:
    """``{"metric", "epochs", "values"}`` of one metric of a run (the first one if ``metric``
    is None or absent)."""
    tail = tail_metrics(folder)
    columns = tail["columns"] or ["epoch"]
    if metric not in columns[1:]:
        metric = columns[1] if len(columns) > 1 else None
    if metric is None:
        return {"metric": None, "epochs": [], "values": []}
    at = columns.index(metric)
    rows = [r for r in tail["rows"] if len(r) > at]
    return {"metric": metric, "epochs": [r[0] for r in rows], "values": [r[at] for r in rows]}


# ---------------------------------------------------------------------------- studies


class StudyData:
    """One study, from its definition and its journal read incrementally (the same events
    :func:`phyper.tune._study.replay_events` replays, applied one at a time)."""

    def __init__(self, root: str, name: str) -> None:
        self.name = name
        self.folder = os.path.join(root, STUDIES, name)
        with open(os.path.join(self.folder, DEFINITION_FILE), encoding="utf-8") as stream:
            definition = json.load(stream)
        self.metric = str(definition.get("metric"))
        self.direction = str(definition.get("direction", "minimize"))
        self.param_names = [str(n) for n in definition.get("space", {})]
        self.offset = 0
        self.trials: list[dict[str, typing.Any]] = []
        self._by_number: dict[int, dict[str, typing.Any]] = {}
        self.awaiting: str | None = None
        self.awaiting_note: str | None = None
        self.awaiting_since: str | None = None
        self.stopped: str | None = None
        self.decided: list[dict[str, typing.Any]] = []
        self.version = 0
        self._changes: list[tuple[int, int]] = []  # (version, trial number), versions ascending
        self._spark: tuple[int, list[float | None]] | None = None
        # kept up to date event by event, so that a new trial costs O(1), not O(trials)
        self.states: Counter[str] = Counter()
        self._best: dict[str, typing.Any] | None = None

    def update(self) -> bool:
        """Read the journal's new whole lines; True if anything changed."""
        path = os.path.join(self.folder, JOURNAL_FILE)
        try:
            with open(path, "rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                if size < self.offset:  # rewritten from the start: read it all again
                    StudyData.__init__(
                        self, os.path.dirname(os.path.dirname(self.folder)), self.name
                    )
                if size == self.offset:
                    return False
                stream.seek(self.offset)
                data = stream.read(size - self.offset)
        except FileNotFoundError:
            return False
        end = data.rfind(b"\n")
        if end < 0:
            return False
        self.offset += end + 1
        self.version += 1
        for line in data[: end + 1].splitlines():
            try:
                event = json.loads(line)
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # a damaged line: `phyper study show` reports it; the page goes on
            if isinstance(event, dict):
                self._apply(event)
        return True

    def _apply(self, event: dict[str, typing.Any]) -> None:
        kind = event.get("event")
        if kind in ("start", "from_store"):
            trial: dict[str, typing.Any] = {
                "number": int(event["trial"]),
                "hash": str(event.get("hash")),
                "state": "running" if kind == "start" else "from_store",
                "value": number(event.get("value")),
                "params": {
                    str(n): display_value(v) for n, v in (event.get("params") or {}).items()
                },
                "duration": None,
                "error": None,
            }
            if trial["number"] not in self._by_number:
                self.trials.append(trial)
            else:  # started again (a resumed driver): rare, so counted again in full
                self.trials[self.trials.index(self._by_number[trial["number"]])] = trial
            self._by_number[trial["number"]] = trial
            self._recount(trial, None)
            self._changes.append((self.version, trial["number"]))
        elif kind in ("complete", STOPPED_EARLY, "failed") or (
            # a state a newer study writes (e.g. paused): shown as it is named
            "trial" in event and kind not in ("await", "decided")
        ):
            found = self._by_number.get(int(event["trial"]))
            if found is None:
                return
            trial = found
            before = trial["state"]
            trial["state"] = str(kind)
            trial["value"] = number(event.get("value"))
            trial["error"] = event.get("error")
            trial["duration"] = number(event.get("duration"))
            self._changes.append((self.version, trial["number"]))
            self._recount(trial, before)
        elif kind == "await":
            self.awaiting = str(event.get("gate"))
            self.awaiting_note = event.get("note")
            self.awaiting_since = event.get("at")
        elif kind == "decided":
            self.awaiting = self.awaiting_note = self.awaiting_since = None
            self.decided.append({k: event.get(k) for k in ("gate", "decision", "note", "at")})
            if event.get("decision") == "no-go":
                self.stopped = f"no-go at gate {event.get('gate')}: {event.get('note') or ''}"

    def _recount(self, trial: dict[str, typing.Any], before: str | None) -> None:
        if before is None and len(self.states) and sum(self.states.values()) >= len(self.trials):
            # a trial number seen before was replaced: count everything again
            self.states = Counter(t["state"] for t in self.trials)
            self._best = None
            for t in self.trials:
                self._consider(t)
            return
        if before is not None:
            self.states[before] -= 1
            if not self.states[before]:
                del self.states[before]
        self.states[trial["state"]] += 1
        self._consider(trial)

    def _consider(self, trial: dict[str, typing.Any]) -> None:
        value = trial["value"]
        if trial["state"] not in FINISHED_TRIALS or value is None:
            return
        best = self._best
        lower = self.direction == "minimize"
        if (
            best is None
            or (value < best["value"] if lower else value > best["value"])
            or (value == best["value"] and trial["number"] < best["number"])
        ):
            self._best = trial

    def changed_since(self, version: int) -> list[dict[str, typing.Any]]:
        """The trials started or finished after ``version`` (each once)."""
        start = bisect.bisect_right(self._changes, (version, math.inf))
        numbers = dict.fromkeys(n for _, n in self._changes[start:])
        return [self._by_number[n] for n in numbers]

    def best(self) -> dict[str, typing.Any] | None:
        """The best finished trial (of equals, the lowest number), or None."""
        return self._best

    def best_so_far(self) -> list[float | None]:
        """The best finished value after each trial, in trial order."""
        out: list[float | None] = []
        best: float | None = None
        lower = self.direction == "minimize"
        for t in self.trials:
            value = t["value"]
            if (
                t["state"] in FINISHED_TRIALS
                and value is not None
                and (best is None or (value < best if lower else value > best))
            ):
                best = value
            out.append(best)
        return out

    def sparkline(self) -> list[float | None]:
        if self._spark is None or self._spark[0] != self.version:
            series = self.best_so_far()
            if len(series) > SPARK_POINTS:  # the curve's shape, a point per bucket's end
                step = len(series) / SPARK_POINTS
                series = [series[min(len(series) - 1, int((i + 1) * step) - 1)]
                          for i in range(SPARK_POINTS)]  # fmt: skip
            self._spark = (self.version, series)
        return self._spark[1]

    def summary(self, awaiting_trials: int = 0, sparkline: bool = True) -> dict[str, typing.Any]:
        best = self.best()
        return {
            "name": self.name,
            "metric": self.metric,
            "direction": self.direction,
            "trials": len(self.trials),
            "states": dict(self.states),
            "best_value": best["value"] if best else None,
            "best_trial": best["number"] if best else None,
            "best_hash": best["hash"] if best else None,
            "sparkline": self.sparkline() if sparkline else None,
            "awaiting": self.awaiting,
            "awaiting_note": self.awaiting_note,
            "awaiting_trials": awaiting_trials,
            "stopped": self.stopped,
        }


# ------------------------------------------------------------------------------- runs


RUN_FIELDS = ("status", "epoch", "best_epoch", "best_value", "monitor", "stopped_by", "gate",
              "reason")  # fmt: skip


def _run_row(resource: str, folder: str) -> dict[str, typing.Any] | None:
    """One run's row, from :func:`phyper.tune.load_result` (None: the folder holds no run)."""
    from ..tune import load_result

    name = os.path.basename(folder)
    try:
        result = load_result(folder)
    except RunStateError as error:
        if not os.path.isfile(os.path.join(folder, STATE_FILE)):
            return None
        return {"hash": name, "resource": resource, "status": "unreadable", "reason": str(error),
                "epoch": None, "best_epoch": None, "best_value": None, "monitor": None,
                "stopped_by": None, "gate": None}  # fmt: skip
    return {
        "hash": result.hash,
        "resource": resource,
        "status": str(result.status),
        "epoch": result.epochs,
        "best_epoch": result.best_epoch,
        "best_value": number(result.best_value),
        "monitor": result.monitor,
        "stopped_by": result.stopped_by,
        "gate": result.gate,
        "reason": result.reason or result.error,
    }


class StoreIndex:
    """Everything the pages show, kept up to date by :meth:`refresh` (called every tick by the
    server's background thread). Thread-safe: readers and the refresher share one lock."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.lock = threading.RLock()
        self.runs: dict[str, dict[str, typing.Any]] = {}  # folder -> row
        self._hot: set[str] = set()  # folders of runs not in a final status
        self._signatures: dict[str, Signature | None] = {}
        self._resource_mtimes: dict[str, int] = {}
        self._sweep: list[str] = []
        self._sweep_at = 0
        self.studies: dict[str, StudyData] = {}
        self._studies_mtime: int | None = None
        self.version = 0
        self._trial_studies: dict[str, list[str]] | None = None
        self._counts: tuple[int, dict[str, int]] | None = None
        self._params: dict[str, tuple[Signature | None, dict[str, typing.Any]]] = {}
        self.last_refresh_seconds = 0.0
        self.load_seconds = 0.0

    # ------------------------------------------------------------------ reading it all once

    def load(self) -> None:
        """Index the whole store (once, at start)."""
        from ..tune import runs

        started = time.perf_counter()
        with self.lock:
            signatures: dict[str, Signature | None] = {}
            for _, folder in self._run_folders():
                signatures[folder] = signature(os.path.join(folder, STATE_FILE))
            frame = runs(self.root) if os.path.isdir(self.root) else None
            rows: dict[str, dict[str, typing.Any]] = {}
            if frame is not None:
                for record in frame.to_dict("records"):
                    row: dict[str, typing.Any] = {
                        name: record.get(name) for name in ("hash", "resource", *RUN_FIELDS)
                    }
                    for name in ("epoch", "best_epoch"):
                        row[name] = None if _missing(row[name]) else int(row[name])
                    row["best_value"] = number(row["best_value"])
                    for name in ("monitor", "stopped_by", "gate", "reason"):
                        row[name] = None if _missing(row[name]) else str(row[name])
                    rows[str(record["folder"])] = row
            self.runs = {_abs(self.root, f): r for f, r in rows.items()}
            self._hot = {f for f, r in self.runs.items() if r["status"] not in FINAL}
            self._signatures = {f: signatures.get(f) for f in self.runs}
            self._sweep = sorted(self.runs)
            self._refresh_studies()
            self.version += 1
        self.load_seconds = time.perf_counter() - started

    def _run_folders(self) -> Iterable[tuple[str, str]]:
        """``(resource, folder)`` of every hash folder holding a ``run.json``."""
        if not os.path.isdir(self.root):
            return
        for resource in sorted(os.listdir(self.root)):
            parent = os.path.join(self.root, resource)
            if resource == STUDIES or os.path.islink(parent) or not os.path.isdir(parent):
                continue
            with contextlib.suppress(OSError):
                self._resource_mtimes[parent] = os.stat(parent).st_mtime_ns
            for name in os.listdir(parent):
                folder = os.path.join(parent, name)
                if HASH_PATTERN.match(name) and os.path.isfile(os.path.join(folder, STATE_FILE)):
                    yield resource, folder

    # ------------------------------------------------------------------------ one tick

    def refresh(self, sweep: bool = True) -> bool:
        """Read what changed since the last tick; True if anything did. ``sweep``: also check
        the next ``SWEEP_CHUNK`` finished runs (a constant cost per tick)."""
        started = time.perf_counter()
        with self.lock:
            changed = self._refresh_studies()
            changed |= self._refresh_new_folders()
            hot = sorted(self._hot)
            chunk: list[str] = []
            if sweep:
                chunk = self._sweep[self._sweep_at : self._sweep_at + SWEEP_CHUNK]
                self._sweep_at = self._sweep_at + SWEEP_CHUNK
                if self._sweep_at >= len(self._sweep):
                    self._sweep_at = 0
            for folder in dict.fromkeys(hot + chunk):
                changed |= self._check_run(folder, always=folder in self.runs and
                                           self.runs[folder]["status"] == "running")  # fmt: skip
            if changed:
                self.version += 1
                self._counts = None
        self.last_refresh_seconds = time.perf_counter() - started
        return changed

    def touch_run(self, folder: str) -> None:
        """Read one run again now (after the dashboard itself decided for it)."""
        with self.lock:
            if self._check_run(folder, always=True):
                self.version += 1
                self._counts = None

    def _check_run(self, folder: str, always: bool = False) -> bool:
        # a running run's status can change with no file changing (its process died): the
        # reader derives that, so a running run is read on every tick
        now = signature(os.path.join(folder, STATE_FILE))
        if not always and folder in self._signatures and now == self._signatures[folder]:
            return False
        self._signatures[folder] = now
        resource = os.path.basename(os.path.dirname(folder))
        row = _run_row(resource, folder) if now is not None else None
        if row is None:
            self._hot.discard(folder)
            return self.runs.pop(folder, None) is not None
        if self.runs.get(folder) == row:
            return False
        if folder not in self.runs:
            self._sweep.append(folder)
        self.runs[folder] = row
        if row["status"] in FINAL:
            self._hot.discard(folder)
        else:
            self._hot.add(folder)
        return True

    def _refresh_new_folders(self) -> bool:
        changed = False
        if not os.path.isdir(self.root):
            return False
        for resource in os.listdir(self.root):
            parent = os.path.join(self.root, resource)
            if resource == STUDIES or os.path.islink(parent) or not os.path.isdir(parent):
                continue
            mtime = os.stat(parent).st_mtime_ns
            if self._resource_mtimes.get(parent) == mtime:
                continue
            self._resource_mtimes[parent] = mtime
            for name in os.listdir(parent):
                folder = os.path.join(parent, name)
                if folder not in self.runs and HASH_PATTERN.match(name):
                    changed |= self._check_run(folder)
        return changed

    def _refresh_studies(self) -> bool:
        parent = os.path.join(self.root, STUDIES)
        changed = False
        mtime = signature(parent)
        if mtime is not None and mtime[1] != self._studies_mtime:
            self._studies_mtime = mtime[1]
            for name in sorted(os.listdir(parent)):
                if name not in self.studies and os.path.isfile(
                    os.path.join(parent, name, DEFINITION_FILE)
                ):
                    try:
                        self.studies[name] = StudyData(self.root, name)
                    except (OSError, ValueError):
                        continue  # half-written definition: next tick
                    changed = True
        for study in self.studies.values():
            if study.update():
                changed = True
                self._trial_studies = None
        return changed

    # ------------------------------------------------------------------------- views

    def status_counts(self) -> dict[str, int]:
        with self.lock:
            # counted again only after a change (a tick with changes bumps the version)
            if self._counts is None or self._counts[0] != self.version:
                counts = Counter(row["status"] for row in self.runs.values())
                self._counts = (self.version, dict(sorted(counts.items())))
            return self._counts[1]

    def studies_of(self, run_hash: str) -> list[str]:
        """The studies having ``run_hash`` as a trial."""
        with self.lock:
            if self._trial_studies is None:
                mapping: dict[str, list[str]] = {}
                for study in self.studies.values():
                    for trial in study.trials:
                        mapping.setdefault(trial["hash"], []).append(study.name)
                self._trial_studies = mapping
            return list(self._trial_studies.get(run_hash, []))

    def awaiting_runs(
        self, statuses: frozenset[str] = frozenset({"awaiting_decision"})
    ) -> list[tuple[str, dict[str, typing.Any]]]:
        """``(folder, row)`` of the runs awaiting a decision (among the few not finished), or
        in one of ``statuses``."""
        with self.lock:
            rows = ((f, self.runs[f]) for f in sorted(self._hot))
            return [(f, r) for f, r in rows if r["status"] in statuses]

    def overview(self) -> dict[str, typing.Any]:
        with self.lock:
            awaiting = self.awaiting_runs()
            by_study = Counter(s for _, r in awaiting for s in self.studies_of(r["hash"]))
            studies = [
                self.studies[name].summary(by_study.get(name, 0)) for name in sorted(self.studies)
            ]
            waiting = len(awaiting) + sum(1 for s in self.studies.values() if s.awaiting)
            return {
                "root": self.root,
                "version": self.version,
                "studies": studies,
                "runs": {"total": len(self.runs), "by_status": self.status_counts()},
                "decisions_waiting": waiting,
            }

    def hyperparameters(self, folder: str) -> dict[str, typing.Any]:
        """The key hyperparameters in a folder's metadata file (cached by size and mtime)."""
        sig = signature(os.path.join(folder, INFO_FILE))
        cached = self._params.get(folder)
        if cached is not None and cached[0] == sig:
            return cached[1]
        resource = os.path.basename(os.path.dirname(folder))
        try:
            document = read_folder_info(folder, resource, os.path.basename(folder))
            params = {k: display_value(v) for k, v in document["hyperparameters"].items()}
        except (OSError, ValueError, KeyError):
            params = {}
        self._params[folder] = (sig, params)
        return params

    def queue(self) -> dict[str, typing.Any]:
        """Every run and study awaiting a decision."""
        with self.lock:
            awaiting = sorted(self.awaiting_runs(), key=lambda item: item[0])
            studies = [s for s in self.studies.values() if s.awaiting]
            version = self.version
        items: list[dict[str, typing.Any]] = []
        for folder, row in awaiting:
            state = _safe_state(folder)
            items.append(
                {
                    "kind": "run",
                    "hash": row["hash"],
                    "resource": row["resource"],
                    "gate": row["gate"],
                    "epoch": row["epoch"],
                    "reason": row["reason"],
                    "gate_note": state.gate_note if state else None,
                    "since": state.updated if state else None,
                    "monitor": row["monitor"],
                    "hyperparameters": self.hyperparameters(folder),
                    "studies": self.studies_of(row["hash"]),
                    "decision": decision_of(folder, row["gate"]),
                }
            )
        for study in studies:
            items.append(
                {
                    "kind": "study",
                    "study": study.name,
                    "gate": study.awaiting,
                    "reason": study.awaiting_note,
                    "since": study.awaiting_since,
                    "trials": len(study.trials),
                    "best_value": (study.best() or {}).get("value"),
                    "metric": study.metric,
                    "decision": decision_of(study.folder, study.awaiting),
                }
            )
        return {"version": version, "items": items}

    def peers(
        self, folder: str, metric: str | None, limit: int = 24
    ) -> list[dict[str, typing.Any]]:
        """Curves to compare a run with: its study's other trials, else the runs of its
        resource that differ from it in exactly one key hyperparameter."""
        run_hash = os.path.basename(folder)
        resource_folder = os.path.dirname(folder)
        peers: list[tuple[str, str]] = []
        for name in self.studies_of(run_hash):
            study = self.studies[name]
            finished = [t for t in study.trials if t["hash"] != run_hash]
            finished.sort(key=lambda t: (t["value"] is None, t["value"] or 0.0))
            peers += [(t["hash"], f"{name} trial {t['number']}") for t in finished[:limit]]
        if not peers:
            mine = self.hyperparameters(folder)
            with self.lock:
                others = [f for f in self.runs if os.path.dirname(f) == resource_folder]
            for other in others:
                if other == folder:
                    continue
                theirs = self.hyperparameters(other)
                differ = [k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k)]
                if len(differ) == 1:
                    peers.append(
                        (os.path.basename(other), f"{differ[0]}={theirs.get(differ[0])!s}")
                    )
                if len(peers) >= limit:
                    break
        curves = []
        for peer_hash, label in peers[:limit]:
            curve = metric_curve(os.path.join(resource_folder, peer_hash), metric)
            if curve["epochs"]:
                curves.append({"hash": peer_hash, "label": label, **curve})
        return curves

    def run_detail(self, folder: str) -> dict[str, typing.Any] | None:
        """Everything the run page shows but the metric rows."""
        with self.lock:
            row = self.runs.get(folder)
        if row is None:
            row = _run_row(os.path.basename(os.path.dirname(folder)), folder)
            if row is None:
                return None
        state = _safe_state(folder)
        checkpoints = []
        with (
            contextlib.suppress(FileNotFoundError, NotADirectoryError),
            os.scandir(os.path.join(folder, CHECKPOINTS)) as entries,
        ):
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                    continue
                checkpoints.append(
                    {
                        "name": entry.name,
                        "bytes": entry.stat().st_size,
                        "last": bool(state and entry.name == state.checkpoint),
                        "best": bool(state and entry.name == state.best_checkpoint),
                    }
                )
        decisions = []
        gates = set(state.decided_gates if state else []) | ({row["gate"]} - {None})
        with contextlib.suppress(OSError):
            for name in os.listdir(folder):
                if name.startswith("decision-") and name.endswith(".json"):
                    gates.add(name[len("decision-") : -len(".json")])
        for gate in sorted(gates):
            decision = decision_of(folder, gate)
            decisions.append(
                {"gate": gate, "decision": decision, "action": action_log(folder, gate)}
            )
        return {
            **row,
            "folder": folder,
            "created": state.created if state else None,
            "updated": state.updated if state else None,
            "elapsed_seconds": state.elapsed_seconds if state else None,
            "gate_note": state.gate_note if state else None,
            "error": state.error if state else None,
            "mode": state.mode if state else None,
            "hyperparameters": self.hyperparameters(folder),
            "checkpoints": checkpoints,
            "decisions": decisions,
            "studies": self.studies_of(os.path.basename(folder)),
        }

    def study_detail(self, name: str) -> dict[str, typing.Any] | None:
        with self.lock:
            study = self.studies.get(name)
            if study is None:
                return None
            awaiting = Counter(
                s for _, r in self.awaiting_runs() for s in self.studies_of(r["hash"])
            )
            return {
                **study.summary(awaiting.get(name, 0)),
                "param_names": study.param_names,
                "trials_list": [dict(t) for t in study.trials],
                "version": study.version,
                "decided": list(study.decided),
                "decision": decision_of(study.folder, study.awaiting) if study.awaiting else None,
            }

    def study_curves(self, name: str, limit: int = 300) -> dict[str, typing.Any] | None:
        """The study metric's learning curves of up to ``limit`` trials: the best half and the
        latest half (all of them in a smaller study)."""
        with self.lock:
            study = self.studies.get(name)
            if study is None:
                return None
            trials = [dict(t) for t in study.trials]
            metric = study.metric
        chosen = trials
        if len(trials) > limit:
            scored = sorted(
                (t for t in trials if t["value"] is not None),
                key=lambda t: t["value"],
                reverse=study.direction == "maximize",
            )
            picked = {t["number"]: t for t in scored[: limit // 2]}
            for t in reversed(trials):
                if len(picked) >= limit:
                    break
                picked.setdefault(t["number"], t)
            chosen = sorted(picked.values(), key=lambda t: t["number"])
        all_folder = os.path.join(self.root, "all")
        curves = []
        for t in chosen:
            if not HASH_PATTERN.match(t["hash"]):
                continue
            curve = metric_curve(os.path.join(all_folder, t["hash"]), metric)
            curves.append({"number": t["number"], "hash": t["hash"], "state": t["state"],
                           "epochs": curve["epochs"], "values": curve["values"]})  # fmt: skip
        return {"metric": metric, "shown": len(curves), "trials": len(trials), "curves": curves}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _abs(root: str, folder: str) -> str:
    return folder if os.path.isabs(folder) else os.path.join(root, os.path.relpath(folder, root))


def _safe_state(folder: str) -> typing.Any:
    try:
        return read_state(folder)
    except RunStateError:
        return None


def decision_of(folder: str, gate: str | None) -> dict[str, typing.Any] | None:
    """The recorded decision for ``gate`` (decision, by, when, note), or None."""
    if not gate:
        return None
    try:
        document = read_decision(folder, gate)
    except RunStateError as error:
        return {"decision": "unreadable", "note": str(error), "by": None, "decided_at": None}
    if document is None:
        return None
    return {k: document.get(k) for k in ("decision", "by", "decided_at", "note")}


def action_log(folder: str, gate: str) -> dict[str, typing.Any] | None:
    """The ``--on-decision`` log of a gate: its last lines."""
    path = os.path.join(folder, ACTION_LOG.format(gate=gate))
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            stream.seek(max(0, size - 4000))
            text = stream.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None
    return {"log": os.path.basename(path), "tail": text}
