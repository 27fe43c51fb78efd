"""``voxhub doctor`` for keyvalue instances: records decode, big values have their chunks.

A value record is inline bytes or a manifest (:mod:`.values`); a chunk is any non-empty
bytes. At a node, every visible manifest must find each of its chunks (indices 0 to
n-1 of its upload, listed from keys alone): a missing chunk is lost data, not derived,
so there is nothing to repair.
"""

from __future__ import annotations

from typing import Any

from voxhub.datatypes.access import StoreAccess
from voxhub.datatypes.health import CheckOptions, Problem, ValueCheck
from voxhub.datatypes.keyvalue import keys as K
from voxhub.datatypes.keyvalue.opening import open_keyvalue_instance
from voxhub.datatypes.keyvalue.values import decode_stored
from voxhub.errors import CodecError
from voxhub.storage.base import prefix_end
from voxhub.versioning.records import InstanceInfo


def keyvalue_value_check(config: dict[str, Any]) -> ValueCheck:
    """Why a stored keyvalue record cannot be read (``None``: it can)."""

    def check(tkey: bytes, value: bytes) -> str | None:
        if not K.is_value_tkey(tkey):
            return None  # a chunk: any bytes
        try:
            decode_stored(value, K.key_of(tkey))
        except CodecError as e:
            return str(e)
        return None

    return check


def check_keyvalue(
    access: StoreAccess, node_uuid: str, info: InstanceInfo, options: CheckOptions
) -> list[Problem]:
    """A problem for each big value at the node that misses one of its chunks."""
    instance = open_keyvalue_instance(access.catalog, node_uuid, info)
    problems = []
    for key in instance.list_keys():
        try:
            stored = instance.stat(key)
        except CodecError:
            continue  # a corrupt record: the value check reports it
        if stored is None or stored.manifest is None:
            continue
        m = stored.manifest
        prefix = K.chunk_prefix(key, m.upload)
        end = prefix_end(prefix)
        assert end is not None  # a chunk prefix starts with 0x02
        found = [t for t, _ in instance.view.scan(prefix, end, keys_only=True)]
        held = {int.from_bytes(t[-4:], "big") for t in found}
        missing = sorted(set(range(m.chunks)) - held)
        if missing:
            problems.append(
                Problem(
                    "chunks",
                    f"key {key!r}: {len(missing)} of its {m.chunks} chunks are missing "
                    f"(first: chunk {missing[0]})",
                    derived=False,
                )
            )
    return problems
