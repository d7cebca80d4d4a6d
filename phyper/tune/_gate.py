"""Gates: named pause points where a person says go or no-go.

When a gate's condition fires, the run saves a checkpoint, commits status
``awaiting_decision`` and returns. ``decide()`` (or ``phyper decide HASH --go``) writes
``decision-<gate>.json`` into the run folder; the next start of the run reads it as an input:
go -> training continues, no-go -> the run is stopped for good. No process waits in between, so
any scheduler (cron, Snakemake, a person) can start the run again.
"""

from __future__ import annotations

import datetime
import getpass
import json
import os
import re
import secrets
import typing

from .._errors import HashNotFoundError, PhyperError
from .._scan import hash_folders_by_prefix
from .._store import read_json
from ._conditions import Condition
from ._errors import DecisionError, RunStateError
from ._state import STATE_FILE, RunState, Status, read_state, write_state

if typing.TYPE_CHECKING:
    import pandas as pd

DECISION_FORMAT = "phyper-decision"
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_name(name: object, what: str, error: type[PhyperError] = DecisionError) -> str:
    """``name`` if it can name a file (a gate's decision, a study's folder), else ``error``
    naming it and saying what is expected."""
    if not isinstance(name, str) or not _FILE_NAME.match(name):
        raise error(
            f"{what} {name!r} is not usable in a file name: expected letters, digits, "
            "'_', '.' or '-', starting with a letter or digit"
        )
    return name


class Gate:
    """A named pause point: when ``when`` fires (and the gate was not decided yet), the run
    pauses for a go/no-go decision.

    >>> from phyper.tune import after_epoch
    >>> Gate("review", after_epoch(10), note="look at the curves")
    Gate('review', after_epoch(10))
    """

    def __init__(self, name: str, when: Condition, *, note: str | None = None) -> None:
        check_name(name, "gate name")
        if not isinstance(when, Condition):
            raise DecisionError(
                f"gate {name!r}: when= takes a condition such as tune.after_epoch(10), not {when!r}"
            )
        self.name = name
        self.when = when
        self.note = note

    def __repr__(self) -> str:
        return f"Gate({self.name!r}, {self.when!r})"


def decision_path(folder: str, gate: str) -> str:
    return os.path.join(folder, f"decision-{gate}.json")


def read_decision(folder: str, gate: str) -> dict[str, typing.Any] | None:
    """The recorded decision for ``gate`` in ``folder`` (checked), or None."""
    path = decision_path(folder, gate)
    document = read_json(path, what="decision file", error=RunStateError)
    if document is None:
        return None
    if (
        not isinstance(document, dict)
        or document.get("format") != DECISION_FORMAT
        or document.get("gate") != gate
        or document.get("decision") not in ("go", "no-go")
        or not isinstance(document.get("note"), (str, type(None)))
    ):
        raise RunStateError(
            f"decision file {path!r} is not a decision for gate {gate!r}: expected a JSON "
            f'object with "format": {DECISION_FORMAT!r}, "gate": {gate!r} and "decision" '
            '"go" or "no-go"'
        )
    return document


def apply_decision(folder: str, state: RunState) -> None:
    """Read the pending gate's decision, if any, into ``state`` (the run holds its lock)."""
    gate = typing.cast(str, state.gate)
    decision = read_decision(folder, gate)
    if decision is None:
        return
    state.gate = state.gate_note = None
    state.decided_gates.append(gate)
    if decision["decision"] == "go":
        state.status = Status.RUNNING
        state.reason = None
    else:
        state.status = Status.STOPPED
        state.stopped_by = f"gate {gate}"
        state.reason = f"no-go at gate {gate}: {decision['note'] or '(no note)'}"


def await_decision(
    folder: str,
    *,
    run_hash: str,
    resource: str,
    gate: str,
    reason: str,
    note: str | None = None,
) -> RunState:
    """Record durably that the run in ``folder`` awaits a go/no-go decision at ``gate``: its
    ``run.json`` (created if the folder has none) gets status ``awaiting_decision``, which is
    what :func:`decide` and ``phyper runs`` read. For loops other than ``tune.Run`` (the Burr
    integration); a gate already decided is an error rather than a second pause.
    """
    check_name(gate, "gate name")
    recorded = read_state(folder, run_hash)
    state = recorded.copy() if recorded is not None else RunState(hash=run_hash, resource=resource)
    if gate in state.decided_gates:
        raise DecisionError(
            f"gate {gate!r} of run {run_hash} was already decided; a gate pauses a run once"
        )
    state.status = Status.AWAITING_DECISION
    state.gate, state.gate_note, state.reason = gate, note, reason
    state.stopped_by = state.error = None
    if state != recorded:
        write_state(folder, state)
    return state


def take_decision(folder: str, gate: str) -> dict[str, typing.Any] | None:
    """The decision recorded for ``gate`` (its JSON document), or None while there is none.

    If the folder's ``run.json`` still awaits that gate, the decision is applied to it as a run
    start would (go: ``running``; no-go: ``stopped``), so ``phyper runs`` no longer lists it
    as waiting. Calling it again returns the same decision.
    """
    decision = read_decision(folder, gate)
    if decision is None:
        return None
    state = read_state(folder)
    if state is not None and state.status is Status.AWAITING_DECISION and state.gate == gate:
        apply_decision(folder, state)
        write_state(folder, state)
    return decision


def find_run(root: str, hash_or_prefix: str, resource: str = "all") -> str:
    """The folder of the one run under ``<root>/<resource>/`` whose hash starts with the prefix."""
    parent = os.path.join(os.fspath(root), resource)
    try:
        matches = [
            entry.name for _, entry in hash_folders_by_prefix(root, hash_or_prefix, resource)
        ]
    except HashNotFoundError as error:
        raise DecisionError(str(error)) from None
    if not matches:
        raise DecisionError(
            f"no run under {parent!r} has a hash starting with {hash_or_prefix!r} (check --root "
            "and --resource; `phyper runs` lists them)"
        )
    if len(matches) > 1:
        raise DecisionError(
            f"hash prefix {hash_or_prefix!r} is ambiguous under {parent!r}: it matches "
            f"{matches}; give more characters"
        )
    return os.path.join(parent, matches[0])


def decide(
    root: str | os.PathLike[str],
    hash_or_prefix: str,
    *,
    go: bool,
    note: str | None = None,
    resource: str = "all",
    by: str | None = None,
) -> str:
    """Record a go/no-go decision for the gate a run awaits; returns the decision file's path
    (see :func:`write_decision`). ``by`` says who decided (default: the user name)."""
    folder = find_run(os.fspath(root), hash_or_prefix, resource)
    run_hash = os.path.basename(folder)
    state = read_state(folder)
    if state is None:
        raise DecisionError(
            f"run {run_hash} has no {STATE_FILE} in {folder!r}: it never started, so it awaits "
            "no decision"
        )
    if state.status is not Status.AWAITING_DECISION or state.gate is None:
        raise DecisionError(
            f"run {run_hash} awaits no decision (status {state.status.value}"
            f"{', gates decided: ' + ', '.join(state.decided_gates) if state.decided_gates else ''}"
            "); only runs listed by `phyper runs --status awaiting_decision` can be decided"
        )
    return write_decision(folder, state.gate, go=go, note=note, subject=f"run {run_hash}", by=by)


def write_decision(
    folder: str, gate: str, *, go: bool, note: str | None, subject: str, by: str | None = None
) -> str:
    """Write ``decision-<gate>.json`` into ``folder`` exclusively; ``subject`` names what is
    decided (a run, a study) in errors, ``by`` who decides (default: the user name). Returns
    the file's path.

    The file is written to a temporary name, synced, then hard-linked to its final name, which
    fails if it exists: of two people deciding at once, exactly one wins.
    """
    final = decision_path(folder, gate)
    if os.path.exists(final):
        previous = read_decision(folder, gate) or {}
        raise DecisionError(
            f"gate {gate!r} of {subject} was already decided ({previous.get('decision')} "
            f"by {previous.get('by')} at {previous.get('decided_at')}); start it again to apply "
            f"the decision, or delete {final!r} to decide again"
        )
    document = {
        "format": DECISION_FORMAT,
        "gate": gate,
        "decision": "go" if go else "no-go",
        "decided_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "note": note,
        "by": by or _user(),
        "subject": subject,
    }
    data = (json.dumps(document, indent=1) + "\n").encode("utf-8")
    temporary = os.path.join(folder, f".decision-{gate}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, final)
        except FileExistsError:
            raise DecisionError(
                f"gate {gate!r} of {subject} was decided by someone else a moment ago; "
                f"see {final!r}"
            ) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return final


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def pending_decisions(root: str | os.PathLike[str]) -> pd.DataFrame:
    """The runs under ``root`` that await a decision, with their gate and why it fired."""
    from ._run import runs

    frame = runs(root)
    pending = frame[frame["status"] == Status.AWAITING_DECISION.value]
    return pending[
        ["hash", "resource", "gate", "epoch", "reason", "updated", "folder"]
    ].reset_index(drop=True)
