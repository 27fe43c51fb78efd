"""One computation for concurrent requests of the same key (single flight)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future


class OneAtATime:
    """Runs a computation once for all the requests that want it at the same time.

    :meth:`~voxhub.server.view_cache.ViewCache.get_or_compute` lets two requests that
    miss the same key together both compute it. For a shard that is costly: a reader asks
    for its index and then for many of its chunks at once (zarr-python keeps 10 requests
    in flight), and each would build the same shard. Wrap the computation in :meth:`run`
    to build it once. Only for work on the thread pool: a waiter blocks its thread until
    the first request's answer (or exception) is ready.

    >>> once = OneAtATime()
    >>> once.run("shard 0", lambda: b"built")
    b'built'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Hashable, Future[bytes | None]] = {}

    def run(self, key: Hashable, compute: Callable[[], bytes | None]) -> bytes | None:
        with self._lock:
            running = self._running.get(key)
            if running is None:
                mine: Future[bytes | None] = Future()
                self._running[key] = mine
        if running is not None:
            return running.result()
        try:
            answer = compute()
        except BaseException as e:
            mine.set_exception(e)
            raise
        else:
            mine.set_result(answer)
            return answer
        finally:
            with self._lock:
                del self._running[key]
