"""Import an array source into an image or label volume, task by task (boxes of whole
blocks, :mod:`voxhub.transfer.import_tasks`), reading the next task while the current one
is written, and skipping tasks an earlier, interrupted run wrote already."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
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
) -> ImportProgress:
    """Write ``source`` into ``vol`` with its first voxel at ``offset`` (z, y, x; default
    the source's own origin, e.g. a precomputed scale's ``voxel_offset``).

    The source dtype must cast safely to ``dtype`` (default: the volume's), checked before
    anything is written; a label import (``dtype`` uint64) also takes signed integers after
    a first pass finds none negative. With ``resume`` (the default), tasks whose voxels are
    stored already are kept rather than rewritten, so re-running an interrupted import
    finishes it. ``counts`` (updated as the import runs) and the return value say how many
    blocks were written and kept.
    """
    target = np.dtype(dtype if dtype is not None else getattr(vol, "dtype"))  # noqa: B009
    start = source.origin if offset is None else offset
    tasks = plan_import(vol, source, start, budget=task_bytes)
    _check_dtype(source, target, tasks)
    counts = counts if counts is not None else ImportProgress()
    counts.blocks = sum(task_blocks(t, vol.block_shape) for t in tasks)
    reader = ThreadPoolExecutor(1, thread_name_prefix="voxhub-import-read")
    try:
        with progress_bar(counts.blocks, f"import {vol.name}", progress, unit="block") as bar:
            ahead: Future[np.ndarray] | None = None
            for i, task in enumerate(tasks):
                data = ahead.result() if ahead else read_task(source, task, target)
                ahead = (
                    reader.submit(read_task, source, tasks[i + 1], target)
                    if (i + 1 < len(tasks))
                    else None
                )
                n = task_blocks(task, vol.block_shape)
                if run_import_task(vol, source, task, target, resume=resume, data=data):
                    counts.written += n
                else:
                    counts.kept += n
                del data
                bar.update(n)
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
    return counts


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
