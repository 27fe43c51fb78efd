"""Import an array source into an image or label volume, task by task (boxes of whole
blocks, :mod:`voxhub.transfer.import_tasks`), two at a time, skipping tasks an earlier,
interrupted run wrote already."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxhub.errors import InvalidRequest
from voxhub.geometry import Vec3
from voxhub.transfer.import_tasks import (
    TASK_BYTES,
    ImportTask,
    Target,
    plan_import,
    read_task,
    run_import_task,
    task_blocks,
)
from voxhub.transfer.progress import progress_bar
from voxhub.transfer.sources import Source


@dataclass
class ImportProgress:
    """Counts of an import, kept current as it runs (so a caller can say what was done when
    it is interrupted)."""

    blocks: int = 0  #: blocks the whole import covers
    written: int = 0  #: blocks written by this run
    kept: int = 0  #: blocks found written already by an earlier run, left as they were

    @property
    def done(self) -> int:
        return self.written + self.kept


#: tasks run at once: one encodes (outside any transaction) and reads its source while
#: another commits, whose fsync would otherwise leave both cores idle.
WORKERS = 2


def import_volume(
    vol: Target,
    source: Source,
    *,
    offset: Vec3 | None = None,
    progress: bool = True,
    dtype: np.dtype[Any] | None = None,
    resume: bool = True,
    counts: ImportProgress | None = None,
    task_bytes: int = TASK_BYTES,
    workers: int = WORKERS,
) -> ImportProgress:
    """Write ``source`` into ``vol`` with its first voxel at ``offset`` (z, y, x; default
    the source's own origin, e.g. a precomputed scale's ``voxel_offset``).

    The source dtype must cast safely to ``dtype`` (default: the volume's), checked before
    anything is written; a label import (``dtype`` uint64) also takes signed integers after
    a first pass finds none negative. With ``resume`` (the default), tasks whose voxels are
    stored already are kept rather than rewritten, so re-running an interrupted import
    finishes it. ``counts`` (updated as tasks finish) and the return value say how many
    blocks were written and kept. ``workers`` tasks run at once (1: strictly in order).

    When a task fails (or the import is interrupted), no further task starts, the ones
    running finish (each is one atomic write), and the error is raised.
    """
    target = np.dtype(dtype if dtype is not None else getattr(vol, "dtype"))  # noqa: B009
    start = source.origin if offset is None else offset
    tasks = plan_import(vol, source, start, budget=task_bytes)
    _check_dtype(source, target, tasks)
    counts = counts if counts is not None else ImportProgress()
    counts.blocks = sum(task_blocks(t, vol.block_shape) for t in tasks)
    # Only tasks meeting what was stored before this run can hold voxels already: the
    # others (all of them, on a fresh volume) skip the comparison.
    stored = vol.extents() if resume else None

    def job(task: ImportTask) -> tuple[bool, int]:
        data = read_task(source, task, target)
        check = stored is not None and not stored.intersect(task.box).empty
        return run_import_task(vol, source, task, target, resume=check, data=data), (
            task_blocks(task, vol.block_shape)
        )

    # Bulk writes: the store need not keep what the import writes cached (each task's
    # commit is still durable when it returns; see KVStore.bulk_writes).
    with vol.node.hub.bulk_writes():
        _run(tasks, job, counts, progress, f"import {vol.name}", workers)
    return counts


def _run(
    tasks: list[ImportTask],
    job: Callable[[ImportTask], tuple[bool, int]],
    counts: ImportProgress,
    progress: bool,
    title: str,
    workers: int,
) -> None:
    """Run ``job`` over ``tasks``, ``workers`` at once, in order, counting into ``counts``."""
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="voxhub-import")
    running: deque[Future[tuple[bool, int]]] = deque()
    try:
        with progress_bar(counts.blocks, title, progress, unit="block") as bar:
            for task in tasks:
                running.append(pool.submit(job, task))
                if len(running) > workers:  # one queued behind the running ones
                    _finish(running.popleft(), counts, bar)
            while running:
                _finish(running.popleft(), counts, bar)
    except BaseException:
        for future in running:
            future.cancel()
        for future in running:  # started ones finish: count what they wrote
            if not future.cancelled():
                with suppress(BaseException):  # the first error is the one to report
                    _finish(future, counts, None)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _finish(future: Future[tuple[bool, int]], counts: ImportProgress, bar: Any) -> None:
    wrote, n = future.result()
    if wrote:
        counts.written += n
    else:
        counts.kept += n
    if bar is not None:
        bar.update(n)


def _check_dtype(source: Source, target: np.dtype[Any], tasks: list[ImportTask]) -> None:
    """Refuse a lossy import up front: a check per task could fail after earlier tasks
    landed."""
    if np.can_cast(source.dtype, target, casting="safe"):
        return
    if target.kind == "u" and source.dtype.kind == "i":
        for task in tasks:
            if source.read_box(task.source_box).min(initial=0) < 0:
                raise InvalidRequest(f"cannot import negative {source.dtype} values as labels")
        return
    raise InvalidRequest(f"cannot import {source.dtype} data into a {target} volume without loss")
