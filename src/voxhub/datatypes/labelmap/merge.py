"""Recompute derived labelmap data at a merge child: extents, the label pyramid, maxlabel."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from voxhub.datatypes.imageblk.merge import repair_after_merge
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.datatypes.labelmap.keys import MAXLABEL_KEY
from voxhub.datatypes.labelmap.write import raise_maxlabel
from voxhub.versioning.protocols import VersionedReader, VersionedView


def repair_labels_after_merge(
    child: VersionedView,
    config_json: dict[str, Any],
    parents: Sequence[VersionedReader],
    changed: Iterable[bytes],
) -> None:
    """As for images, with the label mode pyramid; maxlabel is the parents' maximum."""
    repair_after_merge(child, config_json, parents, changed, downsample_labels)
    values = [p.get(MAXLABEL_KEY) for p in parents]
    top = max((int.from_bytes(v, "big") for v in values if v), default=0)
    if top:
        child.transact(lambda txn: raise_maxlabel(txn, top))
