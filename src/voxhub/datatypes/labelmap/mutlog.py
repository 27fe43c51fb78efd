"""The mutation log in DVID's shape: one JSON record per completed mutation, written in
the transaction of the mutation itself, under the node it was made at.

DVID appends to its JSON mutation log (what ``GET mutations`` streams back) only the
``*-complete`` message of each mutation (``datatype/labelmap/mutate.go``); clients such
as neuclease select on those action names. So a record here is that message:

* ``merge-complete``: ``Target``, ``Labels``;
* ``cleave-complete``: ``OrigLabel``, ``CleavedLabel``, ``CleavedSupervoxels``,
  ``CleavedSize``, ``RemainSize``;
* ``renumber-complete``: ``NewLabel``, ``OrigLabel`` (one record per pair);
* ``split-complete``: ``Target``, ``NewLabel``, ``Split``, ``SVSplits``
  (``{"sv": {"Split": id, "Remain": id}}``);
* ``split-supervoxel-complete``: ``Supervoxel``, ``Body``, ``SplitSupervoxel``,
  ``RemainSupervoxel``, ``Split``, ``SplitSize``, ``RemainSize``;

each with ``Action``, ``UUID``, ``MutationID``, ``Timestamp`` and, when given, ``User``
and ``App``. ``Split`` is DVID's blobstore reference of the split's RLEs; voxhub keeps no
blobstore and writes ``""``, as DVID does when its blobstore is not configured.

Records stored before this shape (``0x23 | mutation id``, :mod:`.keys`) carry no node:
:func:`legacy_records` finds a node's own ones through its write set and converts them.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from voxhub.datatypes.labelmap.index import LabelIndex
from voxhub.datatypes.labelmap.keys import (
    KEY_MUTATION,
    KEY_RECORD,
    KEY_SV_SPLIT,
    key_range,
    node_range,
    record_key,
    sv_split_key,
    sv_split_of,
)
from voxhub.versioning.protocols import VersionedReader, VersionedTxn, VersionedView

_PAIR = struct.Struct(">QQ")


@dataclass(frozen=True)
class Who:
    """The user and app a mutation is recorded under."""

    user: str = ""
    app: str = ""


@dataclass(frozen=True)
class Mutation:
    """One mutation being made: its node, id, author and start time (ns since the epoch)."""

    node: str
    id: int
    who: Who
    ns: int = field(default_factory=time.time_ns)


def go_time(ns: int) -> str:
    """The UTC instant ``ns`` as Go's ``time.Time.String()`` writes it, DVID's
    ``Timestamp``: ``2006-01-02 15:04:05.999999999 +0000 UTC`` (trailing zeros of the
    fraction dropped, no fraction if it is 0). Go adds ``m=+<seconds>`` for a reading of
    its process's monotonic clock; that means nothing outside the process and is left out.
    """
    seconds, fraction = divmod(ns, 10**9)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    digits = f"{fraction:09d}".rstrip("0")
    return f"{text}.{digits} +0000 UTC" if digits else f"{text} +0000 UTC"


def rfc3339(ns: int) -> str:
    """The instant ``ns`` as ``lastmod`` and the label index give it (RFC 3339, UTC)."""
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="milliseconds")


def record(txn: VersionedTxn, mut: Mutation, action: str, **fields: Any) -> dict[str, Any]:
    """Store the ``{action}-complete`` record of ``mut`` in ``txn``; return it."""
    entry = shaped(mut, action, fields)
    txn.put(record_key(mut.node, mut.id), json.dumps(entry).encode())
    return entry


def shaped(mut: Mutation, action: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The DVID record of ``mut`` (``User`` and ``App`` only when given, as DVID)."""
    entry: dict[str, Any] = {
        "Action": f"{action}-complete",
        "UUID": mut.node,
        "MutationID": mut.id,
        **fields,
        "Timestamp": go_time(mut.ns),
    }
    if mut.who.user:
        entry["User"] = mut.who.user
    if mut.who.app:
        entry["App"] = mut.who.app
    return entry


def record_sv_split(txn: VersionedTxn, mut: Mutation, sv: int, split: int, remain: int) -> None:
    """Note that ``mut`` split supervoxel ``sv`` into ``split`` and ``remain``."""
    txn.put(sv_split_key(mut.node, mut.id, sv), _PAIR.pack(remain, split))


def stamp(index: LabelIndex, mut: Mutation) -> None:
    """Record in ``index`` the mutation that changed it last (DVID's ``lastmod``)."""
    index.meta = {
        "mutation id": mut.id,
        "last mod user": mut.who.user,
        "last mod app": mut.who.app,
        "last mod time": rfc3339(mut.ns),
    }


# -- reads -----------------------------------------------------------------------------
def node_records(reader: VersionedReader, node: str) -> list[dict[str, Any]]:
    """The records made at ``node`` visible to ``reader``, by mutation id (one range)."""
    return [json.loads(v) for _, v in reader.scan(*node_range(KEY_RECORD, node)) if v]


def node_sv_splits(reader: VersionedReader, node: str) -> list[list[int]]:
    """``[mutation id, supervoxel, remain, split]`` of every supervoxel split at ``node``
    (DVID's ``supervoxel-splits`` rows), by mutation id then supervoxel."""
    rows = []
    for tkey, value in reader.scan(*node_range(KEY_SV_SPLIT, node)):
        assert value is not None
        _, mid, sv = sv_split_of(tkey)
        remain, split = _PAIR.unpack(value)
        rows.append([mid, sv, remain, split])
    return rows


def legacy_records(view: VersionedView) -> Iterator[dict[str, Any]]:
    """The records in voxhub's earlier shape stored at the view's own node, converted."""
    keys = view.written_here(*key_range(KEY_MUTATION))
    for value in view.get_many(keys):
        if value:
            yield from convert_legacy(json.loads(value), view.node_uuid)


def legacy_sv_splits(view: VersionedView) -> list[list[int]]:
    """``supervoxel-splits`` rows of the node's records in the earlier shape (only
    ``split-supervoxel`` ones: earlier ``split`` records did not list cut supervoxels)."""
    return [
        [r["MutationID"], r["Supervoxel"], r["RemainSupervoxel"], r["SplitSupervoxel"]]
        for r in legacy_records(view)
        if r["Action"] == "split-supervoxel-complete"
    ]


_LEGACY_RENAMES = {"SplitVoxels": "SplitSize"}
_LEGACY_DROPPED = ("User", "App", "Timestamp", "Pairs", "Action")


def convert_legacy(old: dict[str, Any], node: str) -> Iterator[dict[str, Any]]:
    """DVID-shaped record(s) of a record in voxhub's earlier shape, made at ``node``.

    Earlier records had ``User``/``App`` always (empty when not given), an ISO 8601 UTC
    ``Timestamp``, ``SplitVoxels`` for the split's size and one ``renumber`` record with
    ``Pairs`` ``[[new, old], ...]`` (now one record per pair; the converted ones share
    the single mutation id the earlier renumber took). Sizes and split references that
    earlier records did not hold (``CleavedSize``, ``RemainSize``, ``Split``,
    ``SVSplits``) stay absent.
    """
    instant = datetime.fromisoformat(old["Timestamp"])
    ns = int(instant.replace(microsecond=0).timestamp()) * 10**9 + instant.microsecond * 1000
    mut = Mutation(node, int(old["MutationID"]), Who(old.get("User", ""), old.get("App", "")), ns)
    fields = {
        _LEGACY_RENAMES.get(k, k): v
        for k, v in old.items()
        if k not in _LEGACY_DROPPED and k != "MutationID"
    }
    if old["Action"] == "split":
        fields.pop("SplitSize", None)  # a body split's record carried no per-sv detail
    pairs = old.get("Pairs") if old["Action"] == "renumber" else None
    each = [{"NewLabel": new, "OrigLabel": orig} for new, orig in pairs] if pairs else [{}]
    for extra in each:
        yield shaped(mut, old["Action"], {**fields, **extra})
