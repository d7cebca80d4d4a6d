"""Which hash folders under a results root nothing refers to any more: the library side of
``phyper gc``.

A folder is kept, with the reasons why, when any of these refers to it:

- the configuration: its instances, and the resources they depend on;
- a study under the root (``<root>/studies/*/journal.jsonl``): every trial it ever started or
  answered from the store, whatever its state, and the resources of those trials;
- a run that may go on (``running``, ``awaiting_decision``, ``decided``, ``paused``,
  ``interrupted``, as :mod:`phyper.tune._observe` derives them), and its resources;
- a live process: whoever holds the folder's ``run.lock`` or ``trial.lock``.

A referenced instance's resource hashes come from its folder's ``phyper.json`` (the hashed
values and which of them were omitted) and the configuration's resource dependencies; for a
trial whose folder has no readable metadata yet, from its study's fixed values and the trial's
searched values, through the configuration's parser. When neither works (a study of another
declaration), no resource folder is offered for deletion: a folder is deleted only when it is
known to be unneeded.
"""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .._context import ALL, context_of, distinct, instance_hash
from .._errors import MetadataError, PhyperError
from .._scan import SYMLINK, Folder, iter_folders
from .._store import from_json, read_folder_info, recompute_hash, stale_temporaries
from ._errors import RunStateError
from ._journal import Journal, JournalError
from ._lock import is_held
from ._observe import LIVE_STATUSES, TRIAL_LOCK, observe_run
from ._state import LOCK_FILE, STATE_FILE, read_state

if typing.TYPE_CHECKING:
    from .._parser import Parser

STUDIES = "studies"  # as _study.STUDIES; not imported, to keep this module light


@dataclass
class GcPlan:
    """What ``phyper gc`` would do under ``root``: ``orphans`` to delete, ``kept`` folders with
    their reasons (``kept[path]``), ``leftovers`` (temporary files of killed writers inside
    kept folders) and ``warnings`` (why some folders were kept to be safe)."""

    root: str
    orphans: list[Folder] = field(default_factory=list)
    kept: dict[str, list[str]] = field(default_factory=dict)
    folders: list[Folder] = field(default_factory=list)
    leftovers: list[os.DirEntry[str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _References:
    """Hash -> reasons, per resource folder name."""

    def __init__(self) -> None:
        self.by_resource: dict[str, dict[str, list[str]]] = {}
        self.keep_every_resource: str | None = None

    def add(self, resource: str, hash_: str, reason: str) -> None:
        self.by_resource.setdefault(resource, {}).setdefault(hash_, []).append(reason)

    def reasons(self, folder: Folder) -> list[str]:
        return self.by_resource.get(folder.resource, {}).get(folder.hash, [])


def _resource_hashes_from_metadata(
    path: str, hash_: str, dependencies: Mapping[str, Sequence[str]]
) -> dict[str, str] | None:
    """The resource hashes of the instance folder ``path``, from its metadata file alone; None
    when it has no readable, consistent one."""
    try:
        document = read_folder_info(path, ALL, hash_)
    except (OSError, MetadataError):
        return None
    values, omitted = document["hyperparameters"], document["omitted"]
    found = {}
    for resource, names in dependencies.items():
        subset = {"hyperparameters": {n: values[n] for n in names if n in values}}
        try:
            found[resource] = recompute_hash({**subset, "omitted": omitted})
        except (TypeError, ValueError):
            return None
    return found


def _resource_hashes_from_values(
    parser: Parser, hash_: str, values: Mapping[str, object], resources: Iterable[str]
) -> dict[str, str] | None:
    """The resource hashes of the instance with these (JSON) key values, built by ``parser``;
    None when they do not fit its declaration or do not give ``hash_``."""
    try:
        instance = parser.replace(**{n: from_json(v, for_hashing=False) for n, v in values.items()})
    except (PhyperError, ValueError, TypeError, KeyError):
        return None
    if instance_hash(instance) != hash_:
        return None
    return {resource: instance_hash(instance, resource) for resource in resources}


def _study_trials(root: str) -> Iterable[tuple[str, dict[str, object], int, str, str | None]]:
    """``(study, base values, trial number, hash, problem)`` of every trial of every study
    under ``root``, with the trial's searched values merged into the base values."""
    parent = os.path.join(root, STUDIES)
    try:
        names = sorted(os.listdir(parent))
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        folder = os.path.join(parent, name)
        journal = os.path.join(folder, "journal.jsonl")
        if not os.path.isfile(journal):
            continue
        try:
            with open(os.path.join(folder, "study.json"), encoding="utf-8") as stream:
                definition = json.load(stream)
            base = dict(definition.get("base") or {})
        except (OSError, ValueError, AttributeError, TypeError):
            base = {}
        try:
            events = Journal(journal).replay(repair=False)
        except (JournalError, OSError) as error:
            yield name, {}, -1, "", f"its journal is unreadable ({error})"
            continue
        for event in events:
            if event.get("event") not in ("start", "from_store"):
                continue
            hash_, params = event.get("hash"), event.get("params")
            if not isinstance(hash_, str) or not isinstance(params, dict):
                continue
            yield name, {**base, **params}, int(event.get("trial", -1)), hash_, None


def study_trials(root: str | os.PathLike[str]) -> dict[str, set[str]]:
    """Study name -> the hashes of its trials, for every readable study under ``root``."""
    found: dict[str, set[str]] = {}
    for study, _, _, hash_, problem in _study_trials(os.fspath(root)):
        if problem is None:
            found.setdefault(study, set()).add(hash_)
    return found


def plan_gc(root: str | os.PathLike[str], parser: Parser, instances: Sequence[Parser]) -> GcPlan:
    """Decide, for every hash folder under ``root``, whether anything still refers to it.

    >>> import phyper, tempfile
    >>> class M(phyper.Parser):
    ...     depth = 3
    >>> root = tempfile.mkdtemp()
    >>> parser = M(hashed_resources_folder=root)
    >>> _ = M.generate_instance_info_files(parser.get_instances_from_dictionary({"depth": [1, 2]}))
    >>> plan = plan_gc(root, parser, parser.get_instances_from_dictionary({"depth": [1]}))
    >>> [f.hyperparameters for f in plan.orphans], list(plan.kept.values())
    ([{'depth': 2}], [['instance of the configuration']])
    """
    root = os.fspath(root)
    plan = GcPlan(root)
    if not os.path.isdir(root):
        return plan
    context = context_of(parser)
    dependencies = {r: context.dependencies(r) for r in context.resources}
    references = _References()

    # the configuration
    for resource_name in context.resource_names():
        name = ALL if resource_name is None else resource_name
        reason = "instance of the configuration" if name == ALL else "resource of the configuration"
        for hash_ in distinct(instances, resource_name):
            references.add(name, hash_, reason)

    plan.folders = list(iter_folders(root))
    by_path = {(f.resource, f.hash): f for f in plan.folders}

    def add_with_resources(hash_: str, reason: str, values: Mapping[str, object] | None) -> None:
        references.add(ALL, hash_, reason)
        if not dependencies:
            return
        folder = os.path.join(root, ALL, hash_)
        found = _resource_hashes_from_metadata(folder, hash_, dependencies)
        if found is None and values is not None:
            found = _resource_hashes_from_values(parser, hash_, values, dependencies)
        if found is None:
            if (ALL, hash_) in by_path or values is not None:
                references.keep_every_resource = references.keep_every_resource or (
                    f"the resources of {reason} ({hash_}) could not be derived"
                )
            return
        for resource, resource_hash in found.items():
            references.add(resource, resource_hash, f"resource of {reason}")

    # the studies
    for study, values, number, hash_, problem in _study_trials(root):
        if problem is not None:
            plan.warnings.append(f"study {study!r}: {problem}; every folder is kept")
            references.keep_every_resource = f"study {study!r} is unreadable"
            plan.kept = {f.path: [f"study {study!r} is unreadable"] for f in plan.folders}
            return plan
        add_with_resources(hash_, f"trial {number} of study {study!r}", values)

    # runs that may go on
    for folder in plan.folders:
        if folder.status == SYMLINK or not os.path.isfile(os.path.join(folder.path, STATE_FILE)):
            continue
        try:
            state = read_state(folder.path)
        except RunStateError:
            continue  # an unreadable state: its folder is judged by the rest
        if state is None:
            continue
        status = observe_run(folder.path, state).status
        if status in LIVE_STATUSES:
            reason = f"run {status}"
            if folder.resource == ALL:
                add_with_resources(folder.hash, reason, None)
            else:
                references.add(folder.resource, folder.hash, reason)

    if references.keep_every_resource:
        plan.warnings.append(
            f"{references.keep_every_resource}: no resource folder is offered for deletion"
        )
    for folder in plan.folders:
        if not folder.hash:  # a linked resource folder: never garbage of ours
            plan.kept[folder.path] = ["linked resource folder"]
            continue
        reasons = list(references.reasons(folder))
        if not reasons and folder.resource != ALL and references.keep_every_resource:
            reasons = [references.keep_every_resource]
        if (
            not reasons
            and folder.status != SYMLINK
            and (
                is_held(os.path.join(folder.path, LOCK_FILE))
                or is_held(os.path.join(folder.path, TRIAL_LOCK))
            )
        ):
            reasons = ["in use: a live process holds its lock"]
        if reasons:
            plan.kept[folder.path] = reasons
        else:
            plan.orphans.append(folder)
    plan.leftovers = [
        temporary
        for folder in plan.folders
        if folder.path in plan.kept and folder.status != SYMLINK and folder.hash
        for temporary in stale_temporaries(folder.path)
    ]
    return plan
