"""Run the independent pieces of a large NumPy computation on all cores.

NumPy releases the GIL inside array copies and matrix products, so Python threads can work on
separate pieces of one operator at the same time. The BLAS has a thread pool of its own: T Python
threads each calling a T-threaded BLAS would put T*T busy threads on T cores. So while pieces run
here the BLAS is pinned to one thread (with :mod:`threadpoolctl`) and the pieces are the
parallelism. Without threadpoolctl, or with a single-threaded BLAS, or when another call is
already running pieces, the pieces simply run one after another in the calling thread; the
result is the same either way.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

try:
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover - threadpoolctl is a declared dependency
    ThreadpoolController = None

Piece = TypeVar("Piece")

# Work below this many floating-point operations runs serially: a thread hand-off costs tens of
# microseconds, which only pays off for pieces of a millisecond or more.
MIN_PARALLEL_FLOPS = 5e7

_busy = threading.Lock()  # one operator at a time runs pieces (the BLAS limit is process-wide)
_pools: dict[int, tuple[ThreadPoolExecutor, int]] = {}  # by process id: a fork gets a fresh pool


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@functools.cache
def _blas_controller():
    """threadpoolctl's handle on the BLAS libraries loaded in this process (found once)."""
    if ThreadpoolController is None:  # pragma: no cover
        return None
    return ThreadpoolController().select(user_api="blas")


def threads() -> int:
    """Threads the pieces may use: what the BLAS is allowed, at most the cores this process has."""
    controller = _blas_controller()
    if controller is None or not controller.lib_controllers:  # pragma: no cover
        return 1
    blas = max(lib.num_threads for lib in controller.lib_controllers)
    return max(1, min(blas, _cores()))


def _pool(workers: int) -> ThreadPoolExecutor:
    pid = os.getpid()
    pool = _pools.get(pid)
    if pool is None or pool[1] != workers:
        if pool is not None:
            pool[0].shutdown(wait=False)
        _pools.clear()  # a pool inherited through fork() has no live threads
        pool = _pools[pid] = (ThreadPoolExecutor(workers, thread_name_prefix="convlab"), workers)
    return pool[0]


def split(count: int, per_piece: int, workers: int) -> list[tuple[int, int]]:
    """Cut ``range(count)`` into ``[start, stop)`` runs of at most ``per_piece``, evenly over workers.

    The number of runs is rounded up to a multiple of ``workers`` so that no thread is left with
    a short last piece while the other still has a long one.

    >>> split(16, 7, 2)
    [(0, 4), (4, 8), (8, 12), (12, 16)]
    >>> split(5, 10, 1)
    [(0, 5)]
    """
    pieces = -(-count // max(1, per_piece))
    if workers > 1 and count >= workers:
        pieces = min(count, -(-pieces // workers) * workers)
    size = -(-count // pieces)
    return [(start, min(count, start + size)) for start in range(0, count, size)]


def run(work: Callable[[Piece], None], pieces: Iterable[Piece], flops: float) -> None:
    """Call ``work(piece)`` for every piece, on a thread pool when the job is big enough.

    ``work`` must write disjoint parts of its output. Exceptions propagate to the caller.
    """
    pieces = list(pieces)
    workers = min(threads(), len(pieces)) if flops >= MIN_PARALLEL_FLOPS else 1
    if workers > 1 and _busy.acquire(blocking=False):
        try:
            with _blas_controller().limit(limits=1):
                for _ in _pool(workers).map(work, pieces):
                    pass
            return
        finally:
            _busy.release()
    for piece in pieces:
        work(piece)
