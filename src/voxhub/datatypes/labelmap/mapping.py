"""The versioned supervoxel → body mapping, and applying it to label arrays.

A supervoxel with no mapping key is its own body. Only merges, cleaves and splits write
mapping keys, so a freshly painted segmentation costs nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from voxhub.datatypes.labelmap.keys import mapping_key
from voxhub.versioning.protocols import VersionedReader, VersionedTxn


def bodies_of(reader: VersionedReader, supervoxels: Iterable[int]) -> dict[int, int]:
    """``{sv: body}`` (a retired supervoxel maps to 0; label 0 to 0)."""
    svs = sorted({int(s) for s in supervoxels if s})
    values = reader.get_many([mapping_key(s) for s in svs])
    out = {0: 0}
    for sv, value in zip(svs, values, strict=True):
        out[sv] = sv if value is None else int.from_bytes(value, "big")
    return out


def set_body(txn: VersionedTxn, sv: int, body: int) -> None:
    """Map ``sv`` to ``body`` (identity deletes the key)."""
    if sv == body:
        txn.delete(mapping_key(sv))
    else:
        txn.put(mapping_key(sv), body.to_bytes(8, "big"))


def map_array(reader: VersionedReader, labels: np.ndarray) -> np.ndarray:
    """``labels`` with every supervoxel replaced by its body."""
    if labels.size == 0:
        return labels
    unique, inverse = np.unique(labels, return_inverse=True)
    table = bodies_of(reader, unique.tolist())
    if all(table[int(u)] == int(u) for u in unique.tolist()):
        return labels
    mapped = np.array([table[int(u)] for u in unique.tolist()], dtype=labels.dtype)
    return mapped[inverse].reshape(labels.shape)
