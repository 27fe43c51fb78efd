"""The keyvalue mutation log, DVID's ``GET mutations`` and ``mutations-range``.

DVID's keyvalue publishes one JSON message per completed write (``postkv``, ``delkv``)
to its mutation log, and ``GET mutations`` answers a version's messages. voxhub stores
each record in the write's own transaction, under the node it was made at:
``0x03 | node (16) | time ns (8) | nonce (4)`` (:mod:`.keys`), so a node's records are
one key range in time order and a write that does not land leaves no record. A record::

    {"Action": "postkv", "Key": "k", "Bytes": 12, "UUID": "<node>",
     "Timestamp": "2026-11-29 08:30:00.123 +0000 UTC", "User": "ann", "App": "neutu"}

(``delkv`` has no ``Bytes``; ``User``/``App`` only when the request named them). Records
are the node's own history: they never conflict at a merge (each key is written once)
and a diff leaves them out (:func:`is_record`).
"""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voxhub.datatypes.labelmap.history import sequence
from voxhub.datatypes.labelmap.keys import node_bytes
from voxhub.datatypes.labelmap.mutlog import go_time
from voxhub.versioning.catalog import Catalog
from voxhub.versioning.dag import NodeInfo
from voxhub.versioning.protocols import VersionedReader, VersionedTxn
from voxhub.versioning.records import InstanceInfo

KEY_RECORD = 0x03
_RECORD = struct.Struct(">B16sQI")


@dataclass(frozen=True)
class Author:
    """Who a write is recorded under (DVID's ``u=`` and ``app=``)."""

    user: str = ""
    app: str = ""


def is_record(tkey: bytes) -> bool:
    return len(tkey) == _RECORD.size and tkey[0] == KEY_RECORD


def describe_record(tkey: bytes) -> str:
    _, node, ns, _ = _RECORD.unpack(tkey)
    return f"mutation record of {node.hex()} at {go_time(ns)}"


def _node_range(node_uuid: str) -> tuple[bytes, bytes]:
    start = bytes([KEY_RECORD]) + node_bytes(node_uuid)
    return start, (int.from_bytes(start, "big") + 1).to_bytes(len(start), "big")


def log_write(
    txn: VersionedTxn, node_uuid: str, key: str, size: int | None, author: Author
) -> None:
    """Record, in ``txn``, that ``key`` was set to ``size`` bytes (``None``: deleted)."""
    ns = time.time_ns()
    entry: dict[str, Any] = {"Action": "delkv" if size is None else "postkv", "Key": key}
    if size is not None:
        entry["Bytes"] = size
    entry.update({"UUID": node_uuid, "Timestamp": go_time(ns)})
    if author.user:
        entry["User"] = author.user
    if author.app:
        entry["App"] = author.app
    nonce = int.from_bytes(os.urandom(4), "big")  # two writes in one nanosecond
    tkey = _RECORD.pack(KEY_RECORD, node_bytes(node_uuid), ns, nonce)
    txn.put(tkey, json.dumps(entry).encode())


def node_records(
    reader: VersionedReader, node_uuid: str, userid: str | None = None
) -> list[dict[str, Any]]:
    """The records made at ``node_uuid`` (not its ancestors'), oldest first; only
    ``userid``'s when given."""
    found = [json.loads(v) for _, v in reader.scan(*_node_range(node_uuid)) if v]
    return [r for r in found if userid is None or r.get("User") == userid]


def range_records(
    beg: NodeInfo,
    end: NodeInfo,
    lookup: Callable[[str], NodeInfo],
    reader_at: Callable[[str], VersionedReader],
) -> list[dict[str, Any]]:
    """The records of versions ``end`` back to ``beg`` along first parents (``end``'s
    first, oldest first within a version), as labelmap's ``mutations-range``; 400 if
    ``beg`` is not ``end`` or a first-parent ancestor of it."""
    nodes = sequence(beg, end, lookup)
    return [r for node in nodes for r in node_records(reader_at(node.uuid), node.uuid)]


def diff_items(
    catalog: Catalog, a: str, b: str, info: InstanceInfo, tkeys: list[bytes]
) -> list[str]:
    """The keys whose values differ between two nodes, each once (a big value's chunks
    are described by their key); mutation records are history, not data, left out."""
    from voxhub.datatypes.keyvalue.keys import describe_tkey

    return list(dict.fromkeys(describe_tkey(t) for t in tkeys if not is_record(t)))
