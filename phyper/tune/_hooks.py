"""Hooks: code the loop calls at fixed moments, one small base class per moment.

Every method takes keyword arguments only, plus ``**future_kwargs``: when a later phyper passes
more arguments, a hook written today keeps working. A class may inherit several bases.

>>> class PrintLoss(EpochEndHook):
...     def on_epoch_end(self, *, epoch, metrics, **future_kwargs):
...         print(epoch, metrics["loss"])
>>> PrintLoss().on_epoch_end(run=None, epoch=3, metrics={"loss": 0.5}, history=None, phase="x")
3 0.5
"""

from __future__ import annotations

import csv
import io
import os
import sys
import typing

from ._errors import RunStateError

if typing.TYPE_CHECKING:
    from ._conditions import History
    from ._run import Run, RunResult


class Hook:
    """Common base of every hook (the loop accepts nothing else as a hook)."""


class RunStartHook(Hook):
    """Called once per session when the run starts (``epoch`` is the last durable one)."""

    def on_run_start(
        self, *, run: Run, instance: object, epoch: int, resumed: bool, **future_kwargs: object
    ) -> None:
        pass


class EpochEndHook(Hook):
    """Called by ``run.report(...)``, after the row is logged and the stop conditions ran."""

    def on_epoch_end(
        self,
        *,
        run: Run,
        epoch: int,
        metrics: dict[str, float],
        history: History,
        **future_kwargs: object,
    ) -> None:
        pass


class CheckpointHook(Hook):
    """Called when a checkpoint file is in place (before the epoch is committed)."""

    def on_checkpoint(
        self, *, run: Run, epoch: int, path: str, is_best: bool, **future_kwargs: object
    ) -> None:
        pass


class StopHook(Hook):
    """Called when ``run.epochs()`` ends without an error: a condition or a gate fired, or the
    run was already finished. The outcome is committed before: if the hook raises, the run
    keeps it, and the hook's error is raised as :class:`HookError` on its own."""

    def on_stop(self, *, run: Run, result: RunResult, **future_kwargs: object) -> None:
        pass


class FailureHook(Hook):
    """Called when the body of the run raised (the run is marked failed, the error propagates);
    also on Ctrl-C, with the ``KeyboardInterrupt`` as ``error`` (the run is then marked
    interrupted, not failed)."""

    def on_failure(
        self, *, run: Run, epoch: int, error: BaseException, **future_kwargs: object
    ) -> None:
        pass


MOMENTS: dict[str, type[Hook]] = {
    "on_run_start": RunStartHook,
    "on_epoch_end": EpochEndHook,
    "on_checkpoint": CheckpointHook,
    "on_stop": StopHook,
    "on_failure": FailureHook,
}


class ProgressBar(RunStartHook, EpochEndHook, StopHook, FailureHook):
    """A tqdm bar over the epochs, with the last metrics; shown only when stderr is a terminal
    (``enabled=None``), so logs of batch jobs stay clean. Its total is the stop condition's
    ``max_epochs`` when known."""

    def __init__(self, *, enabled: bool | None = None, file: typing.TextIO | None = None) -> None:
        self.enabled = enabled
        self.file = file
        self.bar: typing.Any = None

    def on_run_start(self, *, run: Run, epoch: int, **future_kwargs: object) -> None:
        stream = self.file if self.file is not None else sys.stderr
        shown = self.enabled if self.enabled is not None else stream.isatty()
        if not shown:
            return
        from tqdm import tqdm

        total = run.stop.epoch_limit() if run.stop is not None else None
        self.bar = tqdm(total=total, initial=epoch, file=stream, unit="epoch", dynamic_ncols=True)

    def on_epoch_end(self, *, metrics: dict[str, float], **future_kwargs: object) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)
            self.bar.update(1)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_stop(self, **future_kwargs: object) -> None:
        self._close()

    def on_failure(self, **future_kwargs: object) -> None:
        self._close()


class MetricLog(EpochEndHook):
    """The run's metric log, ``metrics.csv``: header ``epoch,<metrics in first-report order>``,
    one row per epoch, appended and flushed as it is reported, so pandas or ``phyper collect``
    can read it at any moment while training goes on.

    Every run installs one (first, before user hooks). Values are written with ``repr``, which
    round-trips floats exactly, so a resumed run reads back the very history it wrote. The run's
    state records the file's length at each committed epoch; a resumed run truncates the file to
    it, so rows of epochs that were replayed appear once.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.columns: tuple[str, ...] = ()
        self.started = False  # the header is written (it may name no metric at all)
        self.size = 0
        self._stream: typing.BinaryIO | None = None

    def load(self, committed_bytes: int, committed_epochs: int) -> list[dict[str, float]]:
        """Truncate the log to the committed length and return its rows (epoch 1 first)."""
        folder = os.path.dirname(self.path)
        try:
            with open(self.path, "r+b") as stream:
                size = os.fstat(stream.fileno()).st_size
                if size < committed_bytes:
                    raise RunStateError(
                        f"{self.path!r} in run folder {folder!r} has {size} bytes but the "
                        f"committed state recorded {committed_bytes}: metric rows were lost "
                        "(restore the file, or delete the folder to train from scratch)"
                    )
                if size > committed_bytes:
                    # rows of epochs that were never committed: they are replayed
                    stream.truncate(committed_bytes)
                stream.seek(0)
                text = stream.read(committed_bytes).decode("utf-8")
        except FileNotFoundError:
            if committed_bytes:
                raise RunStateError(
                    f"{self.path!r} is missing but run folder {folder!r} committed "
                    f"{committed_epochs} epoch(s) of metrics; expected the file to exist"
                ) from None
            text = ""
        self.size = committed_bytes
        rows = self._parse(text, committed_epochs)
        return rows

    def _parse(self, text: str, committed_epochs: int) -> list[dict[str, float]]:
        self.started = bool(text)
        if not text:
            self.columns = ()
            if committed_epochs:
                raise RunStateError(
                    f"{self.path!r} is empty but its run committed {committed_epochs} epoch(s)"
                )
            return []
        records = list(csv.reader(io.StringIO(text)))
        header, body = records[0], records[1:]
        if not header or header[0] != "epoch":
            raise RunStateError(f"{self.path!r} does not start with an 'epoch,...' header")
        self.columns = tuple(header[1:])
        rows: list[dict[str, float]] = []
        for number, record in enumerate(body, start=1):
            if len(record) != len(header) or record[0] != str(number):
                raise RunStateError(
                    f"{self.path!r}: line {number + 1} is {record!r}, expected epoch {number} "
                    f"with {len(header)} fields"
                )
            try:
                rows.append(
                    {c: float(v) for c, v in zip(self.columns, record[1:], strict=True) if v != ""}
                )
            except ValueError as error:
                raise RunStateError(f"{self.path!r}: line {number + 1}: {error}") from None
        if len(rows) != committed_epochs:
            raise RunStateError(
                f"{self.path!r} holds {len(rows)} epoch row(s) but its run committed "
                f"{committed_epochs}"
            )
        return rows

    def start(self, columns: typing.Iterable[str]) -> None:
        """Fix the header (at the first report of a fresh log)."""
        self.columns = tuple(columns)
        self.started = True
        self._write(",".join(("epoch", *self.columns)) + "\n")

    def on_epoch_end(
        self, *, epoch: int, metrics: dict[str, float], **future_kwargs: object
    ) -> None:
        if not self.started:
            self.start(metrics)
        cells = [str(epoch)]
        cells.extend(_cell(metrics.get(column)) for column in self.columns)
        self._write(",".join(cells) + "\n")

    def _write(self, line: str) -> None:
        if self._stream is None:
            self._stream = typing.cast(typing.BinaryIO, open(self.path, "ab"))  # noqa: SIM115
        data = line.encode("utf-8")
        self._stream.write(data)
        # flushed to the OS, so readers see whole rows at once; fsync happens at commit time
        self._stream.flush()
        self.size += len(data)

    def sync(self) -> int:
        """Flush the log to disk and return its length (what the state records)."""
        if self._stream is not None:
            os.fsync(self._stream.fileno())
        return self.size

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def _cell(value: float | None) -> str:
    # repr round-trips every float exactly, nan and inf included ("nan", "inf" parse back)
    return "" if value is None else repr(value)


def read_rows(path: str, committed_bytes: int, committed_epochs: int) -> list[dict[str, float]]:
    """The committed rows of a metric log, without changing the file (for readers)."""
    log = MetricLog(path)
    try:
        with open(path, "rb") as stream:
            text = stream.read(committed_bytes).decode("utf-8")
    except FileNotFoundError:
        text = ""
    if len(text.encode("utf-8")) < committed_bytes:
        raise RunStateError(
            f"{path!r} has fewer bytes than the {committed_bytes} its run committed: metric "
            "rows were lost"
        )
    return log._parse(text, committed_epochs)
