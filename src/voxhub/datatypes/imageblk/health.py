"""``voxhub doctor`` for image instances: stored blocks decode, every pyramid level is the
downsampling of the level below, the extents cover every stored scale-0 block.

The expected pyramid is recomputed level by level from the blocks visible at the node
(``_assemble`` of each parent from its children, as a full rebuild would), so a check
reads every visible block once per level it feeds. A repair writes, in one transaction
at the node, only the pyramid blocks and extents that differ.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from voxhub.blocks import BlockLayout, store_blocks
from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.health import CheckOptions, Problem, ValueCheck
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.extents import read_extents, set_extents
from voxhub.datatypes.imageblk.keys import (
    EXTENTS_KEY,
    KEY_BLOCK,
    decode_block_key,
    decode_extents,
    describe_tkey,
    scale_range,
)
from voxhub.datatypes.imageblk.pyramid import (
    Reducer,
    _assemble,
    children_of,
    downsample,
    parent_of,
)
from voxhub.geometry import Box, Vec3
from voxhub.versioning.protocols import VersionedReader, VersionedTxn
from voxhub.versioning.records import InstanceInfo


def layouts_of(config: ImageConfig) -> list[BlockLayout]:
    codec = config.make_codec()
    return [config.layout(s, codec) for s in range(config.max_scale + 1)]


def block_value_check(config_json: dict[str, Any]) -> ValueCheck:
    """Why a stored block or extents record of this instance is unreadable."""
    config = ImageConfig.from_json(config_json)
    layouts = layouts_of(config)

    def check(tkey: bytes, value: bytes) -> str | None:
        if tkey[:1] == EXTENTS_KEY:
            try:
                decode_extents(value)
            except struct.error:
                return f"extents record {tkey.hex()} is unreadable ({len(value)} bytes)"
            return None
        if tkey[:1] != bytes([KEY_BLOCK]):
            return None
        scale, _ = decode_block_key(tkey)
        if scale >= len(layouts):
            return f"block {describe_tkey(tkey)} lies above max_scale {config.max_scale}"
        layout = layouts[scale]
        try:
            layout.codec.decode(value, layout.block_shape, layout.dtype)
        except Exception as e:  # any codec failure: the block is unreadable
            return f"block {describe_tkey(tkey)} does not decode: {e}"
        return None

    return check


def visible_coords(reader: VersionedReader, scale: int) -> list[Vec3]:
    """Coordinates of the blocks of ``scale`` visible to ``reader``."""
    return [decode_block_key(t)[1] for t, _ in reader.scan(*scale_range(scale), keys_only=True)]


def decode_all(
    reader: VersionedReader, layout: BlockLayout, coords: Sequence[Vec3]
) -> tuple[dict[Vec3, np.ndarray], set[Vec3]]:
    """The blocks at ``coords`` that are stored and decode, and those stored that do not
    (reported by the value check; derived data built from them is left alone, so that a
    repair never replaces the only other copy of their voxels by background)."""
    out: dict[Vec3, np.ndarray] = {}
    broken: set[Vec3] = set()
    for c, value in zip(coords, reader.get_many([layout.tkey(c) for c in coords]), strict=True):
        if value is None:
            continue
        try:
            out[c] = layout.codec.decode(value, layout.block_shape, layout.dtype)
        except Exception:  # any codec failure: unreadable
            broken.add(c)
    return out, broken


def decoded(
    reader: VersionedReader, layout: BlockLayout, coords: Sequence[Vec3]
) -> dict[Vec3, np.ndarray]:
    """:func:`decode_all`'s readable blocks."""
    return decode_all(reader, layout, coords)[0]


def level_differences(
    reader: VersionedReader,
    config: ImageConfig,
    layouts: Sequence[BlockLayout],
    scale: int,
    reduce: Reducer,
) -> dict[Vec3, np.ndarray]:
    """Blocks of ``scale`` (≥ 1) that are not what the level below makes them: each mapped
    to the block it should be (all background: it should be absent)."""
    factor = config.downsample_factor
    layout = layouts[scale]
    parents = sorted(
        {parent_of(c, factor) for c in visible_coords(reader, scale - 1)}
        | set(visible_coords(reader, scale))
    )
    wrong: dict[Vec3, np.ndarray] = {}
    for i in range(0, len(parents), 64):
        batch = parents[i : i + 64]
        kids = [c for p in batch for c in children_of(p, factor)]
        below, unreadable = decode_all(reader, layouts[scale - 1], kids)
        stored, broken = decode_all(reader, layout, batch)
        for p in batch:
            kids_of_p = children_of(p, factor)
            if unreadable.intersection(kids_of_p):
                continue  # built from a block that does not decode: leave it as it is
            present = {c: below[c] for c in kids_of_p if c in below}
            want = _assemble(layout, factor, p, None, present, reduce)
            have = stored.get(p)
            if p in broken:  # derived, so an unreadable one is rebuilt
                wrong[p] = want
            elif have is None:
                if not layout.is_background(want):
                    wrong[p] = want
            elif not np.array_equal(have, want, equal_nan=have.dtype.kind == "f"):
                wrong[p] = want
    return wrong


def extents_wanted(reader: VersionedReader, layout: BlockLayout) -> tuple[Box | None, str]:
    """Extents that cover every stored scale-0 block, and why the stored ones do not
    (``""``: they do). Extents reaching past the stored blocks are fine (DVID lets
    clients declare them)."""
    coords = visible_coords(reader, 0)
    extents = read_extents(reader)
    if not coords:
        return extents, ""
    boxes = [layout.grid.block_box(c) for c in coords]
    if extents is None:
        whole = boxes[0]
        for b in boxes[1:]:
            whole = whole.union(b)
        return whole, f"no extents, though {len(coords)} scale-0 blocks are stored"
    outside = [b for b in boxes if b.intersect(extents).empty]
    if not outside:
        return extents, ""
    grown = extents
    for b in outside:
        grown = grown.union(b)
    return grown, (
        f"{len(outside)} stored scale-0 blocks lie outside the extents {extents} "
        f"(e.g. the block at {outside[0].start})"
    )


def pyramid_and_extents_problems(
    reader: VersionedReader, config: ImageConfig, reduce: Reducer
) -> list[Problem]:
    layouts = layouts_of(config)
    problems = []
    for scale in range(1, config.max_scale + 1):
        wrong = level_differences(reader, config, layouts, scale, reduce)
        if wrong:
            first = describe_tkey(layouts[scale].tkey(min(wrong)))
            problems.append(
                Problem(
                    "pyramid",
                    f"{len(wrong)} blocks of scale {scale} are not the downsampling of "
                    f"scale {scale - 1} (e.g. block {first})",
                    True,
                )
            )
    _, why = extents_wanted(reader, layouts[0])
    if why:
        problems.append(Problem("extents", why, True))
    return problems


def repair_pyramid_and_extents(
    txn: VersionedTxn, config: ImageConfig, reduce: Reducer
) -> list[str]:
    """Rewrite the pyramid blocks and extents that disagree with scale 0, level by level
    (each level read through ``txn``, so it sees the level just repaired)."""
    layouts = layouts_of(config)
    done = []
    for scale in range(1, config.max_scale + 1):
        wrong = level_differences(txn, config, layouts, scale, reduce)
        if wrong:
            store_blocks(txn, layouts[scale], wrong)  # all-background ones are deleted
            done.append(f"rebuilt {len(wrong)} blocks of scale {scale}")
    extents, why = extents_wanted(txn, layouts[0])
    if why and extents is not None:
        set_extents(txn, extents)
        done.append(f"extents set to {extents}")
    return done


def check_image(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, options: CheckOptions
) -> list[Problem]:
    """The registry's ``check_instance`` hook of images."""
    view = access.catalog.view(node_uuid, info.name)
    return pyramid_and_extents_problems(view, ImageConfig.from_json(info.config), downsample)


def repair_image(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> list[str]:
    """The registry's ``repair_instance`` hook of images: one transaction at the node."""
    view = access.catalog.view(node_uuid, info.name)
    config = ImageConfig.from_json(info.config)
    return view.transact(lambda txn: repair_pyramid_and_extents(txn, config, downsample))
