"""Proofreading mutations: merge and cleave, each one transaction that changes the mapping,
the label indexes and the mutation log (:mod:`.mutlog`) together (or nothing, with the
reason)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import index_key
from voxhub.datatypes.labelmap.mapping import set_body
from voxhub.datatypes.labelmap.maxlabel import raise_maxlabel
from voxhub.datatypes.labelmap.mutlog import Mutation, record, stamp
from voxhub.datatypes.labelmap.mutlog import Who as Who  # re-exported: the public name
from voxhub.datatypes.labelmap.write import store_index
from voxhub.errors import InvalidRequest, NotFound
from voxhub.versioning.protocols import VersionedReader, VersionedTxn

#: DVID starts mutation ids here, so the first mutation of a repo is 1000000001.
INITIAL_MUTATION_ID = 1_000_000_000


def check_label(label: int, what: str = "label") -> int:
    """``label`` as a Python int (numpy integers accepted); 0 and non-ids refused."""
    if isinstance(label, bool) or not isinstance(label, int | np.integer):
        raise InvalidRequest(f"{what} must be an unsigned 64-bit integer, got {label!r}")
    label = int(label)
    if not 0 <= label < 2**64:
        raise InvalidRequest(f"{what} must be an unsigned 64-bit integer, got {label!r}")
    if label == 0:
        raise InvalidRequest(f"{what} 0 is the protected background value")
    return label


def read_index(reader: VersionedReader, body: int, what: str = "label") -> LabelIndex:
    """The index of ``body``; NotFound if the body has no voxels here."""
    value = reader.get(index_key(check_label(body, what)))
    if value is None:
        raise NotFound(f"{what} {body} does not exist (no voxels) at this version")
    return LabelIndex.decode(body, value)


def merge_check(
    reader: VersionedReader, target: int, sources: Sequence[int]
) -> tuple[LabelIndex, list[LabelIndex]]:
    """The indexes a merge of ``sources`` into ``target`` would change, or why it cannot."""
    if not sources:
        raise InvalidRequest("merge needs at least one label to merge into the target")
    if target in sources:
        raise InvalidRequest(f"cannot merge label {target} into itself")
    into = read_index(reader, target, "target label")
    return into, [read_index(reader, s, "merged label") for s in dict.fromkeys(sources)]


def merge(txn: VersionedTxn, target: int, sources: Sequence[int], mut: Mutation) -> None:
    """Merge the bodies ``sources`` into ``target``: their supervoxels map to ``target``."""
    into, taken = merge_check(txn, target, sources)
    record(txn, mut, "merge", Target=target, Labels=list(dict.fromkeys(sources)))
    for index in taken:
        for sv in index.supervoxel_sizes():
            set_body(txn, sv, target)
        into.absorb(index.blocks)
        index.blocks.clear()
        store_index(txn, index)
    stamp(into, mut)
    store_index(txn, into)


def cleave_check(
    reader: VersionedReader, body: int, supervoxels: Sequence[int]
) -> tuple[LabelIndex, set[int]]:
    """The body's index and the supervoxels to cleave, or why the cleave cannot happen."""
    index = read_index(reader, body)
    owned = index.supervoxel_sizes()
    wanted = {check_label(s, "supervoxel") for s in supervoxels}
    if not wanted:
        raise InvalidRequest("cleave needs a non-empty list of supervoxels")
    stray = sorted(wanted - owned.keys())
    if stray:
        raise InvalidRequest(f"supervoxels {stray} are not part of label {body}")
    if wanted >= owned.keys():
        raise InvalidRequest(f"cleaving every supervoxel of label {body} would leave it empty")
    return index, wanted


def cleave(
    txn: VersionedTxn, body: int, supervoxels: Sequence[int], new_body: int, mut: Mutation
) -> None:
    """Move ``supervoxels`` of ``body`` to the new body ``new_body``."""
    index, wanted = cleave_check(txn, body, supervoxels)
    moved = LabelIndex(new_body, index.take(wanted))
    record(
        txn,
        mut,
        "cleave",
        OrigLabel=body,
        CleavedLabel=new_body,
        CleavedSupervoxels=sorted(wanted),
        CleavedSize=moved.voxels(None),
        RemainSize=index.voxels(None),
    )
    for sv in wanted:
        set_body(txn, sv, new_body)
    stamp(index, mut)
    stamp(moved, mut)
    store_index(txn, index)
    store_index(txn, moved)
    raise_maxlabel(txn, new_body)
