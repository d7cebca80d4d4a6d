"""Worker processes for work the GIL would serialise: fresh interpreters, never forked.

``fork`` copies a process mid-flight (a notebook kernel's threads, held locks), so workers
start from ``forkserver`` where the platform has it, else ``spawn``. Either runs the caller's
main module again in each worker unless it is a package's ``__main__``, a notebook, or guarded
by ``if __name__ == "__main__":``, which is why a pool is only ever started on request.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import typing


def process_pool(workers: int, **options: typing.Any) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` fresh processes; ``options`` go to ``ProcessPoolExecutor``."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, **options)
