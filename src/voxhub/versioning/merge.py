"""Merge conflict detection at request time (DVID only fails later, on a read).

For every versioned instance, a key conflicts when, seen from the would-be merge child,
more than one holder survives the invalidation rule (each changed the key on its own side
since the common ancestry) and their values differ byte-wise (a tombstone differs from
any value). Two sides writing identical bytes, or deleting on both sides, is no conflict.
Detection reads only the write sets of the parents' sides and of earlier merges
(:mod:`voxhub.versioning.writesets`), resolves those keys from keys alone and fetches
values only for keys with several surviving holders.

Keys a datatype declares *derived* (recomputable from other keys) are exempt: two
branches editing different blocks both grow the extents and both touch the pyramid block
above, which is no conflict; the datatype recomputes them at the merge child.

With ``resolve=True`` the catalog skips the conflict report and reads take the first
parent's side (the priority rule of :mod:`voxhub.versioning.dag`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from voxhub.errors import MergeConflict
from voxhub.storage.base import KVStore
from voxhub.versioning import writesets
from voxhub.versioning.dag import Ancestry, Lineage, maximal_holders
from voxhub.versioning.keys import is_tombstone, tkey_range, version_of
from voxhub.versioning.records import InstanceInfo

#: conflicting keys listed per instance in a report (the message gives the full count).
MAX_REPORTED = 100


def conflicting_tkeys(
    store: KVStore,
    instance: InstanceInfo,
    child: Ancestry,
    lineage: Lineage,
    parents: Sequence[Ancestry],
) -> list[bytes]:
    """Sorted tkeys of ``instance`` that conflict at the merge child ``child``."""
    inst = instance.instance_id
    tkeys = sorted(writesets.written(store, inst, writesets.merge_versions(parents)))
    found = store.scan_many([tkey_range(inst, t) for t in tkeys], keys_only=True)
    suspects: list[tuple[bytes, list[bytes]]] = []
    for tkey, entries in zip(tkeys, found, strict=True):
        held: dict[int, bytes] = {}
        for key, _ in entries:  # newest first; a version's data key before its tombstone
            held.setdefault(version_of(key), key)
        top = maximal_holders(held, child, lineage)
        if len(top) > 1:
            suspects.append((tkey, [held[h] for h in top]))
    pairs: list[tuple[bytes, bytes]] = []
    mixed: set[bytes] = set()  # a tombstone and a value among the surviving holders
    for tkey, keys in suspects:
        data = [k for k in keys if not is_tombstone(k)]
        if data and len(data) < len(keys):
            mixed.add(tkey)
        pairs.extend((data[0], other) for other in data[1:])
    same = iter(store.same_values(pairs))
    conflicts = []
    for tkey, keys in suspects:
        data = [k for k in keys if not is_tombstone(k)]
        differ = [not next(same) for _ in data[1:]]
        if tkey in mixed or any(differ):
            conflicts.append(tkey)
    return conflicts


def check_conflicts(
    store: KVStore,
    instances: Sequence[InstanceInfo],
    child: Ancestry,
    lineage: Lineage,
    parents: Sequence[Ancestry],
    names: Sequence[str],
    describe: Callable[[InstanceInfo, bytes], str] | None = None,
    derived: Callable[[InstanceInfo, bytes], bool] | None = None,
) -> None:
    """Raise ``MergeConflict`` with a per-instance report if any key conflicts.

    Keys for which ``derived`` is true (data a datatype recomputes from other keys, such
    as pyramid levels and extents) never count as conflicts: the caller recomputes them
    at the merge child. ``names`` are the parents' UUIDs, for the message.
    """
    report: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for inst in instances:
        if not inst.versioned:
            continue  # every node shares the root's version: nothing to merge
        found = conflicting_tkeys(store, inst, child, lineage, parents)
        if derived is not None:
            found = [t for t in found if not derived(inst, t)]
        if found:
            counts[inst.name] = len(found)
            report[inst.name] = [
                describe(inst, t) if describe is not None else t.hex() for t in found[:MAX_REPORTED]
            ]
    if report:
        summary = ", ".join(f"{name!r}: {n} keys" for name, n in counts.items())
        raise MergeConflict(
            f"merge of {', '.join(names)} refused: the parents changed keys differently "
            f"({summary}; at most {MAX_REPORTED} listed per instance); "
            "merge with resolve to let the first parent's side win",
            report,
        )
