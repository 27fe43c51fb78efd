"""Writing an ROI: replace every span at a node in one transaction, or delete them all.

``POST roi`` replaces (DVID's semantics). Only the block planes whose spans change are
written or deleted, and all of them in one transaction: a diff then lists exactly the
changed planes, a merge conflicts only where both sides changed the same plane, and a
refused or failed request leaves the old ROI whole.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voxhub.datatypes.roi import keys
from voxhub.datatypes.roi.spans import NO_SPANS
from voxhub.versioning.protocols import VersionedTxn, VersionedView

#: what runs inside a write's transaction when the ROI changed
OnChange = Callable[[VersionedTxn], None]


def planes_of(spans: np.ndarray) -> dict[int, bytes]:
    """``{z: stored value}`` of canonical ``spans``."""
    if not len(spans):
        return {}
    zs = spans[:, 0]
    cuts = np.flatnonzero(zs[1:] != zs[:-1]) + 1
    return {int(part[0, 0]): keys.encode_row(part[:, 1:]) for part in np.split(spans, cuts)}


def replace_spans(
    view: VersionedView, spans: np.ndarray, on_change: OnChange | None = None
) -> None:
    """Make canonical ``spans`` (:func:`~voxhub.datatypes.roi.spans.normalize`d) the
    whole ROI at the view's node (``VersionLocked`` on a committed node); ``on_change``
    runs in the same transaction when a span changed (the ROI's followers recount)."""
    view.check_writable()
    wanted = {keys.row_key(z): value for z, value in planes_of(spans).items()}

    def run(txn: VersionedTxn) -> None:
        old = [k for k, _ in txn.scan(keys.ROWS_START, keys.ROWS_END, keys_only=True)]
        changed = False
        for tkey in old:
            if tkey not in wanted:
                txn.delete(tkey)
                changed = True
        current = dict(zip(wanted, txn.get_many(list(wanted)), strict=True))
        for tkey, value in wanted.items():
            if current[tkey] != value:
                txn.put(tkey, value)
                changed = True
        if changed and on_change is not None:
            on_change(txn)

    view.transact(run)


def delete_roi(view: VersionedView, on_change: OnChange | None = None) -> None:
    """Remove every span at the view's node (tombstones where an ancestor has them)."""
    replace_spans(view, NO_SPANS, on_change)
