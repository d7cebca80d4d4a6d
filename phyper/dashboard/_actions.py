"""``--on-decision CMD``: run the operator's command once per recorded decision.

A decision counts when its gate is still awaited (the run's status is ``awaiting_decision`` at
that gate, or the study awaits it) and a ``decision-<gate>.json`` exists, whoever wrote it (this
dashboard, another one, ``phyper decide``). The command's log ``on-decision-<gate>.log`` is
created exclusively in the run's (or study's) folder before the command starts: its existence
is the "already done" mark, so two dashboards over one store never both run it.

Only ``CMD``, given by whoever started the dashboard, is ever run. Of what the store holds only
four values are put into it, each checked (a 32-hex hash, a study or gate name of letters,
digits, ``_ . -``, ``go``/``no-go``) and shell-quoted besides.

>>> fill("train --hash {hash} --why {decision}", hash="ab" * 16, decision="no-go")
'train --hash abababababababababababababababab --why no-go'
>>> fill("echo {study}", study="x; rm -rf /")  # doctest: +ELLIPSIS
Traceback (most recent call last):
phyper.dashboard._security.BadName: 'x; rm -rf /' is not a study name: ...
"""

from __future__ import annotations

import datetime
import os
import shlex
import subprocess
import threading
import typing

from ..tune._gate import check_name
from ._data import ACTION_LOG, StoreIndex, decision_of
from ._security import BadName, check_hash, check_study

PLACEHOLDERS = ("hash", "study", "gate", "decision")
# a run at a gate whose decision is recorded but not applied yet: as the readers may name it
UNAPPLIED = frozenset({"awaiting_decision", "decided"})


def fill(command: str, **values: str) -> str:
    """``command`` with ``{hash}``, ``{study}``, ``{gate}`` and ``{decision}`` replaced by the
    checked, shell-quoted values (an empty string for a value that does not apply)."""
    checked = {name: values.get(name, "") for name in PLACEHOLDERS}
    if checked["hash"]:
        check_hash(checked["hash"])
    if checked["study"]:
        check_study(checked["study"])
    if checked["gate"]:
        check_name(checked["gate"], "gate name", BadName)
    if checked["decision"] not in ("", "go", "no-go"):
        raise BadName(f"decision {checked['decision']!r}: expected 'go' or 'no-go'")
    out = command
    for name, value in checked.items():
        # plain replacement, not str.format: other braces in the command stay as they are
        out = out.replace("{" + name + "}", shlex.quote(value) if value else "''")
    return out


class Actions:
    """Watches for new decisions on every tick and runs the command for each, once."""

    def __init__(self, command: str, index: StoreIndex, cwd: str | None = None) -> None:
        self.command = command
        self.index = index
        self.cwd = cwd or os.getcwd()
        self.started: list[subprocess.Popen[bytes]] = []

    def check(self) -> int:
        """Start the command for every decision not acted on yet; how many were started."""
        count = 0
        for folder, row in self.index.awaiting_runs(UNAPPLIED):
            gate = row["gate"]
            decision = decision_of(folder, gate)
            if decision is None or decision["decision"] not in ("go", "no-go"):
                continue
            studies = self.index.studies_of(row["hash"])
            count += self._start(
                folder, gate, hash=row["hash"], study=studies[0] if studies else "",
                gate=gate, decision=decision["decision"],
            )  # fmt: skip
        with self.index.lock:
            waiting = [(s.folder, s.name, s.awaiting) for s in self.index.studies.values()]
        for folder, name, gate in waiting:
            if not gate:
                continue
            decision = decision_of(folder, gate)
            if decision is None or decision["decision"] not in ("go", "no-go"):
                continue
            count += self._start(folder, gate, study=name, gate=gate, decision=decision["decision"])
        return count

    def _start(self, folder: str, gate_name: str, **values: str) -> int:
        log_path = os.path.join(folder, ACTION_LOG.format(gate=gate_name))
        try:
            command = fill(self.command, **values)
        except BadName as error:
            command = None
            problem = str(error)
        try:
            log = open(log_path, "xb")  # noqa: SIM115 (handed to the process, closed below)
        except FileExistsError:
            return 0  # acted on already (by this dashboard or another)
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        if command is None:
            log.write(f"[phyper dashboard {stamp}] not run: {problem}\n".encode())
            log.close()
            return 0
        log.write(f"[phyper dashboard {stamp}] $ {command}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            shell=True,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C of the dashboard leaves the training alone
        )
        self.started.append(process)
        threading.Thread(target=_finish_log, args=(process, log), daemon=True).start()
        return 1


def _finish_log(process: subprocess.Popen[bytes], log: typing.BinaryIO) -> None:
    code = process.wait()
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    log.write(f"[phyper dashboard {stamp}] exit code {code}\n".encode())
    log.close()
