"""Recompute derived image data (extents, pyramid levels) at a merge child.

A merge is refused only for conflicting scale-0 blocks; extents and pyramid blocks are
derived, so two branches that edited different blocks both changed them without any real
conflict. After the merge node exists, this brings them back in line with the merged
scale-0 data, in one transaction at the (open) merge child.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from voxhub.blocks import fetch_blocks
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.extents import set_extents
from voxhub.datatypes.imageblk.keys import KEY_BLOCK, decode_block_key
from voxhub.datatypes.imageblk.pyramid import Reducer, downsample, update_pyramid
from voxhub.datatypes.imageblk.read import read_extents
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader, VersionedTxn, VersionedView


def repair_after_merge(
    child: VersionedView,
    config_json: dict[str, Any],
    parents: Sequence[VersionedReader],
    changed: Iterable[bytes],
    reduce: Reducer = downsample,
) -> None:
    """Set the child's extents to the parents' union and rebuild pyramid blocks above
    every scale-0 block in ``changed`` (tkeys that differ between the parents)."""
    config = ImageConfig.from_json(config_json)
    extents: Box | None = None
    for parent in parents:
        box = read_extents(parent)
        if box is not None:
            extents = box if extents is None else extents.union(box)
    coords: list[Vec3] = sorted(
        decode_block_key(t)[1] for t in changed if t[:2] == bytes([KEY_BLOCK, 0])
    )
    codec = config.make_codec()
    layouts = [config.layout(s, codec) for s in range(config.max_scale + 1)]

    def repair(txn: VersionedTxn) -> None:
        if extents is not None:
            set_extents(txn, extents)
        if coords and config.max_scale > 0:
            blocks = fetch_blocks(txn, layouts[0], coords)
            current = {
                c: b if b is not None else layouts[0].background_block()
                for c, b in zip(coords, blocks, strict=True)
            }
            update_pyramid(txn, config, layouts, current, reduce)

    child.transact(repair)
