"""Recompute derived labelmap data at a merge child: extents, the label pyramid, maxlabel."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from voxhub.datatypes.imageblk.merge import repair_after_merge
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.datatypes.labelmap.maxlabel import raise_maxlabel, read_maxlabel
from voxhub.versioning.protocols import VersionedReader, VersionedView


def repair_labels_after_merge(
    child: VersionedView,
    config_json: dict[str, Any],
    parents: Sequence[VersionedReader],
    changed: Iterable[bytes],
) -> None:
    """As for images, with the label mode pyramid; maxlabel is the parents' maximum."""
    repair_after_merge(child, config_json, parents, changed, downsample_labels)
    top = max((read_maxlabel(p) for p in parents), default=0)
    if top:
        child.transact(lambda txn: raise_maxlabel(txn, top))
