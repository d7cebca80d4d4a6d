"""An exclusive lock on a file with ``flock``: the OS drops it when its holder dies, even by
``kill -9``, so a lock is never stale. The file's text (pid, host, start) serves only the error
message another process gets."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

from .._errors import PhyperError
from ._state import now_iso

# A reader's probe (:func:`is_held`) holds a lock for microseconds; a process starting work
# retries for this long before it concludes that another process really holds the lock.
PROBE_GRACE_SECONDS = 0.2


def is_held(path: str) -> bool:
    """True while a live process holds the ``flock`` on ``path``: one non-blocking attempt
    at a shared lock, released at once. A missing file is not held (nothing ever locked it).

    Cheap (an open, a flock, a close), never blocks, never creates or writes the file.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "run.lock")
    >>> is_held(path)
    False
    >>> with FolderLock(path, PhyperError, "demo"):
    ...     is_held(path)
    True
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the descriptor drops our shared lock, if we got it
    return False


class FolderLock:
    """``FolderLock(path, error_class, subject)``: ``acquire(wait)`` takes the lock or raises
    ``error_class`` naming ``subject`` and the holder; ``release()`` gives it back."""

    def __init__(self, path: str, error_class: type[PhyperError], subject: str) -> None:
        self.path = path
        self.error_class = error_class
        self.subject = subject
        self.fd: int | None = None

    def acquire(self, wait: bool) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if wait:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                _lock_soon(fd)
        except BlockingIOError:
            os.close(fd)
            raise self.error_class(
                f"{self.subject} is locked by {self.holder()}: another process is working on "
                "it; wait for it to finish (or stop it) and start again"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": now_iso()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        self.fd = fd

    def holder(self) -> str:
        try:
            with open(self.path, encoding="utf-8") as stream:
                info = json.loads(stream.read() or "{}")
            return f"pid {info['pid']} on host {info['host']} (since {info['started']})"
        except (OSError, ValueError, KeyError, TypeError):
            return "a process that has not yet written its pid"

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> FolderLock:
        self.acquire(wait=False)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_soon(fd: int) -> None:
    """Take the exclusive lock, waiting out a reader's probe (:func:`is_held`) but never a
    process that works on the folder: ``BlockingIOError`` after ``PROBE_GRACE_SECONDS``."""
    deadline = time.monotonic() + PROBE_GRACE_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.005)
