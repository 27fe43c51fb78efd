"""``AnnotationInstance``: one annotation instance at one node (embedded use and routes).

Writes run in one transaction each (:mod:`.edits`, :mod:`.write`): the blocks, their
derived data, and — when the instance syncs to a labelmap — the filings and supervoxel
indexes and every follower (labelsz) are updated together, so a read right after a
write, or after a labelmap mutation, is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.annotation.codec import decode_pairs
from voxhub.datatypes.annotation.config import block_shape
from voxhub.datatypes.annotation.edits import Edits
from voxhub.datatypes.annotation.elements import KIND_CODE, Elements, concat
from voxhub.datatypes.annotation.keys import index_tkey
from voxhub.datatypes.annotation.stored import (
    all_blocks,
    blocks_in,
    elements_at,
    elements_in,
    stored_blocks_in,
)
from voxhub.datatypes.annotation.stored import read_blocks as _read_blocks
from voxhub.datatypes.annotation.tags import rebuild_tags, tag_elements
from voxhub.datatypes.annotation.write import add_elements, delete_element, move_element
from voxhub.datatypes.sync import label_source_of, notify_element_change, synced_names
from voxhub.errors import InvalidRequest
from voxhub.geometry import Box, Vec3
from voxhub.versioning.catalog import InstanceInfo
from voxhub.versioning.protocols import VersionedReader, VersionedTxn

T = TypeVar("T")


class AnnotationInstance:
    """Point elements of one annotation instance at one node (see the module doc)."""

    def __init__(self, access: StoreAccess, node_uuid: str, info: InstanceInfo) -> None:
        self.access = access
        self.node_uuid = node_uuid
        self.info = info
        self.name = info.name
        self.view = access.catalog.view(node_uuid, info.name)
        self.block_shape: Vec3 = block_shape(info.config)

    @property
    def synced_labels(self) -> str | None:
        """The labelmap this instance syncs to, if any."""
        for name in synced_names(self.info):
            info = self.access.catalog.instance(self.info.repo, name)
            if info.typename == "labelmap":
                return name
        return None

    # -- writes -------------------------------------------------------------------------
    def _edit(self, fn: Callable[[Edits], T]) -> T:
        access, node, info = self.access, self.node_uuid, self.info

        def run(txn: VersionedTxn) -> T:
            labels = label_source_of(txn, access, node, info)
            edits = Edits(txn, self.block_shape, labels)
            result = fn(edits)
            bodies = edits.finish()
            if bodies:
                notify_element_change(txn, access, node, info, bodies, labels)
            return result

        return self.view.transact(run)

    def add(self, batch: Elements) -> int:
        """Store ``batch`` in one transaction (see :func:`.write.add_elements`)."""
        self._edit(lambda edits: add_elements(edits, batch))
        return len(batch)

    def delete(self, zyx: Vec3) -> None:
        self._edit(lambda edits: delete_element(edits, zyx))

    def move(self, src: Vec3, dst: Vec3) -> None:
        self._edit(lambda edits: move_element(edits, src, dst))

    # -- reads --------------------------------------------------------------------------
    def elements_in(self, box: Box) -> Elements:
        return elements_in(self.view, box, self.block_shape)

    def blocks_in(self, box: Box) -> dict[Vec3, Elements]:
        """The elements of every stored block meeting ``box`` (unfiltered, as DVID)."""
        return blocks_in(self.view, box, self.block_shape)

    def all_blocks(self) -> Iterator[tuple[Vec3, Elements]]:
        return all_blocks(self.view)

    def all_elements(self) -> Elements:
        """Every element, in position order."""
        return concat([b for _, b in self.all_blocks()]).sorted()

    def tag(self, tag: str) -> Elements:
        """Elements carrying ``tag``, in position order (from the tag index)."""
        return tag_elements(self.view, tag, self.block_shape)

    def reload(self) -> None:
        """Rebuild the tag index from the stored elements, in one transaction (DVID's
        ``POST reload``; label views are never stale, see :mod:`.tags`)."""
        self.view.check_writable()
        self.view.transact(rebuild_tags)

    def roi(self, name: str, node_uuid: str | None = None) -> Elements:
        """Elements inside the roi instance ``name`` (at ``node_uuid``, else this node)."""
        from voxhub.datatypes.roi.instance import open_roi_reader
        from voxhub.datatypes.roi.query import roi_contains

        reader = open_roi_reader(self.access, node_uuid or self.node_uuid, name)
        rz, ry, rx = reader.block_shape
        blocks: set[Vec3] = set()
        for z, y, x0, x1 in reader.spans().tolist():
            box = Box((z * rz, y * ry, x0 * rx), ((z + 1) * rz, (y + 1) * ry, (x1 + 1) * rx))
            blocks.update(stored_blocks_in(self.view, box, self.block_shape))
        found = _read_blocks(self.view, sorted(blocks))
        parts = []
        for block in sorted(found):
            batch = found[block]
            inside = roi_contains(reader, batch.pos.astype(np.int64))
            parts.append(batch.take(np.flatnonzero(inside)))
        return concat(parts).sorted()

    def supervoxels_of(self, body: int) -> list[int]:
        """The supervoxels of ``body`` in the synced labelmap (400 if not synced)."""
        name = self.synced_labels
        if name is None:
            raise InvalidRequest(
                f"annotation {self.name!r} is not synced to a labelmap: POST sync first"
            )
        from voxhub.datatypes.imageblk.config import ImageConfig
        from voxhub.datatypes.labelmap.synced import TxnLabels

        info = self.access.catalog.instance(self.info.repo, name)
        view = self.access.catalog.view(self.node_uuid, name)
        return TxnLabels(view, ImageConfig.from_json(info.config)).supervoxels_of(body)

    def label_keys(self, body: int, kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Position keys and kinds of ``body``'s elements, from its supervoxels' indexes."""
        return index_keys(self.view, self.supervoxels_of(body), kind)

    def label(self, body: int) -> Elements:
        """The elements lying on ``body`` (exact at this node), in position order."""
        keys, _ = self.label_keys(body)
        return elements_at(self.view, keys, self.block_shape)

    def labels(self, bodies: Iterable[int]) -> dict[int, Elements]:
        return {b: self.label(b) for b in dict.fromkeys(bodies)}


def index_keys(
    reader: VersionedReader, svs: list[int], kind: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated index entries (position keys, kinds) of ``svs``, sorted by key."""
    values = reader.get_many([index_tkey(sv) for sv in svs])
    pairs = [decode_pairs(v, "u1") for v in values if v is not None]
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.uint8)
    keys = np.concatenate([p[0] for p in pairs])
    kinds = np.concatenate([p[1] for p in pairs])
    if kind is not None:
        keep = kinds == KIND_CODE[kind]
        keys, kinds = keys[keep], kinds[keep]
    order = np.argsort(keys, kind="stable")
    return keys[order], kinds[order]
