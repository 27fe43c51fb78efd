"""``voxhub doctor`` for labelmaps: the image checks (with the label pyramid), plus the
label index recounted from the blocks, maxlabel and the label counter above every stored id.

The index of a body must equal, block by block and supervoxel by supervoxel, what the
scale-0 blocks hold of the supervoxels the mapping gives it. By default a sample of
bodies is recounted from the blocks their indexes name (which finds wrong counts, not
voxels in blocks an index forgot); with ``all_bodies`` every visible block is counted
and every index compared, which finds both. A repair recounts everything in one
transaction at the node and rewrites only the indexes that differ (keeping who changed
each body last), maxlabel and the counter.
"""

from __future__ import annotations

from collections import defaultdict

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.health import CheckOptions, Problem, ValueCheck, spread
from voxhub.datatypes.imageblk.config import ImageConfig
from voxhub.datatypes.imageblk.health import (
    block_value_check,
    decode_all,
    decoded,
    layouts_of,
    pyramid_and_extents_problems,
    repair_pyramid_and_extents,
    visible_coords,
)
from voxhub.datatypes.labelmap.counters import top_counted_id
from voxhub.datatypes.labelmap.downsample import downsample_labels
from voxhub.datatypes.labelmap.index import LabelIndex, count_labels
from voxhub.datatypes.labelmap.keys import KEY_INDEX, id_of, index_key, key_range
from voxhub.datatypes.labelmap.mapping import bodies_of
from voxhub.datatypes.labelmap.maxlabel import raise_maxlabel, read_maxlabel
from voxhub.datatypes.labelmap.opening import counters_for
from voxhub.datatypes.labelmap.write import store_index
from voxhub.geometry import Vec3
from voxhub.versioning.protocols import VersionedReader, VersionedTxn
from voxhub.versioning.records import InstanceInfo

#: ``{body: {block: {sv: voxels}}}``
Counts = dict[int, dict[Vec3, dict[int, int]]]


def label_value_check(config_json: dict[str, object]) -> ValueCheck:
    """Blocks and extents as for images, and label indexes that decode."""
    blocks = block_value_check(dict(config_json))

    def check(tkey: bytes, value: bytes) -> str | None:
        if tkey[:1] == bytes([KEY_INDEX]):
            try:
                LabelIndex.decode(id_of(tkey), value)
            except Exception as e:  # any decoding failure: the index is unreadable
                return f"label index of {id_of(tkey)} does not decode: {e}"
            return None
        return blocks(tkey, value)

    return check


def _count(
    reader: VersionedReader, config: ImageConfig, coords: list[Vec3]
) -> tuple[Counts, set[Vec3]]:
    """Voxels per body, block and supervoxel in the scale-0 blocks at ``coords``, and the
    blocks that do not decode (left out)."""
    layout = layouts_of(config)[0]
    per_block: dict[Vec3, dict[int, int]] = {}
    unreadable: set[Vec3] = set()
    for i in range(0, len(coords), 256):
        readable, broken = decode_all(reader, layout, coords[i : i + 256])
        unreadable |= broken
        for c, block in readable.items():
            per_block[c] = count_labels(block)
    owner = bodies_of(reader, {sv for counts in per_block.values() for sv in counts})
    out: Counts = defaultdict(lambda: defaultdict(dict))
    for c, counts in per_block.items():
        for sv, n in counts.items():
            out[owner[sv] or sv][c][sv] = n  # a retired id painted again is its own body
    return out, unreadable


def _plain(blocks: dict[Vec3, dict[int, int]]) -> dict[Vec3, dict[int, int]]:
    return {c: dict(svs) for c, svs in blocks.items() if svs}


def _stored_indexes(reader: VersionedReader, bodies: list[int] | None) -> dict[int, LabelIndex]:
    if bodies is None:
        start, end = key_range(KEY_INDEX)
        pairs = [(id_of(k), v) for k, v in reader.scan(start, end) if v]
    else:
        values = reader.get_many([index_key(b) for b in bodies])
        pairs = [(b, v) for b, v in zip(bodies, values, strict=True) if v]
    out = {}
    for body, value in pairs:
        try:
            out[body] = LabelIndex.decode(body, value)
        except Exception:
            continue
    return out


def index_differences(
    reader: VersionedReader, config: ImageConfig, options: CheckOptions
) -> tuple[dict[int, LabelIndex | None], dict[int, LabelIndex]]:
    """``(bodies whose index is wrong → the right one or None if it should not exist,
    the stored indexes read)``."""
    if options.all_bodies:
        counts, unreadable = _count(reader, config, visible_coords(reader, 0))
        stored = _stored_indexes(reader, None)
        bodies = sorted(set(counts) | set(stored))
    else:
        start, end = key_range(KEY_INDEX)
        listed = [id_of(k) for k, _ in reader.scan(start, end, keys_only=True)]
        bodies = spread(listed, options.sample)
        stored = _stored_indexes(reader, bodies)
        named = sorted({c for b in bodies if b in stored for c in stored[b].blocks})
        counts, unreadable = _count(reader, config, named)
    wrong: dict[int, LabelIndex | None] = {}
    for body in bodies:
        have = stored.get(body)
        want = _plain(counts.get(body, {}))
        if have is not None:  # what it says of unreadable blocks cannot be recounted: kept
            want.update({c: dict(n) for c, n in have.blocks.items() if c in unreadable})
        if (have.blocks if have is not None else {}) != want:
            meta = dict(have.meta) if have is not None else {}
            wrong[body] = LabelIndex(body, want, meta) if want else None
    return wrong, stored


def _max_stored(reader: VersionedReader, config: ImageConfig) -> tuple[int, int]:
    """The largest stored id, and the largest the label counter must stay above."""
    layout = layouts_of(config)[0]
    coords = visible_coords(reader, 0)
    top = counted = 0
    for i in range(0, len(coords), 256):
        for block in decoded(reader, layout, coords[i : i + 256]).values():
            top = max(top, int(block.max(initial=0)))
            counted = max(counted, top_counted_id(block))
    return top, counted


def check_labels(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, options: CheckOptions
) -> list[Problem]:
    """The registry's ``check_instance`` hook of labelmaps."""
    view = access.catalog.view(node_uuid, info.name)
    config = ImageConfig.from_json(info.config)
    problems = pyramid_and_extents_problems(view, config, downsample_labels)
    wrong, _ = index_differences(view, config, options)
    if wrong:
        bodies = sorted(wrong)
        shown = ", ".join(map(str, bodies[:5])) + (" ..." if len(bodies) > 5 else "")
        how = "every body" if options.all_bodies else f"a sample of {options.sample} bodies"
        problems.append(
            Problem(
                "index",
                f"the label index of {len(bodies)} bodies disagrees with a recount of the "
                f"blocks ({how}): {shown}",
                True,
            )
        )
    top, counted = _max_stored(view, config)
    maxlabel = read_maxlabel(view)
    if maxlabel < top:
        problems.append(Problem("maxlabel", f"maxlabel {maxlabel} is below stored id {top}", True))
    next_label = counters_for(access.store, info).next_label()
    if counted and next_label <= counted:
        problems.append(
            Problem(
                "counter",
                f"the label counter would hand out {next_label}, an id already stored "
                f"(largest stored {counted})",
                True,
            )
        )
    return problems


def _repair(txn: VersionedTxn, access: StoreAccess, info: InstanceInfo) -> list[str]:
    config = ImageConfig.from_json(info.config)
    done = repair_pyramid_and_extents(txn, config, downsample_labels)
    wrong, _ = index_differences(txn, config, CheckOptions(all_bodies=True))
    for body, index in wrong.items():
        store_index(txn, index if index is not None else LabelIndex(body))
    if wrong:
        done.append(f"rewrote the label index of {len(wrong)} bodies")
    top, counted = _max_stored(txn, config)
    if read_maxlabel(txn) < top:
        raise_maxlabel(txn, top)
        done.append(f"maxlabel raised to {top}")
    counters = counters_for(access.store, info)
    if counted and not counters.covers(counted):
        counters.see(txn, counted)
        done.append(f"label counter raised above {counted}")
    return done


def repair_labels(access: StoreAccess, node_uuid: str, info: InstanceInfo) -> list[str]:
    """The registry's ``repair_instance`` hook of labelmaps: one transaction at the node."""
    view = access.catalog.view(node_uuid, info.name)
    return view.transact(lambda txn: _repair(txn, access, info))
